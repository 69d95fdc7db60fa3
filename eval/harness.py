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
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import (
    ANSWERABLE_KINDS,
    PER_PAPER_KINDS,
    SPLITS,
    EvalQuestion,
    load_questions,
    split_path,
)
from eval.grading import (
    DEFAULT_GRADER,
    GRADERS,
    MARKER,
    Grade,
    model_text,
    paper_shares,
    strip_markers,
)
from eval.metrics import (
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)
from eval.support import SupportCheck, supports_lexical
from rag.errors import RagError

RANKED_DEPTH = 10  # sources kept per question for the retrieval metrics


@dataclass
class Outcome:
    """One question's result: the assistant's record (``Answer.to_dict()`` shape)."""

    question: EvalQuestion
    record: dict
    grader: str = DEFAULT_GRADER

    @property
    def ranked(self) -> list[str]:
        """Doc ids in retrieval order (deeper than the answer's sources)."""
        return self.record.get("ranked") or [s["doc_id"] for s in self.record["sources"]]

    @property
    def generated(self) -> bool:
        """An answer was generated (not retrieval-only, not abstained before generating)."""
        return self.record["timings"].get("generate_s", 0) > 0

    @property
    def grade(self) -> Grade:
        """The grader's verdict (eval/grading.py)."""
        return GRADERS[self.grader](self.question, self.record)

    @property
    def correct(self) -> bool:
        """Right by the grader: for unanswerable questions, declined."""
        return self.grade.correct

    @property
    def failure(self) -> str:
        """Why it failed, as a group name for the report ("" when it passed).

        An abstention is grouped by the check that withheld the answer; an answer by what
        the grader found wrong (a missing fact, a wrong citation ...).
        """
        grade = self.grade
        if grade.correct:
            return ""
        if self.question.answerable and not grade.answered:
            return f"withheld by {abstain_check(self.record)}"
        return grade.problem

    def problems(self, k: int, retrieval_only: bool) -> list[str]:
        """What went wrong, in words (empty when the question passed)."""
        q, rec = self.question, self.record
        out = []
        if q.answerable and q.gold and not recall_at_k(self.ranked, q.gold, k):
            out.append(f"no gold paper in the top {k} sources")
        if retrieval_only:
            return out
        if self.correct:
            return []  # passed: a retrieval miss did not matter (e.g. a declined premise)
        grade = self.grade
        if not q.answerable:
            return [*out, f"answered an unanswerable question: {rec['answer'][:120]!r}"]
        if not grade.answered:
            return [*out, f"abstained: {rec.get('abstain_reason')}"]
        titles = {c["doc_id"]: c["title"] for c in rec["citations"]}
        if grade.wrong_citations:
            wrong = "; ".join(titles[d][:60] for d in grade.wrong_citations)
            out.append(f"cited a non-gold paper: {wrong}")
        if grade.problem and grade.problem not in ("missing fact", "cited a non-gold paper"):
            out.append(grade.problem)
        if grade.missing:
            out.append(f"missing {grade.missing} in {model_text(rec)[:120]!r}")
        return out


def abstain_check(record: dict) -> str:
    """The name of the check that withheld an answer, from the record.

    Records name it in ``abstain_check``; records saved before that field existed only have
    the reason's words, which map to the same names.
    """
    if record.get("abstain_check"):
        return record["abstain_check"]
    reason = (record.get("abstain_reason") or "").lower()
    for words, name in (
        ("close enough", "relevance"),
        ("found no answer", "refusal"),
        ("about as likely", "answer_margin"),
        ("most of its words", "grounding: words"),
        ("withheld", "grounding"),
    ):
        if words in reason:
            return name
    return "other"


def ask_all(
    assistant,
    questions: list[EvalQuestion],
    retrieval_only: bool,
    log=None,
    grader: str = DEFAULT_GRADER,
) -> list:
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
        outcome = Outcome(q, record, grader)
        outcomes.append(outcome)
        if log:
            problems = outcome.problems(assistant.settings.top_k, retrieval_only)
            log(
                f"{q.id:4} {'BAD' if problems else 'ok '} {q.type:10} "
                f"{record['timings'].get('total_s', 0):5.1f}s {record['answer'][:90]!r}"
            )
    return outcomes


