"""Is an answer correct? Two graders, kept side by side so a grader change can re-score an
old run under both (eval/README.md, "Graders").

``v1`` is the grader of the first sessions: every ``facts`` string somewhere in the shown
answer, at least one citation, every citation a gold paper. It was lax in four ways that
``v2`` closes:

- a fact that already occurs in the question counted (an answer echoing the question
  passed); in ``v2`` an option of a fact that the question (or its chat history)
  contains is not accepted;
- numbers matched inside other numbers and names ("8" in "18" or "8B"); ``v2`` matches a
  number only on number boundaries;
- text the product adds by rule (a cited paper's title) could hold the fact; ``v2`` looks
  only at the model-written part (``model_answer`` in the record);
- multi-paper questions had no facts (citing any one gold paper passed); in ``v2`` they list
  one fact per gold paper, and a correct answer cites ``papers_needed`` gold papers, each
  with its fact, and no other paper.

``v2`` also grades yes/no questions (the answer opens with the label's word) and false
premises (declining is right; answering is right only with the correcting fact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from eval.dataset import PER_PAPER_KINDS, EvalQuestion
from rag.markers import MARKER
from rag.terms import spelled_to_digits

# The rule-added naming suffix of records written before ``model_answer`` existed.
_NAMING_SUFFIX = re.compile(r'\s+Papers?: ".*\.\s*$', re.DOTALL)


def strip_markers(text: str) -> str:
    """The text without [n] citation markers (the project's one pattern, ``rag.markers``;
    only the markers go, the spaces around them stay, as they did in v1)."""
    return MARKER.sub("", text)


def normalise_v1(text: str) -> str:
    """v1's normalisation, frozen: lower case, no markers, spelled-out numbers as digits,
    no thousands separators."""
    text = spelled_to_digits(strip_markers(text).lower())
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_PERCENT = re.compile(r"\s*(?:%|\bper ?cent\b)")


def normalise(text: str) -> str:
    """v1's normalisation, plus: every dash is "-", "40 percent" and "40 %" are "40%",
    runs of white space are one space."""
    text = _DASHES.sub("-", normalise_v1(text))
    text = _PERCENT.sub("%", text)
    return re.sub(r"\s+", " ", text).strip()


def model_text(record: dict) -> str:
    """The part of the answer the model wrote (rule-added text removed)."""
    if "model_answer" in record:
        return record["model_answer"] or ""
    return _NAMING_SUFFIX.sub("", record.get("answer", ""))


def _pattern(option: str) -> re.Pattern:
    """``option`` as a regex that matches a number only as a whole number."""
    body = re.escape(option)
    if option[:1].isdigit():
        # "8" not inside "18", "v8", "8.8" or the name "GPT-8" ("8-10" still has an 8).
        body = r"(?<![\w.])(?<![a-z]-)" + body
    if option[-1:].isdigit():
        body += r"(?![\w]|[.,]\d)"  # "8" not the start of "8B", "8.5" or "8,000"
    elif option[-1:].isalpha():
        body += r"(?![a-z0-9])"  # "bert" not in "berts" or "bert2"
    if option[:1].isalpha():
        body = r"(?<![a-z0-9])" + body
    return re.compile(body)


def contains(text: str, option: str) -> bool:
    """Does normalised ``text`` contain ``option`` (normalised), on word/number boundaries?"""
    option = normalise(option.strip())
    return bool(option) and bool(_pattern(option).search(normalise(text)))


def fact_options(fact: str, question: str) -> list[str]:
    """The ways of stating ``fact`` that count: its "A|B" options the question lacks."""
    return [o.strip() for o in fact.split("|") if o.strip() and not contains(question, o)]


def has_fact(text: str, fact: str, question: str) -> bool:
    """``text`` states ``fact`` in a way the question did not already give away."""
    return any(contains(text, option) for option in fact_options(fact, question))


def says_label(text: str, label: str) -> bool:
    """A yes/no answer that opens with the label's word ("Yes, ..." / "No: ...")."""
    first = re.match(r"\W*(\w+)", normalise(text))
    return bool(first) and first.group(1) == label


