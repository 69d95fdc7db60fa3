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
    query: str, sources: list[Source], embed: Embed, budget: int, keep_last: bool = False
) -> list[list[str]]:
    """Per source, the sentences shown: ``budget`` over all of them, at least two each
    (first + best), the best-ranked source getting what does not divide evenly.

    ``keep_last`` adds each abstract's last sentence to them, where abstracts state their
    conclusion: what a yes/no question turns on.
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
    out, offset = [], 0
    for group, keep in zip(sentences, keeps, strict=True):
        group_vectors = svecs[offset : offset + len(group)]
        offset += len(group)
        out.append(_first_and_closest(group, group_vectors, qvec, keep, keep_last))
    return out


def _first_and_closest(
    sentences: list[str],
    vectors: np.ndarray,
    question_vector: np.ndarray,
    keep: int,
    keep_last: bool = False,
) -> list[str]:
    fixed = [0, len(sentences) - 1] if keep_last else [0]
    keep += len(fixed) - 1
    if len(sentences) <= keep:
        return sentences
    scores = vectors @ question_vector
    closest = [int(i) for i in np.argsort(-scores) if int(i) not in fixed]
    chosen = sorted({*fixed, *closest[: keep - len(fixed)]})
    return [sentences[i] for i in chosen]


def closest_sentence(query: str, source: Source, embed: Embed) -> str:
    """The abstract's one sentence closest to the question (a line's quoted fallback)."""
    sentences = [s for s in split_sentences(source.text) if not is_instruction(s)]
    if len(sentences) <= 1:
        return sentences[0] if sentences else ""
    vectors = np.asarray(embed([query, *sentences]))
    return sentences[int(np.argmax(vectors[1:] @ vectors[0]))]


def sources_block(
    query: str, sources: list[Source], embed: Embed, budget: int, keep_last: bool = False
) -> str:
    """The numbered source block the model reads (``keep_last``: see :func:`excerpts`)."""
    return format_sources(sources, excerpts(query, sources, embed, budget, keep_last))
