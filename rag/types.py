"""The data every stage passes on: retrieved sources, citations, drafts, answers.

At the bottom of the package: every module may import this one, and it imports nothing
heavy (no model, no database), so a check or a front end can use the types alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Shape(StrEnum):
    """What kind of reply a question calls for (decided in ``rag.shapes``)."""

    FACT = "fact"  # one sentence: "How many layers does Quill use?"
    YESNO = "yesno"  # "Does Quill beat Harrow?" -> Yes/No/not settled, then the finding
    EXISTENCE = "existence"  # "Is there work on ...?" / "Which paper ...?" -> the paper
    SEVERAL = "several"  # "Which papers ..., and how do they differ?" -> a line per paper
    COMPARISON = "comparison"  # "How does Quill differ from Harrow?" -> both, side by side
    SUPERLATIVE = "superlative"  # "Which model is the largest?" -> compared across papers


# Shapes answered a line per paper, each line's title and marker written by rule.
LINE_SHAPES = (Shape.EXISTENCE, Shape.SEVERAL, Shape.COMPARISON)


# Bibliographic fields a paper may carry (all optional), in the order they are shown.
META_FIELDS = ("authors", "year", "venue", "doi", "arxiv_id", "url", "categories")


@dataclass
class PaperMeta:
    """What a reference manager or arXiv knows about a paper beyond its title and abstract.

    ``authors`` are "Surname, Given names" (BibTeX's order), so the surname for an
    author-year citation never has to be guessed from a display name.
    """

    authors: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str = ""
    doi: str = ""
    arxiv_id: str = ""
    url: str = ""
    categories: list[str] = field(default_factory=list)

    def known(self) -> int:
        """How many fields are set (the richer of two records wins a merge)."""
        return sum(bool(getattr(self, name)) for name in META_FIELDS)

    def merged_with(self, other: PaperMeta) -> PaperMeta:
        """The richer record, with fields it lacks taken from the other."""
        rich, poor = (self, other) if self.known() >= other.known() else (other, self)
        return PaperMeta(**{n: getattr(rich, n) or getattr(poor, n) for n in META_FIELDS})

    def surnames(self) -> list[str]:
        """Authors' surnames, in order."""
        return [name.split(",", 1)[0].strip() for name in self.authors]

    def author_year(self) -> str:
        """ "Surname et al. (Year)", "A and B (Year)", "Surname (Year)" or "" when unknown."""
        names = self.surnames()
        if not names:
            who = ""
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        when = f"({self.year})" if self.year else ""
        return " ".join(part for part in (who, when) if part)

    def to_dict(self) -> dict:
        """JSON form: every field, empty when unknown (``year``: null)."""
        return {name: getattr(self, name) for name in META_FIELDS}

    def to_metadata(self) -> dict:
        """Flat Chroma metadata: the fields that are set; lists as JSON strings."""
        out: dict = {}
        for name in META_FIELDS:
            value = getattr(self, name)
            if value:
                out[name] = json.dumps(value) if isinstance(value, list) else value
        return out

    @classmethod
    def from_metadata(cls, meta: dict) -> PaperMeta:
        """Read back what :meth:`to_metadata` stored (missing keys: unknown)."""
        year = meta.get("year")
        return cls(
            authors=json.loads(meta.get("authors") or "[]"),
            year=int(year) if year else None,
            venue=str(meta.get("venue") or ""),
            doi=str(meta.get("doi") or ""),
            arxiv_id=str(meta.get("arxiv_id") or ""),
            url=str(meta.get("url") or ""),
            categories=json.loads(meta.get("categories") or "[]"),
        )


def aliases_of(meta: dict) -> list[str]:
    """The other titles a paper is known by, from a chunk's Chroma metadata (stored as a
    JSON list when the paper's records carried several titles)."""
    return json.loads(meta.get("aliases") or "[]")


@dataclass
class PaperFilter:
    """Which papers a question may draw on (rag/filters.py turns it into Chroma clauses).

    Author matches part of a name, venue and category whole words, all ignoring case and
    accents; years are inclusive; an empty filter keeps every paper.
    """

    year_from: int | None = None
    year_to: int | None = None
    author: str = ""
    venue: str = ""
    category: str = ""

    def is_empty(self) -> bool:
        """True when it keeps every paper."""
        return (
            self.year_from is None
            and self.year_to is None
            and not (self.author.strip() or self.venue.strip() or self.category.strip())
        )

    def describe(self) -> str:
        """For messages: "year 2021-, author smith"."""
        bits = []
        if self.year_from is not None or self.year_to is not None:
            start, end = self.year_from or "", self.year_to or ""
            bits.append(f"year {start}" if start == end else f"year {start}-{end}")
        bits += [f"{name} {value.strip()}" for name, value in (
            ("author", self.author), ("venue", self.venue), ("category", self.category)
        ) if value.strip()]  # fmt: skip
        return ", ".join(bits)


@dataclass
class Source:
    """One retrieved paper, as shown to the model and to the user."""

    rank: int
    doc_id: str
    title: str
    text: str  # the full abstract
    score: float  # fused reciprocal-rank score (higher is better)
    dense_score: float | None  # best cosine similarity of its chunks, if dense found it
    keyword_score: float | None  # best BM25 score of its chunks, if BM25 found it
    chunk: str  # the best-matching chunk
    files: list[str] = field(default_factory=list)
    title_is_derived: bool = False  # the layout had no title: ``title`` is its first words
    meta: PaperMeta = field(default_factory=PaperMeta)
    aliases: list[str] = field(default_factory=list)  # other titles its records gave it
    # Best cosine of one of its sentences with the question, when the dense side scored
    # sentences (rag/sentence_scores.py); None otherwise.
    sentence_score: float | None = None

    def to_dict(self) -> dict:
        """JSON form used by the CLI and the UI."""
        return {
            "rank": self.rank,
            "doc_id": self.doc_id,
            "title": self.title,
            "aliases": self.aliases,
            "text": self.text,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "keyword_score": None if self.keyword_score is None else round(self.keyword_score, 4),
            "sentence_score": None
            if self.sentence_score is None
            else round(self.sentence_score, 4),
            "cite": self.meta.author_year(),
            **self.meta.to_dict(),
        }


@dataclass
class Citation:
    """A kept citation: the marker number and the paper it points at."""

    n: int
    doc_id: str
    title: str
    text: str
    meta: PaperMeta = field(default_factory=PaperMeta)

    def to_dict(self) -> dict:
        """JSON form."""
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "text": self.text,
            "cite": self.meta.author_year(),
            **self.meta.to_dict(),
        }