@dataclass
class Grade:
    """One question's verdict, with what went wrong."""

    correct: bool
    answered: bool
    missing: list[str] = field(default_factory=list)  # facts not stated
    wrong_citations: list[str] = field(default_factory=list)  # cited non-gold doc ids
    paper_recall: float | None = None  # multi-paper kinds: gold papers cited / gold papers
    paper_precision: float | None = None  # cited papers that are gold / cited papers
    problem: str = ""  # the grader's reason, grouped in the report


def _cited(record: dict) -> list[str]:
    return list(dict.fromkeys(c["doc_id"] for c in record.get("citations", [])))


def paper_shares(question: EvalQuestion, record: dict) -> tuple[float, float]:
    """(gold papers cited / gold papers, cited papers that are gold / cited papers)."""
    return _shares(question.gold, [] if record.get("abstained", True) else _cited(record))


def _shares(gold: list[str], cited: list[str]) -> tuple[float, float]:
    gold_cited = [d for d in gold if d in cited]
    recall = len(gold_cited) / len(gold) if gold else 0.0
    return recall, (len(gold_cited) / len(cited) if cited else 0.0)


def _declined(abstained: bool) -> Grade:
    """An unanswerable question: right when the answer was withheld (both graders)."""
    return Grade(correct=abstained, answered=not abstained,
                 problem="" if abstained else "answered an unanswerable question")  # fmt: skip


def grade_v1(question: EvalQuestion, record: dict) -> Grade:
    """The first sessions' grader (module docstring): kept to re-score old runs."""
    abstained = record.get("abstained", True)
    if not question.answerable:
        return _declined(abstained)
    if abstained:
        return Grade(correct=False, answered=False, problem="abstained")
    answer = normalise_v1(record["answer"])
    missing = [
        f for f in question.facts
        if not any(normalise_v1(o.strip()) in answer for o in f.split("|"))
    ]  # fmt: skip
    cited = _cited(record)
    wrong = [d for d in cited if d not in question.gold]
    problem = "no citation" if not cited else "cited a non-gold paper" if wrong else ""
    problem = problem or ("missing fact" if missing else "")
    return Grade(correct=not problem, answered=True, missing=missing, wrong_citations=wrong,
                 problem=problem)  # fmt: skip


def grade_v2(question: EvalQuestion, record: dict) -> Grade:
    """The stricter grader (module docstring)."""
    abstained = record.get("abstained", True)
    if not question.answerable:
        return _declined(abstained)
    if abstained:
        # Declining a false premise is right: the sources do not hold what it assumes.
        ok = question.type == "false_premise"
        return Grade(correct=ok, answered=False, problem="" if ok else "abstained")
    text = model_text(record)
    cited = _cited(record)
    wrong = [d for d in cited if d not in question.gold]
    grade = Grade(correct=False, answered=True, wrong_citations=wrong)
    if question.type in PER_PAPER_KINDS:
        return _grade_per_paper(question, text, cited, grade)
    given = asked_text(question.question, question.history)
    grade.missing = [f for f in question.facts if not has_fact(text, f, given)]
    wrong_label = (
        question.type == "yesno" and bool(question.label) and not says_label(text, question.label)
    )
    if not cited:
        grade.problem = "no citation"
    elif wrong:
        grade.problem = "cited a non-gold paper"
    elif wrong_label:
        grade.problem = "yes/no not the label's"
    elif grade.missing:
        grade.problem = "missing fact"
    grade.correct = not grade.problem
    return grade


def asked_text(question: str, history: list[dict]) -> str:
    """What the user already said or was told: the question and the chat history."""
    return " ".join([question, *(str(turn.get("content", "")) for turn in history)])


def _grade_per_paper(question: EvalQuestion, text: str, cited: list[str], grade: Grade) -> Grade:
    grade.paper_recall, grade.paper_precision = _shares(question.gold, cited)
    given = asked_text(question.question, question.history)
    covered = 0
    for doc_id, fact in zip(question.gold, question.facts, strict=False):
        if doc_id in cited and has_fact(text, fact, given):
            covered += 1
        else:
            grade.missing.append(fact)
    if not cited:
        grade.problem = "no citation"
    elif grade.wrong_citations:
        grade.problem = "cited a non-gold paper"
    elif covered < question.papers_needed:
        grade.problem = f"covered {covered} of the {question.papers_needed} gold papers needed"
    grade.correct = not grade.problem
    return grade


GRADERS = {"v1": grade_v1, "v2": grade_v2}
DEFAULT_GRADER = "v2"
