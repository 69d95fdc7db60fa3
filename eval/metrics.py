"""The metrics of ``rag eval``, one small function each (defined in eval/README.md).

Retrieval: recall@k, MRR, nDCG@10 over answerable questions, from a ranked list of doc ids.
Answers: token F1 against the reference (SQuAD-style); correctness is eval/grading.py's,
citation support eval/support.py's.
"""

from __future__ import annotations

import math
import string
from collections import Counter

from eval.grading import normalise


def recall_at_k(ranked: list[str], gold: list[str], k: int) -> float:
    """1 if any gold paper is in the top ``k``, else 0."""
    return float(any(doc in gold for doc in ranked[:k]))


def reciprocal_rank(ranked: list[str], gold: list[str]) -> float:
    """1 / rank of the first gold paper (0 if none was retrieved)."""
    for rank, doc in enumerate(ranked, start=1):
        if doc in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: list[str], gold: list[str], k: int = 10) -> float:
    """Binary-relevance nDCG: every gold paper counts 1, ideal = all gold papers first."""
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(set(gold)), k)))
    return dcg / ideal if ideal else 0.0


def _tokens(text: str) -> list[str]:
    text = normalise(text).translate(str.maketrans("", "", string.punctuation))
    return [t for t in text.split() if t not in {"a", "an", "the"}]


def token_f1(answer: str, reference: str) -> float:
    """Harmonic mean of token precision and recall against the reference (SQuAD style)."""
    got, want = _tokens(answer), _tokens(reference)
    common = sum((Counter(got) & Counter(want)).values())
    if not got or not want or not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]
