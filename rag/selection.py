"""Which retrieved papers answer the question: chosen by retrieval scores, not by the model.

The 1.5B generator judges "is this paper about what was asked?" worse than the retriever
ranks (it said yes to unrelated abstracts), so papers are chosen here, by a calibrated
relevance score with floors and margins (``settings.context``), and the model is only
asked what the chosen papers say.
"""

from __future__ import annotations

import re

from rag.settings import ContextSettings
from rag.terms import content_terms
from rag.types import Source

COVERAGE_WEIGHT = 0.25


def relevance(query: str, source: Source) -> float:
    """Dense cosine plus a bonus for the share of query terms the paper contains.

    Acronyms and coined names embed poorly but match exactly; the bonus lets them count.
    """
    terms = content_terms(query)
    coverage = len(terms & content_terms(f"{source.title} {source.text}")) / max(1, len(terms))
    return (source.dense_score or 0.0) + COVERAGE_WEIGHT * coverage


def plausible(query: str, sources: list[Source], settings: ContextSettings) -> list[Source]:
    """The top sources the model reads: the first, and others within ``context_margin``."""
    if not sources:
        return []
    scores = [relevance(query, s) for s in sources[: settings.context_sources]]
    floor = max(settings.min_relevance, scores[0] - settings.context_margin)
    return [sources[0]] + [s for s, r in zip(sources[1:], scores[1:], strict=False) if r >= floor]


def listed(query: str, sources: list[Source], settings: ContextSettings) -> list[Source]:
    """The papers a "which papers ..." reply lists: all within ``several_margin`` of the
    best, above the relevance floor; at least two when a second one clears the floor
    (the question asked for papers, plural)."""
    if not sources:
        return []
    scores = [relevance(query, s) for s in sources]
    floor = max(settings.min_relevance, scores[0] - settings.several_margin)
    chosen = [s for s, r in zip(sources, scores, strict=True) if r >= floor][: settings.several_max]
    if len(chosen) == 1 and len(sources) > 1 and scores[1] >= settings.min_relevance:
        chosen.append(sources[1])
    return chosen


_SIDES = [
    re.compile(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)(?:[?.,;]|$)", re.I),
    re.compile(
        r"(?P<a>.+?)\s+(?:differs?|compares?|contrasts?)\s+(?:from|to|with)\s+"
        r"(?P<b>.+?)(?:[?.,;]|$)",
        re.I,
    ),
    re.compile(
        r"(?P<a>.+?)\s+(?:versus|vs\.?|compared (?:to|with)|unlike)\s+"
        r"(?P<b>.+?)(?:[?.,;]|$)",
        re.I,
    ),
    re.compile(
        r"^\s*(?:compare|contrast)\s+(?P<a>.+?)\s+(?:and|with|to)\s+"
        r"(?P<b>.+?)(?:[?.,;]|$)",
        re.I,
    ),
    re.compile(r"(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:both|differ|each|compare)\b", re.I),
]
_LEAD = re.compile(
    r"^\s*(?:how|what|in what way|in which way)s?\b(?:\s+(?:does|do|is|are|the|did))*\s*", re.I
)


def comparison_sides(question: str) -> tuple[str, str] | None:
    """The two things a comparison question names ("How does A differ from B?" -> A, B)."""
    for pattern in _SIDES:
        match = pattern.search(question)
        if match:
            a, b = _LEAD.sub("", match.group("a")).strip(), match.group("b").strip()
            if a and b:
                return a, b
    return None
