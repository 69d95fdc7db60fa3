"""The eval's outputs: a terminal table (with B - A when comparing) and a Markdown + HTML
report with plots (per-type bars, latency histogram) and every failed question listed.
"""

from __future__ import annotations

import base64
import html
from collections import Counter, defaultdict
from pathlib import Path

from eval.dataset import EvalQuestion
from eval.grading import DEFAULT_GRADER
from eval.harness import Outcome

# Metrics where lower is better: the difference column says so.
LOWER_IS_BETTER = ("_s", "memory_mb")


def _shown(value: float | int) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def columns(runs: list[dict]) -> list[tuple[str, dict]]:
    """(heading, summary) per table column: one per run, or one per split of each run."""
    out = []
    for run in runs:
        splits = run.get("splits") or {}
        if splits:
            out += [(f"{run['label']} [{name}]", summary) for name, summary in splits.items()]
        else:
            out.append((run["label"], run["summary"]))
    return out


def _delta_pairs(runs: list[dict]) -> list[tuple[str, dict, dict]]:
    """(heading, A, B) for the difference columns: comparing two runs, split by split;
    one run over two splits: test - dev (the generalisation gap)."""
    if len(runs) == 2:
        a, b = runs
        names = [n for n in (a.get("splits") or {}) if n in (b.get("splits") or {})]
        if names:
            return [(f"B - A [{n}]", a["splits"][n], b["splits"][n]) for n in names]
        return [("B - A", a["summary"], b["summary"])]
    splits = runs[0].get("splits") or {} if len(runs) == 1 else {}
    if set(splits) == {"dev", "test"}:
        return [("test - dev", splits["dev"], splits["test"])]
    return []


def _difference(name: str, a: float | None, b: float | None) -> str:
    if a is None or b is None or name == "questions":
        return ""
    better = (b < a) if name.endswith(LOWER_IS_BETTER) else (b > a)
    same = abs(b - a) < 0.0005
    return f"{b - a:+.3f}" + ("" if same else " better" if better else " worse")


def _rows(runs: list[dict]) -> list[list[str]]:
    cols = columns(runs)
    deltas = _delta_pairs(runs)
    names = list(dict.fromkeys(k for _, summary in cols for k in summary))
    rows = []
    for name in names:
        values = [summary.get(name) for _, summary in cols]
        row = [name, *("-" if v is None else _shown(v) for v in values)]
        row += [_difference(name, a.get(name), b.get(name)) for _, a, b in deltas]
        rows.append(row)
    return rows


def _header(runs: list[dict]) -> list[str]:
    return ["metric", *(h for h, _ in columns(runs)), *(h for h, _, _ in _delta_pairs(runs))]


def format_table(runs: list[dict]) -> str:
    """Plain-text table of every metric for each run."""
    table = [_header(runs), *_rows(runs)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    )


def _markdown_table(runs: list[dict]) -> str:
    header = _header(runs)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(runs)]
    return "\n".join(lines)


def outcomes_of(run: dict, questions: dict[str, EvalQuestion]) -> list[Outcome]:
    """The run's records paired with their questions."""
    grader = run.get("grader", DEFAULT_GRADER)
    return [Outcome(questions[r["id"]], r, grader) for r in run["records"] if r["id"] in questions]


def _axes():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(8, 3.5))


def _save(fig, ax, title: str, ylabel: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_per_type(runs: list[dict], questions: dict[str, EvalQuestion], path: Path) -> None:
    fig, ax = _axes()
    # Retrieval-only runs say nothing about unanswerable questions: leave those out.
    scored = [q for q in questions.values() if q.answerable or not runs[0]["retrieval_only"]]
    types = list(dict.fromkeys(q.type for q in scored))
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        passed: dict[str, list[bool]] = defaultdict(list)
        for o in outcomes_of(run, questions):
            if o.question.answerable or not run["retrieval_only"]:
                passed[o.question.type].append(not o.problems(run["top_k"], run["retrieval_only"]))
        shares = [sum(passed[t]) / len(passed[t]) if passed[t] else 0 for t in types]
        ax.bar([x + i * width for x in range(len(types))], shares, width, label=run["label"])
    ax.set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(types))], types)
    ax.set_ylim(0, 1)
    _save(fig, ax, "Questions passed, by type", "passed", path)


def _plot_latency(runs: list[dict], questions: dict[str, EvalQuestion], path: Path) -> None:
    fig, ax = _axes()
    for run in runs:
        outcomes = outcomes_of(run, questions)
        if run["retrieval_only"]:
            values = [o.record["timings"]["retrieve_s"] * 1000 for o in outcomes]
            ax.set_xlabel("retrieval, ms")
        else:
            values = [o.record["timings"]["total_s"] for o in outcomes if o.generated]
            firsts = [o.record["timings"]["first_token_s"] for o in outcomes if o.generated]
            ax.hist(firsts, bins=20, alpha=0.5, label=f"{run['label']}: first token")
            ax.set_xlabel("seconds")
        ax.hist(
            values,
            bins=20,
            alpha=0.5,
            label=f"{run['label']}: whole answer" if not run["retrieval_only"] else run["label"],
        )
    _save(fig, ax, "Latency", "questions", path)


