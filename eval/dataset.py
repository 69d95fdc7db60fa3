"""The evaluation question format (JSONL) and its gold-paper resolution.

Each line: ``{"id", "type", "question", "history"?, "answerable", "gold", "reference", "facts"}``.
``gold`` lists papers by doc id, title prefix or abstract prefix (case/space-insensitive),
so people can write questions by hand without looking up ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rag.documents import Paper, normalise_text
from rag.errors import RagError
from rag.loaders import iter_jsonl, read_text

DEFAULT_QUESTIONS = Path(__file__).parent / "questions.jsonl"


@dataclass
class EvalQuestion:
    """One question with what a right answer looks like."""

    id: str
    type: str
    question: str
    answerable: bool
    gold: list[str] = field(default_factory=list)  # resolved doc ids
    reference: str = ""
    facts: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


def resolve_gold(ref: str, papers: list[Paper]) -> str:
    """Doc id for a gold reference (an id, or a title/abstract prefix)."""
    key = normalise_text(ref)
    for paper in papers:
        if paper.doc_id == ref:
            return paper.doc_id
    matches = [
        p.doc_id
        for p in papers
        if normalise_text(p.title).startswith(key) or normalise_text(p.text).startswith(key)
    ]
    if len(matches) != 1:
        raise RagError(f"gold reference {ref!r} matches {len(matches)} papers; make it longer")
    return matches[0]


def corpus_for(settings) -> list[Paper]:
    """The papers in the index ``settings`` names: gold references resolve against them."""
    from rag.store import PaperStore

    stored = PaperStore.open(settings).stored_papers()
    return [
        Paper(p.abstract, p.title, p.sources, title_is_derived=p.title_is_derived)
        for p in stored.values()
    ]


def load_questions(path: Path, papers: list[Paper]) -> list[EvalQuestion]:
    """Read and resolve a question file."""
    questions = []
    for number, raw in iter_jsonl(read_text(path), str(path)):
        questions.append(
            EvalQuestion(
                id=str(raw.get("id", number)),
                type=raw.get("type", "fact"),
                question=raw["question"],
                answerable=bool(raw.get("answerable", True)),
                gold=[resolve_gold(g, papers) for g in raw.get("gold", [])],
                reference=raw.get("reference", ""),
                facts=list(raw.get("facts", [])),
                history=list(raw.get("history", [])),
            )
        )
    return questions
