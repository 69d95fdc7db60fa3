"""The evaluation question format (JSONL), its validation, and gold-paper resolution.

Each line: ``{"id", "type", "question", "history"?, "answerable", "gold", "reference",
"facts", "label"?, "min_papers"?}`` (eval/README.md). ``gold`` lists papers by doc id,
title prefix or abstract prefix (case/space-insensitive), so people can write questions by
hand without looking up ids. A malformed line is a one-line error naming file and line.

The project's own set is split in two files: ``dev`` (tune, calibrate, write unit tests
from) and ``test`` (report only; never read while changing the product).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rag.documents import Paper, normalise_text
from rag.errors import RagError
from rag.loaders import iter_jsonl, read_text

QUESTIONS_DIR = Path(__file__).parent / "questions"
SPLITS = ("dev", "test")
DEFAULT_QUESTIONS = QUESTIONS_DIR / "dev.jsonl"

# Kinds whose answer is in the abstracts; the rest should be declined.
ANSWERABLE_KINDS = (
    "fact", "acronym", "yesno", "paraphrase", "multi", "comparison", "followup",
    "false_premise",
)  # fmt: skip
UNANSWERABLE_KINDS = ("offtopic", "nearmiss")
KINDS = ANSWERABLE_KINDS + UNANSWERABLE_KINDS
# Kinds graded paper by paper: ``facts[i]`` is what the answer must say of ``gold[i]``.
PER_PAPER_KINDS = ("multi", "comparison")


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
    label: str | None = None  # yes/no questions: "yes" or "no"
    min_papers: int | None = None  # per-paper kinds: gold papers a correct answer covers
    split: str = ""

    @property
    def papers_needed(self) -> int:
        """Gold papers a correct multi-paper answer must cite with their fact.

        A comparison needs both papers; "which papers ..." needs two (or every gold paper
        when there are fewer), unless the question says otherwise.
        """
        if self.min_papers is not None:
            return self.min_papers
        if self.type == "comparison":
            return len(self.gold)
        return min(2, len(self.gold))


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


def _problems(raw: object, check_facts: bool = True) -> list[str]:
    """What is wrong with one parsed line (empty when it is a valid question)."""
    if not isinstance(raw, dict):
        return ["a question must be a JSON object"]
    if not isinstance(raw.get("question"), str) or not raw["question"].strip():
        return ['no "question" text']
    out = []
    kind = raw.get("type", "fact")
    if kind not in KINDS:
        out.append(f'"type" {kind!r} is not one of {", ".join(KINDS)}')
    for name in ("gold", "facts", "history"):
        if not isinstance(raw.get(name, []), list):
            out.append(f'"{name}" must be a list')
    if out:
        return out
    answerable = raw.get("answerable", kind in ANSWERABLE_KINDS)
    if not isinstance(answerable, bool):
        out.append('"answerable" must be true or false')
    if answerable and not raw.get("gold"):
        out.append('an answerable question needs "gold" papers')
    if (
        check_facts
        and kind in PER_PAPER_KINDS
        and len(raw.get("facts", [])) != len(raw.get("gold", []))
    ):
        out.append(f'"{kind}" questions list one fact per gold paper, in the order of "gold"')
    needed = raw.get("min_papers")
    if needed is not None and not (
        isinstance(needed, int) and 1 <= needed <= len(raw.get("gold", []))
    ):
        out.append('"min_papers" must be a whole number from 1 to the number of gold papers')
    for turn in raw.get("history", []):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            out.append('"history" turns look like {"role": "user"|"assistant", "content": ...}')
            break
    if check_facts and not out:
        from eval.grading import asked_text, fact_options

        context = asked_text(raw["question"], raw.get("history", []))
        for fact in raw.get("facts", []):
            if not fact_options(str(fact), context):
                out.append(f"fact {fact!r} is already in the question or its history, so no "
                           "answer can be credited for it")  # fmt: skip
    if kind == "yesno" and raw.get("label") not in ("yes", "no"):
        out.append('a "yesno" question needs "label": "yes" or "no"')
    return out


def load_questions(
    path: Path, papers: list[Paper], split: str = "", check_facts: bool = True
) -> list[EvalQuestion]:
    """Read, check and resolve a question file; a bad line raises a one-line error.

    ``check_facts=False`` accepts facts the question already holds and multi-paper
    questions without one fact per paper: an old question file re-scored by the old
    grader, which allowed both.
    """
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, raw in iter_jsonl(read_text(path), str(path)):
        where = f"{path}:{number}"
        problems = _problems(raw, check_facts)
        if problems:
            raise RagError(f"{where}: {'; '.join(problems)} (format: eval/README.md)")
        qid = str(raw.get("id", number))
        if qid in seen:
            raise RagError(f"{where}: id {qid!r} is used twice; ids must be unique")
        seen.add(qid)
        kind = raw.get("type", "fact")
        try:
            gold = [resolve_gold(g, papers) for g in raw.get("gold", [])]
        except RagError as exc:
            raise RagError(f"{where}: {exc}") from None
        questions.append(
            EvalQuestion(
                id=qid,
                type=kind,
                question=raw["question"],
                answerable=bool(raw.get("answerable", kind in ANSWERABLE_KINDS)),
                gold=gold,
                reference=raw.get("reference", ""),
                facts=[str(f) for f in raw.get("facts", [])],
                history=list(raw.get("history", [])),
                label=raw.get("label"),
                min_papers=raw.get("min_papers"),
                split=split,
            )
        )
    return questions


def split_path(split: str) -> Path:
    """The project's question file for ``split`` (dev or test)."""
    if split not in SPLITS:
        raise RagError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return QUESTIONS_DIR / f"{split}.jsonl"
