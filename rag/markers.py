"""The one ``[n]`` citation-marker pattern of the project, and what is read from it.

Forms accepted: ``[1]``, ``[1, 2]``, ``[1][2]`` (two markers), ``[1-3]`` and ``[1–3]``
(a range, expanded when it spans fewer than ten sources). Everything that finds, strips
or rewrites markers (answer checks, follow-up condensing, the UI, the grader) uses this.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.types import Source

MARKER = re.compile(r"\[(\d{1,3}(?:\s*(?:,|-|–)\s*\d{1,3})*)\]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
MAX_RANGE = 10


def marker_numbers(group: str) -> list[int]:
    """The source numbers inside one marker's brackets ("1, 3-5" -> 1, 3, 4, 5)."""
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", group):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            if 0 < hi - lo < MAX_RANGE:
                numbers.extend(range(lo, hi + 1))
                continue
        numbers.extend(int(b) for b in bounds if b.isdigit())
    return numbers


def cited_numbers(text: str) -> list[int]:
    """Every marker number in ``text``, once each, in order of first appearance."""
    found: list[int] = []
    for match in MARKER.finditer(text):
        found.extend(n for n in marker_numbers(match.group(1)) if n not in found)
    return found


def cited_sources(text: str, sources: list[Source]) -> list[Source]:
    """The sources ``text``'s markers point at (by rank), once each, in order of first
    citation; markers that name none of ``sources`` are skipped."""
    by_rank = {s.rank: s for s in sources}
    return [by_rank[n] for n in cited_numbers(text) if n in by_rank]


def strip_markers(text: str) -> str:
    """``text`` without its markers (and without the space a marker left before punctuation)."""
    return tidy(re.sub(r"(?<=\S) {2,}", " ", MARKER.sub("", text)))


def tidy(text: str) -> str:
    """Remove the space a rewritten marker can leave before punctuation."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()
