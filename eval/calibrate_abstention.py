"""Choose the abstention thresholds from recorded answers.

Run the harness once with the relevance floor off (the margin is off by default: measured,
never withholding), so every question is answered
and its signals recorded::

    RAG_MIN_RELEVANCE=0 rag eval --out eval/results/calibration.json
    python -m eval.calibrate_abstention eval/results/calibration.json

Then this replays the decision for a grid of (relevance floor, answer margin) pairs and
prints, for each: answerable questions still answered, answerable questions answered
correctly, and unanswerable questions abstained on. Pick the pair that keeps answered
>= 0.90 and maximises abstention, and set it in rag/settings.py.

The answerable check's lead (``checks.min_answerable_lead``) is replayed with ``--leads``
from a run in which every fact draft was asked and none withheld::

    RAG_MIN_ANSWERABLE_LEAD=-1000 rag eval --split dev --out calibration-dev.json
    python -m eval.calibrate_abstention calibration-dev.json --leads
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.dataset import DEFAULT_QUESTIONS, load_questions
from eval.harness import Outcome

FLOORS = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4]
MARGINS = [-100.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
# ``checks.min_answerable_lead``: replayed from a run with RAG_MIN_ANSWERABLE_LEAD=-1000
# (every fact draft asked, none withheld); the check is the last, so the replay is exact.
LEADS = [-1000.0, -0.5, -0.25, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0]


def replay(
    outcomes: list[Outcome], floor: float, margin: float, lead: float = -1000.0
) -> dict[str, float]:
    """Metrics if the assistant had used these thresholds."""
    answered = correct = abstained = n_ans = n_unans = 0
    for o in outcomes:
        signals = o.record.get("signals", {})
        by_floor = signals.get("relevance", 0.0) < floor
        m = signals.get("answer_margin")
        by_margin = m is not None and m < margin
        a = signals.get("answerable_lead")
        by_lead = a is not None and a < lead
        declined = o.record["abstained"] or by_floor or by_margin or by_lead
        if o.question.answerable:
            n_ans += 1
            answered += not declined
            # A declined false premise stays correct (the grader's rule).
            correct += o.correct if not declined else o.question.type == "false_premise"
        else:
            n_unans += 1
            abstained += declined
    return {
        "answered": answered / max(1, n_ans),
        "correct": correct / max(1, n_ans),
        "abstained": abstained / max(1, n_unans),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the grid."""
    from rag.loaders import iter_jsonl, load_default_corpus, read_text

    parser = argparse.ArgumentParser(description="Replay abstention thresholds")
    parser.add_argument("records", type=Path)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument(
        "--leads",
        action="store_true",
        help="replay checks.min_answerable_lead at the default floor and margin",
    )
    args = parser.parse_args(argv)
    questions = {q.id: q for q in load_questions(args.questions, load_default_corpus())}
    text = read_text(args.records)
    if text.lstrip().startswith("["):  # `rag eval --out` (a list of runs)
        records = json.loads(text)[0]["records"]
    else:  # one record per line (older runs)
        records = [record for _, record in iter_jsonl(text, str(args.records))]
    outcomes = [Outcome(questions[record["id"]], record) for record in records]
    if args.leads:
        from rag.settings import Settings

        defaults = Settings()
        floor = defaults.context.min_relevance
        margin = defaults.checks.min_answer_margin
        print(f"{'lead':>8} {'answered':>9} {'correct':>8} {'abstained':>10}")
        for lead in LEADS:
            r = replay(outcomes, floor, -100.0 if margin is None else margin, lead)
            print(f"{lead:8.2f} {r['answered']:9.3f} {r['correct']:8.3f} {r['abstained']:10.3f}")
        return 0
    print(f"{'floor':>6} {'margin':>7} {'answered':>9} {'correct':>8} {'abstained':>10}")
    for floor in FLOORS:
        for margin in MARGINS:
            r = replay(outcomes, floor, margin)
            print(f"{floor:6.2f} {margin:7.2f} {r['answered']:9.3f} {r['correct']:8.3f} "
                  f"{r['abstained']:10.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
