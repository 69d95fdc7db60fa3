"""Choose the yes/no verdict margin (``replies.yes_margin``) from a recorded run.

A yes/no reply says "Yes" when the model's log-probability of "Yes" as its first word
beats that of "No" by more than ``yes_margin`` (``rag.pipeline.Assistant._verdict``), and
each answer records that lead as ``signals.yes_lead``. This replays the choice for a grid
of margins over the labelled yes/no questions of a run and prints how often the verdict
agrees with the label. Tune on questions that are not reported: PubMedQA's dev pool
(``python -m eval.pubmedqa ... --pool dev``) or the project's dev split::

    rag eval --corpus PQA/corpus.jsonl --questions PQA-DEV/questions.jsonl --out runs.json
    python -m eval.calibrate_verdict runs.json --questions PQA-DEV/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MARGINS = [-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]


def agreement(leads: list[tuple[float, str]], margin: float) -> float:
    """Share of (lead, label) pairs whose verdict at ``margin`` is the label."""
    if not leads:
        return 0.0
    right = sum((lead > margin) == (label == "yes") for lead, label in leads)
    return right / len(leads)


def read_leads(runs: Path, questions: Path) -> list[tuple[float, str]]:
    """(yes_lead, label) of every labelled yes/no question the run scored."""
    labels = {}
    for line in questions.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            if raw.get("label") in ("yes", "no"):
                labels[str(raw["id"])] = raw["label"]
    leads = []
    for run in json.loads(runs.read_text(encoding="utf-8")):
        for record in run["records"]:
            lead = record.get("signals", {}).get("yes_lead")
            if lead is not None and record["id"] in labels:
                leads.append((float(lead), labels[record["id"]]))
    return leads


def main(argv: list[str] | None = None) -> int:
    """Print the grid."""
    parser = argparse.ArgumentParser(description="Replay the yes/no verdict margin")
    parser.add_argument("runs", type=Path, help="runs.json of rag eval --out")
    parser.add_argument("--questions", type=Path, required=True, help="their question file")
    args = parser.parse_args(argv)
    leads = read_leads(args.runs, args.questions)
    yes = sum(label == "yes" for _, label in leads)
    print(f"{len(leads)} labelled yes/no questions scored ({yes} labelled yes)\n")
    print("| yes_margin | verdict agrees with the label |")
    print("|---|---|")
    for margin in MARGINS:
        print(f"| {margin:.2f} | {agreement(leads, margin):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