def summarise(
    outcomes: list[Outcome], k: int, retrieval_only: bool, support: SupportCheck | None = None
) -> dict[str, float]:
    """Every metric, by name (see eval/README.md for the definitions)."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    with_gold = [o for o in answerable if o.question.gold]

    def mean(values) -> float:
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    out: dict[str, float] = {
        "questions": len(outcomes),
        f"recall@{k}": mean(recall_at_k(o.ranked, o.question.gold, k) for o in with_gold),
        "mrr": mean(reciprocal_rank(o.ranked, o.question.gold) for o in with_gold),
        "ndcg@10": mean(ndcg_at_k(o.ranked, o.question.gold, 10) for o in with_gold),
    }
    retrieve = [o.record["timings"]["retrieve_s"] for o in outcomes]
    out["retrieve_p50_s"] = statistics.median(retrieve) if retrieve else 0.0
    out["retrieve_p95_s"] = percentile(retrieve, 95)
    if retrieval_only:
        return out

    grades = {id(o): o.grade for o in outcomes}
    # A false premise may rightly be declined: it counts in "correct", not in "answered".
    askable = [o for o in answerable if o.question.type != "false_premise"]
    out["answered"] = mean(not o.record["abstained"] for o in askable)
    out["correct"] = mean(grades[id(o)].correct for o in answerable)
    out["abstained"] = mean(o.record["abstained"] for o in unanswerable)
    out["facts_present"] = mean(facts_stated(o.question, grades[id(o)]) for o in answerable)
    per_paper = [o for o in answerable if o.question.type in PER_PAPER_KINDS]
    if per_paper:
        shares = [paper_shares(o.question, o.record) for o in per_paper]
        out["paper_recall"] = mean(recall for recall, _ in shares)
        # The issue's target is the multi-paper questions' own share; comparisons differ.
        for kind in PER_PAPER_KINDS:
            of_kind = [r for (r, _), o in zip(shares, per_paper, strict=True)
                       if o.question.type == kind]  # fmt: skip
            if of_kind:
                out[f"paper_recall[{kind}]"] = mean(of_kind)
        answered_pp = [
            s for s, o in zip(shares, per_paper, strict=True) if not o.record["abstained"]
        ]
        out["paper_precision"] = mean(precision for _, precision in answered_pp)
    out["token_f1"] = mean(
        0.0 if o.record["abstained"] else token_f1(model_text(o.record), o.question.reference)
        for o in answerable
    )
    if support is not None:
        out.update(citation_scores([o for o in outcomes if not o.record["abstained"]], support))
    declined = [o for o in outcomes if o.record["abstained"] and o.question.type != "false_premise"]
    right = sum(1 for o in declined if not o.question.answerable)
    out["abstain_precision"] = right / len(declined) if declined else 0.0
    out["abstain_recall"] = right / len(unanswerable) if unanswerable else 0.0
    for kind in [*ANSWERABLE_KINDS, "offtopic", "nearmiss"]:
        of_kind = [grades[id(o)].correct for o in outcomes if o.question.type == kind]
        if of_kind:
            out[f"passed[{kind}]"] = mean(of_kind)
    generated = [o for o in outcomes if o.generated]
    for name, key in (("first_token", "first_token_s"), ("first_model_token",
                      "first_model_token_s"), ("total", "total_s")):  # fmt: skip
        values = [o.record["timings"].get(key, 0.0) for o in generated]
        out[f"{name}_p50_s"] = statistics.median(values) if values else 0.0
        out[f"{name}_p95_s"] = percentile(values, 95)
    # Line replies (which paper, several, comparison): how often the model's words about a
    # paper failed the checks and the line quoted the abstract instead.
    from rag.types import LINE_SHAPES

    lined = [o for o in generated if o.record.get("shape") in LINE_SHAPES
             and not o.record["abstained"]]  # fmt: skip
    lines = sum(len(o.record["citations"]) for o in lined)
    quoted = sum(sum("line was withheld" in n for n in o.record["notes"]) for o in lined)
    out["lines_quoted"] = quoted / lines if lines else 0.0
    # Each reply shape has its own latency budget (one sentence vs a line per paper).
    for shape in sorted({o.record.get("shape") for o in generated} - {None}):
        totals = [
            o.record["timings"]["total_s"] for o in generated if o.record.get("shape") == shape
        ]
        out[f"total_p95_s[{shape}]"] = percentile(totals, 95)
    return out


def facts_stated(question: EvalQuestion, grade: Grade) -> bool:
    """Answered with every fact (multi-paper kinds: the facts of the papers needed)."""
    if not grade.answered:
        return False
    if question.type in PER_PAPER_KINDS:
        covered = len(question.gold) - len(grade.missing)
        return covered >= question.papers_needed
    return not grade.missing


def citation_pairs(outcome: Outcome) -> list[tuple[str, dict]]:
    """(sentence, cited citation record) for each marker in the model-written answer."""
    from eval.support import split_abstract

    by_n = {c["n"]: c for c in outcome.record.get("citations", [])}
    pairs = []
    for sentence in split_abstract("", model_text(outcome.record)):
        for group in MARKER.findall(sentence):
            for n in map(int, re.findall(r"\d+", group)):
                if n in by_n:
                    pairs.append((sentence, by_n[n]))
    return pairs


def cited_texts(outcome: Outcome) -> list[tuple[str, str, str]]:
    """(sentence, cited title, cited abstract) for each marker of the model-written answer."""
    return [
        (sentence, cite["title"], cite.get("text") or support_text(cite["doc_id"]))
        for sentence, cite in citation_pairs(outcome)
    ]


def citation_scores(answered: list[Outcome], support: SupportCheck) -> dict[str, float]:
    """Citation precision and recall by the independent check, and how often the
    product-style lexical check agrees with it (eval/support.py)."""
    good = total = agree = 0
    backed: dict[tuple[int, str], bool] = {}
    for o in answered:
        for sentence, title, text in cited_texts(o):
            ok = support.supports(sentence, title, text)
            good, total = good + ok, total + 1
            agree += ok == supports_lexical(sentence, title, text)
            key = (id(o), sentence)
            backed[key] = backed.get(key, False) or ok
    sentences = sum(1 for o in answered for s in split_abstract_sentences(model_text(o.record)))
    return {
        "citation_precision": good / total if total else 0.0,
        "citation_recall": sum(backed.values()) / sentences if sentences else 0.0,
        "support_agreement": agree / total if total else 0.0,
    }


def support_disagreements(outcomes: list[Outcome], support: SupportCheck) -> list[dict]:
    """The cited pairs where the independent check and the lexical one disagree."""
    rows = []
    for o in outcomes:
        if o.record.get("abstained", True):
            continue
        for sentence, title, text in cited_texts(o):
            independent = support.supports(sentence, title, text)
            if independent != supports_lexical(sentence, title, text):
                rows.append({"id": o.question.id, "split": o.question.split,
                             "sentence": sentence, "cited": title,
                             "independent": independent})  # fmt: skip
    return rows


def split_abstract_sentences(text: str) -> list[str]:
    """The answer's sentences that say something (markers alone do not count)."""
    from eval.support import split_abstract

    return [s for s in split_abstract("", text) if strip_markers(s).strip(" .,;:")]


