"""Which retrieved papers answer the question: chosen by retrieval scores, not by the model.

The 1.5B generator judges "is this paper about what was asked?" worse than the retriever
ranks (it said yes to unrelated abstracts), so papers are chosen here, by a calibrated
relevance score with floors and margins (``settings.context``), and the model is only
asked what the chosen papers say.
"""

from __future__ import annotations

import re

from rag.settings import ContextSettings
from rag.shapes import NAME_WORD, QUOTED, plain_question
from rag.terms import content_terms
from rag.types import Source

COVERAGE_WEIGHT = 0.25


def relevance(query: str, source: Source) -> float:
    """Dense cosine plus a bonus for the share of query terms the paper contains.

    Acronyms and coined names embed poorly but match exactly; the bonus lets them count.
    """
    return (source.dense_score or 0.0) + COVERAGE_WEIGHT * _coverage(query, source)


def sentence_relevance(query: str, source: Source) -> float | None:
    """:func:`relevance` with the higher of the paper's best sentence cosine and its
    chunk's, or None when its sentences were not scored.

    A question about one thing a paper does matches that sentence closely and the chunk's
    averaged vector weakly; a question about nothing here matches no sentence. On dev and
    the calibration sets the best sentence separates the two better (eval/results/README.md).
    """
    if source.sentence_score is None:
        return None
    return closeness(source) + COVERAGE_WEIGHT * _coverage(query, source)


def closeness(source: Source) -> float:
    """The higher of the paper's closest sentence's cosine with the question and its
    chunk's (the chunk's alone when its sentences were not scored)."""
    return max(source.sentence_score or 0.0, source.dense_score or 0.0)


def _coverage(query: str, source: Source) -> float:
    terms = content_terms(query)
    return len(terms & content_terms(f"{source.title} {source.text}")) / max(1, len(terms))


def plausible(query: str, sources: list[Source], settings: ContextSettings) -> list[Source]:
    """The top sources the model reads: the first, and others within ``context_margin``."""
    if not sources:
        return []
    scores = [relevance(query, s) for s in sources[: settings.context_sources]]
    floor = max(settings.min_relevance, scores[0] - settings.context_margin)
    return [sources[0]] + [s for s, r in zip(sources[1:], scores[1:], strict=False) if r >= floor]


def listed(
    query: str, sources: list[Source], settings: ContextSettings, at_least_two: bool = True
) -> list[Source]:
    """The papers a "which papers ..." reply lists: those whose keyword (BM25) score is
    within ``several_margin`` (a share) of the best one's; with ``at_least_two``, two when a
    second paper clears the relevance floor ("Which papers ...?" presumes several).

    "Are there papers on ...?" presumes nothing: the caller passes ``at_least_two=False``
    and it lists only the papers within the margin, one if one stands out.

    Word overlap, not the dense score, separates the papers a list question is about: on
    the dev split the BM25 share listed more gold papers, and fewer others, than the
    dense-based relevance at every margin (eval/calibrate_selection.py). Without a BM25
    score (keyword index off) the relevance score is used the same way.
    """
    if not sources:
        return []
    keyword = [s.keyword_score or 0.0 for s in sources]
    scores = keyword if max(keyword) > 0 else [relevance(query, s) for s in sources]
    floor = (1.0 - settings.several_margin) * scores[0]
    chosen = [s for s, v in zip(sources, scores, strict=True) if v >= floor and v > 0]
    chosen = (chosen or sources[:1])[: settings.several_max]
    plural = at_least_two and len(chosen) == 1 and len(sources) > 1
    if plural and relevance(query, sources[1]) >= settings.min_relevance:
        chosen.append(sources[1])
    return chosen


_END = r"(?:[?.,;:]|\s[-\u2013\u2014]{1,2}\s|$)"  # where the second side's words stop
_NAMED = rf"{NAME_WORD}(?:'s)?"  # "Quill", "Marlow-7B's"
_SIDES = [
    re.compile(rf"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+?){_END}", re.I),
    re.compile(
        r"(?P<a>.+?)\s+(?:differs?|compares?|contrasts?)\s+(?:from|to|with)\s+"
        rf"(?P<b>.+?){_END}",
        re.I,
    ),
    # "Both 'Sparse Quill' and Harrow prune heads. What does each keep?" (case matters:
    # names are capitalised or hold a digit)
    re.compile(
        rf"^\s*(?i:both)\s+(?P<a>{QUOTED}|{_NAMED})\s+and\s+(?i:the\s+)?(?P<b>{QUOTED}|{_NAMED})"
    ),
    # Before "against": in "Quill and Harrow both compete against X" the sides are the two
    # named first, not what they compete against.
    re.compile(r"^\s*(?P<a>[^,:;?]+?)\s+and\s+(?P<b>[^,:;?]+?)\s+both\b", re.I),
    re.compile(
        r"(?P<a>.+?)\s+(?:versus|vs\.?|compared (?:to|with)|unlike|against|relative to|"
        rf"similar to|different (?:from|to))\s+(?P<b>.+?){_END}",
        re.I,
    ),
    re.compile(
        rf"\b(?:separates?|distinguish(?:es)?)\s+(?P<a>.+?)\s+from\s+(?P<b>.+?){_END}", re.I
    ),
    re.compile(
        r"^\s*(?:compare|contrast)\s+(?P<a>.+?)\s+(?:and|with|to)\s+"
        rf"(?P<b>.+?){_END}",
        re.I,
    ),
    re.compile(r"(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:both|differ|each|compare)\b", re.I),
    # Two names joined by "and" or "or" anywhere ("What do Quill and Harrow share?", "Is
    # Quill or Harrow better?"): case matters, names are capitalised or hold a digit.
    re.compile(rf"(?P<a>{_NAMED})\s*,\s*(?P<b>{_NAMED}),?\s+or\s+{_NAMED}"),
    re.compile(rf"(?P<a>{_NAMED})\s+(?:and|or)\s+(?P<b>{_NAMED})"),
]
_LEAD = re.compile(
    r"^\s*(?:how|what|in what way|in which way)s?\b(?:\s+(?:does|do|is|are|the|did))*\s*", re.I
)


def comparison_sides(question: str) -> tuple[str, str] | None:
    """The two things a comparison question names ("How does A differ from B?" -> A, B)."""
    question = plain_question(question)
    for pattern in _SIDES:
        match = pattern.search(question)
        if match:
            a, b = _LEAD.sub("", match.group("a")).strip(), match.group("b").strip()
            if a and b:
                return a, b
    return None
