"""How often ``rag.shapes.question_shape`` reads a labelled question's shape right.

Prints a table per shape for each file of ``{"question": ..., "shape": ...}`` lines::

    python -m eval.shape_accuracy tests/data/shape_cases*.jsonl

``tests/data/shape_cases.jsonl`` is what the rules were written against (its misses are
marked in tests/test_shapes.py). ``shape_cases_heldout.jsonl`` and then
``shape_cases_heldout2.jsonl`` were written apart from the code and only measured until
their misses were turned into rules (2026-12-03, two rounds); ``shape_cases_heldout3.jsonl``
(120, written by a helper who saw neither the code nor the other cases) is the one only
measured now, so its number says how the rules carry to new wording
(eval/results/README.md).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def accuracy(path: Path) -> tuple[Counter, Counter, list[tuple[str, str, str]]]:
    """Per labelled shape: how many, how many read right, and the misses."""
    from rag.shapes import question_shape

    total, right, misses = Counter(), Counter(), []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        got = question_shape(case["question"]).value
        total[case["shape"]] += 1
        right[case["shape"]] += got == case["shape"]
        if got != case["shape"]:
            misses.append((case["shape"], got, case["question"]))
    return total, right, misses


def main(argv: list[str] | None = None) -> int:
    """Print the tables (and the misses with --misses)."""
    parser = argparse.ArgumentParser(description="Question-shape accuracy on labelled cases")
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--misses", action="store_true", help="list the questions read wrong")
    args = parser.parse_args(argv)
    for path in args.files:
        total, right, misses = accuracy(path)
        print(f"\n{path}\n\n| shape | cases | read right |\n|---|---|---|")
        for shape in sorted(total):
            print(f"| {shape} | {total[shape]} | {right[shape] / total[shape]:.2f} |")
        n = sum(total.values())
        print(f"| all | {n} | {sum(right.values()) / max(1, n):.2f} |")
        if args.misses:
            for want, got, question in misses:
                print(f"- {want} read as {got}: {question}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