_TEXTS: dict[str, str] = {}


def support_text(doc_id: str) -> str:
    """A cited abstract's text when the record was saved without it (``compact``)."""
    if not _TEXTS:
        from rag.loaders import load_default_corpus

        _TEXTS.update({p.doc_id: p.text for p in load_default_corpus()})
    return _TEXTS.get(doc_id, "")


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
            if key not in Settings.field_names():
                raise RagError(f"unknown setting {key!r}; the names are in rag/settings.py")
            overrides[key] = value
    return overrides


def question_files(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """(file, split name) pairs the run reads: ``--questions``, or the project's splits."""
    if args.questions:
        return [(args.questions, "")]
    splits = SPLITS if args.split == "both" else (args.split,)
    return [(split_path(name), name) for name in splits]


def load_run_questions(args: argparse.Namespace) -> list[EvalQuestion]:
    """The question set (``--only`` applied), gold papers resolved in the index it runs on."""
    from eval.dataset import corpus_for
    from rag.settings import Settings

    settings = Settings.load(**parse_overrides(args.set or []))
    papers = corpus_for(settings)
    if not papers:
        raise RagError(
            f"collection {settings.collection!r} in {settings.data_dir} is empty: run "
            "`rag ingest` first, or pass --corpus PATH to index your own abstracts"
        )
    questions = [q for path, split in question_files(args)
                 for q in load_questions(path, papers, split)]  # fmt: skip
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise RagError(f"question id(s) {', '.join(twice[:5])} occur in more than one file")
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q.id in wanted]
    return questions


