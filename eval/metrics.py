"""The metrics of ``rag eval``, one small function each (defined in eval/README.md).

Retrieval: recall@k, MRR, nDCG@10 over answerable questions, from a ranked list of doc ids.
Answers: required facts present, token F1 against the reference (SQuAD-style).
Citations: precision (cited abstracts that support their sentence) and recall (sentences
with a supporting citation), by the offline check in ``eval.support``.
Abstention: precision and recall of abstaining, unanswerable questions being the positives.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter

from eval.support import strip_markers, supports
from rag.prompt import split_sentences
from rag.terms import spelled_to_digits


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


def _normalise(text: str) -> str:
    text = spelled_to_digits(strip_markers(text).lower())
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def _has_fact(answer: str, fact: str) -> bool:
    """``fact`` is in the normalised answer; "A|B" accepts either (a name or its acronym)."""
    return any(_normalise(option.strip()) in answer for option in fact.split("|"))


def facts_present(answer: str, facts: list[str]) -> bool:
    """Every required fact occurs in the answer (case, thousands separators and spelled-out
    numbers ignored)."""
    answer = _normalise(answer)
    return all(_has_fact(answer, fact) for fact in facts)


def missing_facts(answer: str, facts: list[str]) -> list[str]:
    """The required facts the answer lacks."""
    answer = _normalise(answer)
    return [fact for fact in facts if not _has_fact(answer, fact)]


def _tokens(text: str) -> list[str]:
    text = _normalise(text).translate(str.maketrans("", "", string.punctuation))
    return [t for t in text.split() if t not in {"a", "an", "the"}]


def token_f1(answer: str, reference: str) -> float:
    """Harmonic mean of token precision and recall against the reference (SQuAD style)."""
    got, want = _tokens(answer), _tokens(reference)
    common = sum((Counter(got) & Counter(want)).values())
    if not got or not want or not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def citation_pairs(answer: str, cited: dict[int, tuple[str, str]]) -> tuple[int, int, int, int]:
    """(supporting citations, citations, sentences with a supporting citation, sentences).

    ``cited`` maps each marker number to its source's (title, abstract).
    """
    from rag.citations import cited_numbers

    good = total = backed = sentences = 0
    for sentence in split_sentences(answer):
        if not strip_markers(sentence).strip(" .,;:"):
            continue
        sentences += 1
        numbers = [n for n in cited_numbers(sentence) if n in cited]
        ok = [n for n in numbers if supports(sentence, *cited[n])]
        good, total = good + len(ok), total + len(numbers)
        backed += bool(ok)
    return good, total, backed, sentences


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]