@dataclass
class Draft:
    """One piece of reply on its way through the checks (``rag.checks``).

    ``scaffold`` is text written by rule before the model's words (a paper's title and
    marker for "which paper" questions); ``text`` is what the model wrote after it. The
    checks judge ``text`` against ``sources`` (what the model was shown); a check may
    rewrite ``text`` (citation repair) and records what it measured in ``signals``.
    ``yes_lead``, when the model is at hand, asks it a yes/no ``job`` about this draft's
    question and sources and returns log P(Yes) - log P(No) (a check that needs the
    model calls it, so the model is only asked when the checks before it passed); given a
    source block, it asks about that text instead of the draft's whole context.
    """

    question: str
    query: str
    shape: Shape
    sources: list[Source]
    text: str
    scaffold: str = ""
    signals: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    yes_lead: Callable[..., float] | None = None  # (job, block=None) -> lead
    # The question's top retrieved papers (read or not): what the field's words are.
    retrieved: list[Source] = field(default_factory=list)

    @property
    def reply(self) -> str:
        """The scaffold and the model's words, as the user reads them."""
        if not self.scaffold:
            return self.text
        return (
            f"{self.scaffold}{self.text}"
            if self.text[:1] in ",.;: "
            else f"{self.scaffold} {self.text}".strip()
        )


@dataclass
class Verdict:
    """A check's reason to withhold a draft: the check's name and a one-line reason."""

    check: str
    reason: str


@dataclass
class Answer:
    """Everything a front end shows for one question."""

    question: str
    query: str  # what was searched (the condensed follow-up)
    answer: str
    abstained: bool
    sources: list[Source]
    shape: Shape = Shape.FACT
    citations: list[Citation] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    abstain_reason: str | None = None
    abstain_check: str | None = None  # the name of the check that withheld the answer
    draft: str = ""  # the model's raw reply, kept when the answer was withheld
    # The answer as composed by its shape (scaffold + the model's checked words + a yes/no
    # finding's quoted evidence), without anything appended after it: what an evaluation
    # grades.
    model_answer: str = ""
    notes: list[str] = field(default_factory=list)
    signals: dict[str, float | None] = field(default_factory=dict)  # what the checks measured
    timings: dict[str, float] = field(default_factory=dict)
    started: float = 0.0  # time.perf_counter() when the question came (timings count from it)
    # A follow-up's papers: those of the previous answer it refers to ("it", "the second one").
    followed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON shape of ``rag ask --json``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "abstain_check": self.abstain_check,
            "shape": self.shape.value,
            "citations": [c.to_dict() for c in self.citations],
            "invalid_citations": self.invalid_citations,
            "sources": [s.to_dict() for s in self.sources],
            "query": self.query,
            "draft": self.draft,
            "model_answer": self.model_answer,
            "notes": self.notes,
            "signals": {k: v if v is None else round(v, 4) for k, v in self.signals.items()},
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class Event:
    """A step of a streamed answer: ``sources``, ``token`` or ``done``."""

    kind: str
    text: str = ""
    sources: list[Source] | None = None
    answer: Answer | None = None