def make_support_check(embed=None) -> SupportCheck:
    """The independent citation check, with the product's embedding model as its similarity.

    Always its torch backend (the reference), whatever the product embeds with: the grader
    must not change when the product's runtime does.
    """
    if embed is None:
        from rag.embedding import load_embedder
        from rag.settings import Settings

        model = load_embedder(Settings.load().device, 32, "torch")

        def embed(texts: list[str]):
            return model.encode(texts, 16)

    return SupportCheck(embed)


def summaries(outcomes: list[Outcome], k: int, retrieval_only: bool,
              support: SupportCheck | None) -> tuple[dict, dict[str, dict]]:  # fmt: skip
    """The summary of all outcomes, and one per split when there are several."""
    splits = sorted({o.question.split for o in outcomes})
    whole = summarise(outcomes, k, retrieval_only, support)
    if len(splits) < 2:
        return whole, {}
    by_split = {}
    for name in splits:
        chosen = [o for o in outcomes if o.question.split == name]
        by_split[name] = summarise(chosen, k, retrieval_only, support)
    return whole, by_split


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
    outcomes = ask_all(assistant, questions, args.retrieval_only, log, args.grader)
    support = None if args.retrieval_only else SupportCheck(assistant.retriever.embed_short)
    summary, by_split = summaries(outcomes, settings.top_k, args.retrieval_only, support)
    disagreements = [] if support is None else support_disagreements(outcomes, support)
    # ru_maxrss is KiB on Linux: the whole process, models included.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for part in (summary, *by_split.values()):  # one process serves every split
        part.update(model_load_s=load_s, peak_memory_mb=peak_mb)
    return {
        "label": ",".join(args.set) if args.set else "default",
        "settings": settings.model_dump(mode="json"),
        "retrieval_only": args.retrieval_only,
        "top_k": settings.top_k,
        "grader": args.grader,
        "summary": summary,
        "splits": by_split,
        "support_disagreements": disagreements,
        "records": [compact(o.question, o.record) for o in outcomes],
    }


