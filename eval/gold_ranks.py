"""Gold papers in the retriever's top 1 / 3 / 5, per question kind, under two settings.

A retrieval change is judged here before any answer is generated (seconds, not the
20 minutes of a full ``rag eval``)::

    python -m eval.gold_ranks eval/questions/dev.jsonl --set sentence_scores=false \\
        --set sentence_scores=true

Each ``--set`` is one column (``NAME=VALUE[,NAME=VALUE]``); without any, the defaults.
Counts are over gold papers (a several-paper question has several), answerable questions
only, each question searched alone (a follow-up without its chat). Tune on dev only.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from eval.dataset import corpus_for, load_questions
from eval.harness import parse_overrides
from rag.retrieve import HybridRetriever
from rag.settings import Settings

DEPTHS = (1, 3, 5)


def gold_ranks(path: Path, specs: list[str]) -> dict[tuple[str, str], Counter]:
    """(kind or "all", spec) -> counts of gold papers at each depth, and ``n``."""
    retrievers = {spec: HybridRetriever(Settings.load(**parse_overrides([spec]))) for spec in specs}
    papers = corpus_for(next(iter(retrievers.values())).settings)
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for question in load_questions(path, papers, path.stem):
        if not question.answerable or not question.gold:
            continue
        for spec, retriever in retrievers.items():
            found = retriever.search(question.question, top_k=max(DEPTHS))
            rank = {s.doc_id: s.rank for s in found}
            for doc_id in question.gold:
                for kind in (question.type, "all"):
                    count = counts[(kind, spec)]
                    count["n"] += 1
                    for depth in DEPTHS:
                        count[f"top{depth}"] += rank.get(doc_id, depth + 1) <= depth
    return counts


def main(argv: list[str] | None = None) -> int:
    """Print one table per question file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--set", action="append", default=[], dest="specs")
    args = parser.parse_args(argv)
    specs = args.specs or [""]
    for path in args.questions:
        counts = gold_ranks(path, specs)
        print(f"\n{path.name}\n")
        print("| kind | setting | gold papers | " + " | ".join(f"top {d}" for d in DEPTHS) + " |")
        print("|---|---|---|" + "---|" * len(DEPTHS))
        for (kind, spec), c in sorted(counts.items()):
            tops = " | ".join(str(c[f"top{d}"]) for d in DEPTHS)
            print(f"| {kind} | {spec or 'defaults'} | {c['n']} | {tops} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
