"""Choose the list-reply margin (``several_margin``) from a recorded run.

A "which papers ..." reply lists every retrieved paper whose keyword score is within
``several_margin`` (a share) of the best one's (``rag.selection.listed``). This replays that choice
on a run's recorded sources for a grid of margins and prints, for the multi-paper
questions of a split: the mean share of gold papers listed, the share of listed papers
that are gold, and how often the list holds enough gold papers and nothing else (what the
v2 grader asks of a correct answer). Tune on dev; report test::

    rag eval --split dev --out runs.json
    python -m eval.calibrate_selection runs.json --split dev
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.dataset import load_questions, split_path

MARGINS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


def replay(
    records: list[dict], questions: dict, texts: dict, margin: float, most: int = 5
) -> dict[str, float]:
    """List-choice metrics over the multi-paper questions if ``several_margin`` were
    ``margin`` and ``several_max`` were ``most``."""
    from rag.selection import listed
    from rag.settings import ContextSettings
    from rag.types import Source

    settings = ContextSettings(several_margin=margin, several_max=most)
    share = precision = exact = n = 0.0
    for record in records:
        q = questions.get(record["id"])
        if q is None or q.type != "multi":
            continue
        sources = [
            Source(s["rank"], s["doc_id"], s["title"], texts[s["doc_id"]], s["score"],
                   s["dense_score"], s["keyword_score"], "")
            for s in record["sources"]
        ]  # fmt: skip
        chosen = {s.doc_id for s in listed(record["query"], sources, settings)}
        gold = set(q.gold)
        needed = min(len(gold), q.papers_needed)
        n += 1
        share += len(chosen & gold) / len(gold)
        precision += len(chosen & gold) / max(1, len(chosen))
        exact += len(chosen & gold) >= needed and chosen <= gold
    n = max(n, 1)
    return {"gold_share": share / n, "precision": precision / n, "exact": exact / n}


def main(argv: list[str] | None = None) -> int:
    """Print the grid."""
    from rag.loaders import load_default_corpus

    parser = argparse.ArgumentParser(description="Replay the list-reply margin")
    parser.add_argument("runs", type=Path)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args(argv)
    papers = load_default_corpus()
    texts = {p.doc_id: p.text for p in papers}
    questions = {q.id: q for q in load_questions(split_path(args.split), papers)}
    run = json.loads(args.runs.read_text())[0]
    records = [r for r in run["records"] if r.get("split", args.split) == args.split]
    print(f"| several_margin | several_max | gold share | precision | enough gold, no other "
          f"({args.split}) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for margin in MARGINS:
        for most in (2, 3, 5):
            m = replay(records, questions, texts, margin, most)
            print(f"| {margin:.2f} | {most} | {m['gold_share']:.3f} | {m['precision']:.3f} "
                  f"| {m['exact']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