def grader_specs(spec: str) -> list[tuple[str, Path | None]]:
    """``"v1=old.jsonl,v2"`` -> [("v1", Path("old.jsonl")), ("v2", None)]: each grader with
    the question file it grades against (None: the run's own question files)."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, path = part.partition("=")
        if name not in GRADERS:
            raise RagError(f"--grader {part}: use one of {', '.join(GRADERS)} (optionally =FILE)")
        out.append((name, Path(path) if path else None))
    return out


def rescore(args: argparse.Namespace, questions: list[EvalQuestion]) -> list[dict]:
    """Saved runs (``--out`` files) graded again by each grader named in ``--grader``.

    A grader may bring its own question file (``v1=FILE``): the old grader is meant to
    see the questions as they were when the run was made.
    """
    text = args.rescore.read_text()
    runs = json.loads(text)
    if not isinstance(runs, list) or not all(isinstance(r, dict) and "records" in r for r in runs):
        raise RagError(f"--rescore {args.rescore}: not a file written by `rag eval --out`")
    support = None
    rescored = []
    for run in runs:
        if not run["retrieval_only"] and support is None:
            support = make_support_check()
        for index, (grader, path) in enumerate(grader_specs(args.grader)):
            pool = (
                questions
                if path is None
                else load_questions(path, default_papers(), check_facts=grader == "v2")
            )
            by_id = {q.id: q for q in pool}
            outcomes = [Outcome(by_id[r["id"]], r, grader)
                        for r in run["records"] if r["id"] in by_id]  # fmt: skip
            left_out = len(run["records"]) - len(outcomes)
            if left_out:
                print(f"--rescore: {left_out} records have no question in the files read",
                      file=sys.stderr)  # fmt: skip
            summary, by_split = summaries(outcomes, run["top_k"], run["retrieval_only"], support)
            for part in (summary, *by_split.values()):
                for kept in ("model_load_s", "peak_memory_mb"):
                    if kept in run["summary"]:
                        part[kept] = run["summary"][kept]
            # Support does not depend on the grader: listed once per run.
            disagreements = (
                support_disagreements(outcomes, support) if support and index == 0 else []
            )
            label = f"{run['label']} ({grader}{', ' + path.name if path else ''})"
            rescored.append({**run, "label": label, "grader": grader, "summary": summary,
                             "splits": by_split,
                             "support_disagreements": disagreements})  # fmt: skip
    return rescored


def compact(question: EvalQuestion, record: dict) -> dict:
    """A record without the abstracts' texts (they are in the index): small enough to commit."""
    slim = {"id": question.id, "split": question.split, **record}
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
            "--split",
            args.split,
            "--grader",
            args.grader,
        ]
        cmd += ["--questions", str(args.questions)] if args.questions else []
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
        help="your own JSONL question set (format: eval/README.md); default: the project's",
    )
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "both"),
        default="dev",
        help="the project's question split: dev (tune on it), test (report only), or both",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        help="index these files/folders into a collection of their own and evaluate on it",
    )
    parser.add_argument("--beir", type=Path, help="a BEIR-layout folder: retrieval benchmark")
    parser.add_argument(
        "--beir-split", default="test", help="qrels file of --beir (qrels/NAME.tsv)"
    )
    parser.add_argument(
        "--beir-limit", type=int, help="--beir: only the first N queries (a quick look)"
    )
    parser.add_argument(
        "--grader",
        default=DEFAULT_GRADER,
        help=f"answer grader: {', '.join(GRADERS)} (eval/grading.py); with --rescore, a "
        "comma-separated list, each optionally with its question file: v1=OLD.jsonl,v2",
    )
    parser.add_argument(
        "--rescore", type=Path, help="grade the runs saved in this --out file again, no model"
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


def use_corpus(path: Path, questions: Path | None) -> None:
    """Index ``path`` into a collection of its own and point this run (and its children)
    at it: ``RAG_COLLECTION`` is read by every ``Settings.load``. The question file is
    checked against the papers first: a bad line costs no embedding."""
    from rag.ingest import ingest_papers
    from rag.loaders import expand_paths, load_papers
    from rag.settings import Settings

    if not path.exists():
        raise RagError(f"--corpus {path}: no such file or folder")
    resolved = path.resolve()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", resolved.stem).strip("-")[:40] or "corpus"
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    os.environ["RAG_COLLECTION"] = f"eval-{slug}-{digest}"
    files = expand_paths([path])
    papers = load_papers(files)
    if not papers:
        raise RagError(f"--corpus {path}: no abstracts found (formats: README.md, Loading)")
    if questions:
        load_questions(questions, papers)
    report = ingest_papers(papers, Settings.load(), files=files, prune=True)
    print(f"--corpus: {report.summary()}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the requested files."""
    from eval.report import format_table, write_report

    args = build_parser().parse_args(argv)
    specs = grader_specs(args.grader)
    if not args.rescore and (len(specs) != 1 or specs[0][1] is not None):
        raise RagError(f"--grader {args.grader}: use one of {', '.join(GRADERS)}"
                       " (a comma-separated list only with --rescore)")  # fmt: skip
    if args.run_json:  # a child of run_in_subprocess
        args.run_json.write_text(json.dumps(run_one(args)))
        return 0
    if args.beir:
        from eval.beir import main as beir_main

        return beir_main(args)
    if args.corpus:
        use_corpus(args.corpus, args.questions)
    if args.rescore:
        # Without --questions, both splits: each record finds its question by id.
        files = question_files(args) if args.questions else [(split_path(n), n) for n in SPLITS]
        questions = [q for path, split in files
                     for q in load_questions(path, default_papers(), split)]  # fmt: skip
        runs = rescore(args, questions)
    else:
        # Loaded here once: the report needs them too (--compare's children load their own).
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


def default_papers():
    """The shipped corpus: what the project's own question files resolve against."""
    from rag.loaders import load_default_corpus

    return load_default_corpus()


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
