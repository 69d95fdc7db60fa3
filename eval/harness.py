"""``rag eval``: run a question set through the assistant and score it (see eval/README.md).

    rag eval                               # default settings, full answers
    rag eval --retrieval-only              # seconds: recall@k, MRR, nDCG@10 only
    rag eval --set top_k=3 --set hybrid=false
    rag eval --compare top_k=3 top_k=5     # two settings, same questions, difference per metric
    rag eval --report eval/results/baseline  # also a Markdown + HTML report with plots

Each setting runs in its own process, so its peak memory and latency are its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import DEFAULT_QUESTIONS, EvalQuestion, load_questions
from eval.metrics import (
    citation_pairs,
    facts_present,
    missing_facts,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)

RANKED_DEPTH = 10  # sources kept per question for the retrieval metrics


@dataclass
class Outcome:
    """One question's result: the assistant's record (``Answer.to_dict()`` shape)."""

    question: EvalQuestion
    record: dict

    @property
    def ranked(self) -> list[str]:
        """Doc ids in retrieval order (deeper than the answer's sources)."""
        return self.record.get("ranked") or [s["doc_id"] for s in self.record["sources"]]

    @property
    def generated(self) -> bool:
        """An answer was generated (not retrieval-only, not abstained before generating)."""
        return self.record["timings"].get("generate_s", 0) > 0

    @property
    def correct(self) -> bool:
        """Answered, citing at least one paper and only gold ones, with every required fact."""
        rec, q = self.record, self.question
        cited = {c["doc_id"] for c in rec.get("citations", [])}
        if rec.get("abstained", True) or not cited or not cited <= set(q.gold):
            return False
        return facts_present(rec["answer"], q.facts)

    def problems(self, k: int, retrieval_only: bool) -> list[str]:
        """What went wrong, in words (empty when the question passed)."""
        q, rec = self.question, self.record
        out = []
        if q.answerable and not recall_at_k(self.ranked, q.gold, k):
            out.append(f"no gold paper in the top {k} sources")
        if retrieval_only:
            return out
        if not q.answerable:
            if not rec["abstained"]:
                out.append(f"answered an unanswerable question: {rec['answer'][:120]!r}")
            return out
        if rec["abstained"]:
            return [*out, f"abstained: {rec.get('abstain_reason')}"]
        cited = {c["doc_id"]: c["title"] for c in rec["citations"]}
        if not cited:
            out.append("no citation")
        wrong = [title for doc, title in cited.items() if doc not in q.gold]
        if wrong:
            out.append("cited a non-gold paper: " + "; ".join(t[:60] for t in wrong))
        missing = missing_facts(rec["answer"], q.facts)
        if missing:
            out.append(f"missing facts {missing} in {rec['answer'][:120]!r}")
        return out


def ask_all(assistant, questions: list[EvalQuestion], retrieval_only: bool, log=None) -> list:
    """Ask every question (models loaded once); records gain ``ranked``."""
    outcomes = []
    for q in questions:
        started = time.perf_counter()
        ranked_sources = assistant.search(q.question, q.history or None, top_k=RANKED_DEPTH)
        search_s = time.perf_counter() - started
        if retrieval_only:
            record = {
                "question": q.question,
                "abstained": False,
                "answer": "",
                "citations": [],
                "sources": [s.to_dict() for s in ranked_sources[: assistant.settings.top_k]],
                "timings": {"retrieve_s": search_s, "total_s": search_s},
            }
        else:
            record = assistant.ask(q.question, q.history or None).to_dict()
        record["ranked"] = [s.doc_id for s in ranked_sources]
        outcome = Outcome(q, record)
        outcomes.append(outcome)
        if log:
            problems = outcome.problems(assistant.settings.top_k, retrieval_only)
            log(
                f"{q.id:4} {'BAD' if problems else 'ok '} {q.type:10} "
                f"{record['timings'].get('total_s', 0):5.1f}s {record['answer'][:90]!r}"
            )
    return outcomes


def summarise(outcomes: list[Outcome], k: int, retrieval_only: bool) -> dict[str, float]:
    """Every metric, by name (see eval/README.md for the definitions)."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]

    def mean(values) -> float:
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    out: dict[str, float] = {
        "questions": len(outcomes),
        f"recall@{k}": mean(recall_at_k(o.ranked, o.question.gold, k) for o in answerable),
        "mrr": mean(reciprocal_rank(o.ranked, o.question.gold) for o in answerable),
        "ndcg@10": mean(ndcg_at_k(o.ranked, o.question.gold, 10) for o in answerable),
    }
    retrieve = [o.record["timings"]["retrieve_s"] for o in outcomes]
    out["retrieve_p50_s"] = statistics.median(retrieve) if retrieve else 0.0
    out["retrieve_p95_s"] = percentile(retrieve, 95)
    if retrieval_only:
        return out

    answered = [o for o in answerable if not o.record["abstained"]]
    out["answered"] = len(answered) / len(answerable) if answerable else 0.0
    out["correct"] = mean(o.correct for o in answerable)
    out["facts_present"] = mean(
        (not o.record["abstained"]) and facts_present(o.record["answer"], o.question.facts)
        for o in answerable
    )
    out["token_f1"] = mean(
        0.0 if o.record["abstained"] else token_f1(o.record["answer"], o.question.reference)
        for o in answerable
    )
    good = total = backed = sentences = 0
    for o in answered:
        cited = {c["n"]: (c["title"], c["text"]) for c in o.record["citations"]}
        g, t, b, s = citation_pairs(o.record["answer"], cited)
        good, total, backed, sentences = good + g, total + t, backed + b, sentences + s
    out["citation_precision"] = good / total if total else 0.0
    out["citation_recall"] = backed / sentences if sentences else 0.0
    abstained = [o for o in outcomes if o.record["abstained"]]
    right = sum(1 for o in abstained if not o.question.answerable)
    out["abstain_precision"] = right / len(abstained) if abstained else 0.0
    out["abstain_recall"] = right / len(unanswerable) if unanswerable else 0.0
    generated = [o for o in outcomes if o.generated]
    for name, key in (("first_token", "first_token_s"), ("total", "total_s")):
        values = [o.record["timings"][key] for o in generated]
        out[f"{name}_p50_s"] = statistics.median(values) if values else 0.0
        out[f"{name}_p95_s"] = percentile(values, 95)
    return out


def parse_overrides(specs: list[str]) -> dict[str, str]:
    """``["top_k=3", "hybrid=false,rrf_k=30"]`` -> settings overrides (``default``: none)."""
    from rag.errors import RagError
    from rag.settings import Settings

    overrides: dict[str, str] = {}
    for spec in specs:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            if part == "default":
                continue
            key, sep, value = (x.strip() for x in part.partition("="))
            if not sep:
                raise RagError(f"setting {part!r} must look like name=value (e.g. top_k=3)")
            if key not in Settings.model_fields:
                raise RagError(f"unknown setting {key!r}; the names are in rag/settings.py")
            overrides[key] = value
    return overrides


def load_run_questions(args: argparse.Namespace) -> list[EvalQuestion]:
    """The question set (``--only`` applied), gold papers resolved in the index it runs on."""
    from eval.dataset import corpus_for
    from rag.settings import Settings

    settings = Settings.load(**parse_overrides(args.set or []))
    questions = load_questions(args.questions, corpus_for(settings))
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q.id in wanted]
    return questions


def run_one(args: argparse.Namespace, questions: list[EvalQuestion] | None = None) -> dict:
    """Evaluate one setting in this process; returns the run's JSON (summary + records)."""
    from rag.pipeline import Assistant
    from rag.settings import Settings

    settings = Settings.load(**parse_overrides(args.set or []))
    questions = load_run_questions(args) if questions is None else questions
    assistant = Assistant(settings)
    started = time.perf_counter()
    if not args.retrieval_only:
        assistant.warm_up()
    load_s = time.perf_counter() - started
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    outcomes = ask_all(assistant, questions, args.retrieval_only, log)
    summary = summarise(outcomes, settings.top_k, args.retrieval_only)
    summary["model_load_s"] = load_s
    # ru_maxrss is KiB on Linux: the whole process, models included.
    summary["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "label": ",".join(args.set) if args.set else "default",
        "settings": settings.model_dump(mode="json"),
        "retrieval_only": args.retrieval_only,
        "top_k": settings.top_k,
        "summary": summary,
        "records": [compact(o.question.id, o.record) for o in outcomes],
    }


def compact(question_id: str, record: dict) -> dict:
    """A record without the abstracts' texts (they are in the index): small enough to commit."""
    slim = {"id": question_id, **record}
    slim["sources"] = [{k: v for k, v in s.items() if k != "text"} for s in record["sources"]]
    slim["citations"] = [{k: v for k, v in c.items() if k != "text"} for c in record["citations"]]
    return slim


def run_in_subprocess(args: argparse.Namespace, spec: str) -> dict:
    """One setting in a fresh process (own memory peak, own model load)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = [
            sys.executable,
            "-m",
            "eval.harness",
            "--set",
            spec,
            "--run-json",
            str(out),
            "--questions",
            str(args.questions),
        ]
        cmd += ["--retrieval-only"] * args.retrieval_only + ["--quiet"] * args.quiet
        cmd += ["--only", args.only] if args.only else []
        print(f"== {spec}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        return json.loads(out.read_text())


def build_parser() -> argparse.ArgumentParser:
    """Options of ``rag eval`` (also ``python -m eval.harness``)."""
    parser = argparse.ArgumentParser(prog="rag eval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions",
        type=Path,
        default=DEFAULT_QUESTIONS,
        help="JSONL question set (format: eval/README.md)",
    )
    parser.add_argument("--retrieval-only", action="store_true", help="no generation")
    parser.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="a setting for this run (repeatable; see rag/settings.py)",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help='two settings, e.g. "top_k=3" "top_k=5" or "hybrid=false" default',
    )
    parser.add_argument("--only", help="comma-separated question ids")
    parser.add_argument("--out", type=Path, help="write the run(s) as JSON here")
    parser.add_argument("--report", type=Path, help="folder for report.md, report.html, plots")
    parser.add_argument("--quiet", action="store_true", help="no per-question lines")
    parser.add_argument("--run-json", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the requested files."""
    from eval.report import format_table, write_report

    args = build_parser().parse_args(argv)
    if args.run_json:  # a child of run_in_subprocess
        args.run_json.write_text(json.dumps(run_one(args)))
        return 0
    # Loaded here once: the report needs them too (the children of --compare load their own).
    questions = load_run_questions(args)
    if args.compare:
        runs = [run_in_subprocess(args, spec) for spec in args.compare]
    else:
        runs = [run_one(args, questions)]
    print(format_table(runs))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(runs, indent=1))
    if args.report:
        path = write_report(args.report, runs, {q.id: q for q in questions})
        print(f"report: {path} (and report.md)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from rag.errors import RagError

    try:
        raise SystemExit(main())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
