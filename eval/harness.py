"""Run the question set through the assistant and score it.

Metrics (all over ``eval/questions.jsonl`` unless another file is given):
- recall@5: answerable questions with a gold paper among the top 5 sources;
- answered: answerable questions not abstained on;
- correct: answered, every citation is a gold paper (at least one), and every required
  fact string occurs in the answer (case-insensitive, thousands separators ignored);
- abstained: unanswerable questions the assistant declined;
- latency p50/p95 of first token and whole answer, over questions that generated.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import DEFAULT_QUESTIONS, EvalQuestion, load_questions


@dataclass
class Outcome:
    """One question's result."""

    question: EvalQuestion
    record: dict  # Answer.to_dict()

    @property
    def retrieved_gold(self) -> bool:
        """A gold paper is among the top 5 sources."""
        ids = [s["doc_id"] for s in self.record["sources"][:5]]
        return any(g in ids for g in self.question.gold)

    @property
    def correct(self) -> bool:
        """Right answer citing only right papers (answerable questions)."""
        rec, q = self.record, self.question
        cited = {c["doc_id"] for c in rec["citations"]}
        if rec["abstained"] or not cited or not cited <= set(q.gold):
            return False
        answer = _norm(rec["answer"])
        return all(_norm(fact) in answer for fact in q.facts)


def _norm(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3})", "", text.lower())


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(outcomes: list[Outcome]) -> dict[str, float]:
    """The headline numbers."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    generated = [o for o in outcomes if o.record["timings"].get("generate_s", 0) > 0]
    first = [o.record["timings"]["first_token_s"] for o in generated]
    total = [o.record["timings"]["total_s"] for o in generated]

    def share(items: list[Outcome], test) -> float:
        return sum(1 for o in items if test(o)) / len(items) if items else 0.0

    return {
        "questions": len(outcomes),
        "recall@5": share(answerable, lambda o: o.retrieved_gold),
        "answered": share(answerable, lambda o: not o.record["abstained"]),
        "correct": share(answerable, lambda o: o.correct),
        "abstained_unanswerable": share(unanswerable, lambda o: o.record["abstained"]),
        "first_token_p50_s": statistics.median(first) if first else 0.0,
        "first_token_p95_s": percentile(first, 95),
        "total_p50_s": statistics.median(total) if total else 0.0,
        "total_p95_s": percentile(total, 95),
    }


def run(assistant, questions: list[EvalQuestion], log=None) -> list[Outcome]:
    """Ask every question (models loaded once)."""
    outcomes = []
    for q in questions:
        record = assistant.ask(q.question, q.history).to_dict()
        outcome = Outcome(q, record)
        outcomes.append(outcome)
        if log:
            verdict = ("ok " if outcome.correct else "BAD") if q.answerable else (
                "ok " if record["abstained"] else "BAD")  # fmt: skip
            log(f"{q.id:4} {verdict} {q.type:10} {record['timings'].get('total_s', 0):5.1f}s "
                f"{record['answer'][:110]!r}")  # fmt: skip
    return outcomes


def compact(question_id: str, record: dict) -> dict:
    """A record without the abstracts' texts (they are in the index): small enough to commit."""
    slim = {"id": question_id, **record}
    slim["sources"] = [{k: v for k, v in s.items() if k != "text"} for s in record["sources"]]
    slim["citations"] = [{k: v for k, v in c.items() if k != "text"} for c in record["citations"]]
    return slim


def format_table(summary: dict[str, float], label: str) -> str:
    """A plain-text table of the summary."""
    rows = [f"{'metric':26} {label}"]
    for key, value in summary.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        rows.append(f"{key:26} {shown}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m eval.harness [--questions F] [--generator G] [--out results.jsonl]."""
    from rag.loaders import load_default_corpus
    from rag.pipeline import Assistant
    from rag.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--generator")
    parser.add_argument("--only", help="comma-separated question ids")
    parser.add_argument("--out", type=Path, help="write one JSON record per question")
    args = parser.parse_args(argv)

    settings = Settings.load(generator=args.generator)
    questions = load_questions(args.questions, load_default_corpus())
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q.id in wanted]
    assistant = Assistant(settings)
    started = time.perf_counter()
    assistant.warm_up()
    print(f"generator {settings.generator} ready in {time.perf_counter() - started:.1f}s",
          file=sys.stderr)  # fmt: skip
    outcomes = run(assistant, questions, log=lambda line: print(line, file=sys.stderr))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w") as fh:
            for o in outcomes:
                fh.write(json.dumps(compact(o.question.id, o.record)) + "\n")
    print(format_table(summarise(outcomes), settings.generator))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
