"""The data every stage passes on: retrieved sources, citations, drafts, answers.

At the bottom of the package: every module may import this one, and it imports nothing
heavy (no model, no database), so a check or a front end can use the types alone.
"""

from __future__ import annotations

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

    def to_dict(self) -> dict:
        """JSON form used by the CLI and the UI."""
        return {
            "rank": self.rank,
            "doc_id": self.doc_id,
            "title": self.title,
            "text": self.text,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "keyword_score": None if self.keyword_score is None else round(self.keyword_score, 4),
        }


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
class Draft:
    """One piece of reply on its way through the checks (``rag.checks``).

    ``scaffold`` is text written by rule before the model's words (a paper's title and
    marker for "which paper" questions); ``text`` is what the model wrote after it. The
    checks judge ``text`` against ``sources`` (what the model was shown); a check may
    rewrite ``text`` (citation repair) and records what it measured in ``signals``.
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
    # The answer as composed by its shape (scaffold + the model's checked words), without
    # anything appended after the checks: what an evaluation grades.
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
