"""Check the model's [n] citations: drop the ones that point nowhere, map the rest to papers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.retrieve import Source

# [1], [1, 2], [1][2], [1-3]; the last form is expanded.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*(?:,|-|–)\s*\d{1,3})*)\]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


@dataclass
class Citation:
    """A kept citation: the marker number and the paper it points at."""

    n: int
    doc_id: str
    title: str
    text: str

    def to_dict(self) -> dict:
        """JSON form."""
        return {"n": self.n, "doc_id": self.doc_id, "title": self.title, "text": self.text}


@dataclass
class CheckedAnswer:
    """The answer text with only valid markers, and what was dropped."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)


def _numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", group):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            if 0 < hi - lo < 10:
                numbers.extend(range(lo, hi + 1))
                continue
        numbers.extend(int(b) for b in bounds if b.isdigit())
    return numbers


def check_citations(answer: str, sources: list[Source]) -> CheckedAnswer:
    """Keep markers that name a source the model was shown; remove the rest from the text."""
    by_rank = {s.rank: s for s in sources}
    cited: dict[int, Citation] = {}
    invalid: list[int] = []

    def rewrite(match: re.Match) -> str:
        kept = []
        for n in _numbers(match.group(1)):
            source = by_rank.get(n)
            if source is None:
                if n not in invalid:
                    invalid.append(n)
                continue
            if n not in kept:
                kept.append(n)
            cited.setdefault(n, Citation(n, source.doc_id, source.title, source.text))
        return "".join(f"[{n}]" for n in kept)

    text = _MARKER.sub(rewrite, answer)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()
    return CheckedAnswer(text=text, citations=list(cited.values()), invalid=invalid)


def cited_numbers(answer: str) -> list[int]:
    """All marker numbers in order of appearance (valid or not)."""
    found: list[int] = []
    for match in _MARKER.finditer(answer):
        found.extend(n for n in _numbers(match.group(1)) if n not in found)
    return found


_SEGMENT = re.compile(r"(.*?)((?:\s*\[[^\]]*\])+|(?<=[.!?])\s+|$)", re.DOTALL)
MIN_SEGMENT_TERMS = 1
KEEP_RATIO = 0.8  # a cited source is kept if it holds >= 80% as much of the claim as the best


@dataclass
class Reattribution:
    """The answer with each claim's marker pointing at the source that holds its words."""

    text: str
    changes: list[str] = field(default_factory=list)


def _support(terms: set[str], source_terms: set[str]) -> float:
    return len(terms & source_terms) / len(terms) if terms else 0.0


def reattribute(answer: str, sources: list[Source]) -> Reattribution:
    """Re-point or add [n] markers claim by claim, by word overlap with each source.

    Small models often cite the wrong number ([2] for what [1] says) or none at all; the
    words of a claim show which source it came from. A marker is kept when its source
    holds (nearly) as much of the claim as the best one, else replaced by the best.
    """
    from rag.terms import content_terms, numbers_in

    source_terms = {
        s.rank: content_terms(f"{s.title} {s.text}") | numbers_in(s.text) for s in sources
    }
    out: list[str] = []
    changes: list[str] = []
    for match in _SEGMENT.finditer(answer):
        claim, tail = match.group(1), match.group(2)
        if not claim and not tail:
            continue
        terms = content_terms(claim) | numbers_in(claim)
        support = {rank: _support(terms, st) for rank, st in source_terms.items()}
        best = max(support, key=support.get) if support else None
        if best is None or len(terms) < MIN_SEGMENT_TERMS or support[best] == 0:
            out.append(claim + tail)
            continue
        cited = [n for n in cited_numbers(tail)]
        kept = [n for n in cited if support.get(n, 0.0) >= KEEP_RATIO * support[best]]
        if cited and kept == cited:
            out.append(claim + tail)
            continue
        if not kept:
            kept = [best]
        label = "".join(f"[{n}]" for n in kept)
        if cited:
            changes.append(
                f"{''.join(f'[{n}]' for n in cited)} -> {label}: "
                "that source holds the claim's words"
            )
            out.append(f"{claim} {label}" + ("" if tail.strip().startswith("[") else tail))
        else:
            changes.append(f"added {label} to an uncited claim")
            stripped = claim.rstrip()
            end = stripped[-1] if stripped[-1:] in ".!?" else ""
            body = stripped[:-1] if end else stripped
            out.append(f"{body} {label}{end}{tail}")
    return Reattribution(text="".join(out).strip(), changes=changes)


def supporting_passages(answer: str, source: Source) -> list[str]:
    """The sentences of ``source``'s abstract that back the claims citing it in ``answer``.

    For each claim marked [source.rank], the abstract sentence sharing most of the claim's
    words (and numbers): what a reader should check. Front ends highlight these.
    """
    from rag.prompt import split_sentences
    from rag.terms import content_terms, numbers_in

    sentences = split_sentences(source.text)
    sentence_terms = [content_terms(s) | numbers_in(s) for s in sentences]
    found: list[str] = []
    for match in _SEGMENT.finditer(answer):
        claim, tail = match.group(1), match.group(2)
        if source.rank not in cited_numbers(tail):
            continue
        terms = content_terms(claim) | numbers_in(claim)
        scores = [_support(terms, st) for st in sentence_terms]
        if not scores or max(scores) == 0:
            continue
        best = sentences[scores.index(max(scores))]
        if best not in found:
            found.append(best)
    return found
