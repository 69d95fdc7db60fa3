"""What the model reads of each source: its title, its first sentence (what the paper is
about) and its sentences closest to the question, in the abstract's order.

A question in other words than the abstract ("Is there work on ...?") matches the paper
as a whole, not one sentence: the first sentence says what the paper is, so it is always
kept. Prompt length is time-to-first-token on a CPU (prefill), so the rest is chosen.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.prompt import format_sources, is_instruction
from rag.terms import split_sentences
from rag.types import Source

Embed = Callable[[list[str]], list[list[float]]]


def excerpts(
    query: str,
    sources: list[Source],
    embed: Embed,
    budget: int,
    keep_last: bool = False,
    max_words: int | None = None,
) -> list[list[str]]:
    """Per source, the sentences shown: ``budget`` over all of them, at least two each
    (first + best), the best-ranked source getting what does not divide evenly.

    ``keep_last`` adds each abstract's last sentence to them, where abstracts state their
    conclusion: what a yes/no question turns on. ``max_words`` caps the words shown: the
    chosen sentences least like the question go first (never a source's first sentence or
    its closest one), since long sentences, not their count, make the prompt slow to read.
    """
    sentences = [
        [sent for sent in split_sentences(s.text) if not is_instruction(sent)] for s in sources
    ]
    flat = [sent for group in sentences for sent in group]
    if not flat:
        return [[] for _ in sources]
    vectors = np.asarray(embed([query, *flat]))
    qvec, svecs = vectors[0], vectors[1:]
    total = max(budget, 2 * len(sources))
    keeps = [total // len(sources) + (i < total % len(sources)) for i in range(len(sources))]
    chosen, offset = [], 0
    for group, keep in zip(sentences, keeps, strict=True):
        scores = svecs[offset : offset + len(group)] @ qvec
        offset += len(group)
        chosen.append(_first_and_closest(scores, keep, keep_last))
    if max_words is not None:
        _trim_to_words(sentences, chosen, svecs, qvec, max_words)
    return [[group[i] for i in sorted(picked)] for group, picked in zip(sentences, chosen,
                                                                         strict=True)]  # fmt: skip


def _first_and_closest(scores: np.ndarray, keep: int, keep_last: bool = False) -> dict[int, bool]:
    """Indices of the sentences shown, each with whether it may be trimmed (not the first,
    the last when kept, or the closest to the question)."""
    fixed = [0, len(scores) - 1] if keep_last else [0]
    closest = [int(i) for i in np.argsort(-scores) if int(i) not in fixed]
    keep += len(fixed) - 1
    picked = {i: False for i in fixed if i < len(scores)}
    for rank, i in enumerate(closest[: max(0, keep - len(fixed))]):
        picked[i] = rank > 0
    return picked


def _trim_to_words(
    sentences: list[list[str]],
    chosen: list[dict[int, bool]],
    vectors: np.ndarray,
    question_vector: np.ndarray,
    max_words: int,
) -> None:
    """Drop trimmable chosen sentences, least like the question first, until the shown
    words fit ``max_words`` (or nothing trimmable is left)."""
    starts = np.cumsum([0, *[len(group) for group in sentences]])
    words = sum(len(sentences[s][i].split()) for s, picked in enumerate(chosen) for i in picked)
    trimmable = sorted(
        (float(vectors[starts[s] + i] @ question_vector), s, i)
        for s, picked in enumerate(chosen)
        for i, may_go in picked.items()
        if may_go
    )
    for _, s, i in trimmable:
        if words <= max_words:
            break
        words -= len(sentences[s][i].split())
        del chosen[s][i]


def closest_sentences(query: str, source: Source, embed: Embed, count: int) -> list[str]:
    """The abstract's ``count`` sentences closest to the question, in the abstract's order."""
    sentences = [s for s in split_sentences(source.text) if not is_instruction(s)]
    if len(sentences) <= count:
        return sentences
    vectors = np.asarray(embed([query, *sentences]))
    closest = np.argsort(-(vectors[1:] @ vectors[0]))[:count]
    return [sentences[int(i)] for i in sorted(closest)]


def closest_sentence(query: str, source: Source, embed: Embed) -> str:
    """The abstract's one sentence closest to the question (a line's quoted fallback)."""
    closest = closest_sentences(query, source, embed, 1)
    return closest[0] if closest else ""


def sources_block(
    query: str,
    sources: list[Source],
    embed: Embed,
    budget: int,
    keep_last: bool = False,
    max_words: int | None = None,
) -> str:
    """The numbered source block the model reads (``keep_last``, ``max_words``: see
    :func:`excerpts`)."""
    return format_sources(sources, excerpts(query, sources, embed, budget, keep_last, max_words))
