"""The model's [n] citations: drop the ones that point nowhere, re-point or add the rest
claim by claim, and map them to papers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.markers import MARKER, cited_numbers, marker_numbers, strip_markers, tidy
from rag.terms import content_terms, numbers_in, split_sentences
from rag.types import Citation, Draft, Source, Verdict


@dataclass
class CheckedAnswer:
    """The answer text with only valid markers, and what was dropped."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)


def check_citations(answer: str, sources: list[Source]) -> CheckedAnswer:
    """Keep markers that name a source the model was shown; remove the rest from the text."""
    by_rank = {s.rank: s for s in sources}
    cited: dict[int, Citation] = {}
    invalid: list[int] = []

    def rewrite(match: re.Match) -> str:
        kept = []
        for n in marker_numbers(match.group(1)):
            source = by_rank.get(n)
            if source is None:
                if n not in invalid:
                    invalid.append(n)
                continue
            if n not in kept:
                kept.append(n)
            cited.setdefault(n, Citation(n, source.doc_id, source.title, source.text, source.meta))
        return "".join(f"[{n}]" for n in kept)

    text = tidy(MARKER.sub(rewrite, answer))
    return CheckedAnswer(text=text, citations=list(cited.values()), invalid=invalid)


_SEGMENT = re.compile(r"(.*?)((?:\s*\[[^\]]*\])+|(?<=[.!?])\s+|$)", re.DOTALL)
MIN_SEGMENT_TERMS = 1


@dataclass
class Reattribution:
    """The answer with each claim's marker pointing at the source that holds its words."""

    text: str
    changes: list[str] = field(default_factory=list)


def _support(terms: set[str], source_terms: set[str]) -> float:
    return len(terms & source_terms) / len(terms) if terms else 0.0


def reattribute(answer: str, sources: list[Source], keep_ratio: float = 0.8) -> Reattribution:
    """Re-point or add [n] markers claim by claim, by word overlap with each source.

    Small models often cite the wrong number ([2] for what [1] says) or none at all; the
    words of a claim show which source it came from. A marker is kept when its source
    holds at least ``keep_ratio`` as much of the claim as the best one, else replaced by
    the best (``settings.checks.citation_keep_ratio``).
    """
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
        kept = [n for n in cited if support.get(n, 0.0) >= keep_ratio * support[best]]
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


class CitationCheck:
    """Repairs markers; never withholds.

    Markers naming a source the model was not shown are dropped (and noted); a claim's
    marker is re-pointed to, or added for, the source holding its words. A draft after a
    scaffold (which already cites its paper) keeps no markers of its own: the scaffold's
    citation is the line's.
    """

    name = "citations"

    def __init__(self, keep_ratio: float) -> None:
        self.keep_ratio = keep_ratio

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        shown = {s.rank for s in draft.sources}
        invalid = [n for n in cited_numbers(draft.text) if n not in shown]
        if invalid:
            draft.invalid_citations = invalid
            draft.notes.append(
                "the model cited source(s) it was not shown: "
                + ", ".join(f"[{n}]" for n in invalid)
            )
        if draft.scaffold:
            draft.text = strip_markers(draft.text)
            return None
        attributed = reattribute(draft.text, draft.sources, self.keep_ratio)
        draft.notes.extend(f"citation {change}" for change in attributed.changes)
        draft.text = check_citations(attributed.text, draft.sources).text
        return None