def _failures(run: dict, questions: dict[str, EvalQuestion]) -> list[tuple[str, ...]]:
    rows = []
    for o in outcomes_of(run, questions):
        problems = o.problems(run["top_k"], run["retrieval_only"])
        if problems:
            q = o.question
            rows.append((q.id, q.split or "-", q.type, q.question, "; ".join(problems)))
    return rows


def failure_groups(run: dict, questions: dict[str, EvalQuestion]) -> list[tuple[str, ...]]:
    """(split, cause, count, kinds, ids) for the failed questions, grouped by the check that
    withheld the answer or by what the grader found missing or wrong."""
    if run["retrieval_only"]:
        return []
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for o in outcomes_of(run, questions):
        if o.failure:
            groups[(o.question.split or "-", o.failure)].append(o.question)
    rows = []
    for (split, cause), qs in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        kinds = ", ".join(f"{k} {n}" for k, n in Counter(q.type for q in qs).most_common())
        rows.append((split, cause, str(len(qs)), kinds, " ".join(q.id for q in qs)))
    return rows


def _md_section(title: str, header: list[str], rows, intro: str = "") -> list[str]:
    """A Markdown heading and table (each row a sequence of cells)."""
    out = [f"## {title}", "", *([intro, ""] if intro else [])]
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _disagreement_md(run: dict) -> list[str]:
    rows = _disagreement_rows(run)
    if not rows:
        return []
    return _md_section(
        f"Citation checks disagree: {run['label']} ({len(rows)} pairs)",
        ["id", "split", "sentence", "cited", "independent says"],
        rows,
        "The independent check (eval/support.py) against the product-style word overlap.",
    )


def _disagreement_rows(run: dict) -> list[list[str]]:
    """(id, split, sentence, cited title, verdict) per pair where the checks disagree."""
    return [
        [
            r["id"],
            r["split"] or "-",
            r["sentence"],
            r["cited"][:60],
            "supported" if r["independent"] else "not supported",
        ]
        for r in run.get("support_disagreements") or []
    ]


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.replace("|", "/").split())


def write_report(folder: Path, runs: list[dict], questions: dict[str, EvalQuestion]) -> Path:
    """Write report.md, report.html and the two plots into ``folder``; return the HTML path."""
    folder.mkdir(parents=True, exist_ok=True)
    _plot_per_type(runs, questions, folder / "per_type.png")
    _plot_latency(runs, questions, folder / "latency.png")
    labels = " vs ".join(run["label"] for run in runs)
    mode = "retrieval only" if runs[0]["retrieval_only"] else "full answers"
    md = [
        f"# Evaluation: {labels} ({mode})",
        "",
        _markdown_table(runs),
        "",
        "![per type](per_type.png)",
        "",
        "![latency](latency.png)",
        "",
    ]
    for run in runs:
        groups = failure_groups(run, questions)
        if groups:
            md += _md_section(f"Failures by cause: {run['label']}",
                              ["split", "cause", "count", "kinds", "ids"], groups)  # fmt: skip
        md += _disagreement_md(run)
        failed = _failures(run, questions)
        header = ["id", "split", "type", "question", "what went wrong"]
        md += _md_section(f"Failed questions: {run['label']} ({len(failed)})", header, failed)
    (folder / "report.md").write_text("\n".join(md))

    def image(name: str) -> str:
        data = base64.b64encode((folder / name).read_bytes()).decode()
        return f"<img alt='{name}' src='data:image/png;base64,{data}'>"

    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in _rows(runs)
    )
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _header(runs))
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>Evaluation: {html.escape(labels)}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        "table{border-collapse:collapse}</style>",
        f"<h1>Evaluation: {html.escape(labels)} ({mode})</h1>",
        f"<table><tr>{head}</tr>{rows}</table>",
        image("per_type.png"),
        image("latency.png"),
    ]
    for run in runs:
        groups = failure_groups(run, questions)
        if groups:
            parts.append(f"<h2>Failures by cause: {html.escape(run['label'])}</h2>")
            parts.append("<table><tr><th>split</th><th>cause</th><th>count</th><th>kinds</th>"
                         "<th>ids</th></tr>")  # fmt: skip
            parts += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in groups
            ]
            parts.append("</table>")
        disagree = run.get("support_disagreements") or []
        if disagree:
            parts.append(f"<h2>Citation checks disagree: {html.escape(run['label'])} "
                         f"({len(disagree)} pairs)</h2>")  # fmt: skip
            parts.append("<table><tr><th>id</th><th>split</th><th>sentence</th><th>cited</th>"
                         "<th>independent says</th></tr>")  # fmt: skip
            parts += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                for cells in _disagreement_rows(run)
            ]
            parts.append("</table>")
        failed = _failures(run, questions)
        parts.append(f"<h2>Failed questions: {html.escape(run['label'])} ({len(failed)})</h2>")
        parts.append(
            "<table><tr><th>id</th><th>split</th><th>type</th><th>question</th>"
            "<th>what went wrong</th></tr>"
        )
        parts += [
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in failed
        ]
        parts.append("</table>")
    path = folder / "report.html"
    path.write_text("\n".join(parts))
    return path
