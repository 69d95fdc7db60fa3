"""Numbers in answers: spelled-out numbers, and whether a number measures what was asked.

Run on the shipped abstracts and the evaluation's reference answers: the check must let
every right answer through and stop the near-miss answers the model gave in evaluation.
"""

from __future__ import annotations

import pytest

from eval.dataset import DEFAULT_QUESTIONS, load_questions
from rag.checks.grounding import GroundingCheck, NumbersCheck
from rag.checks.quantities import asked_unit, quantity_problem
from rag.loaders import load_default_corpus
from rag.shapes import question_shape
from rag.terms import numbers_in, quantities_in, spelled_to_digits
from rag.types import LINE_SHAPES, Draft, Shape, Source
from tests.conftest import ROOT

BASELINE_QUESTIONS = ROOT / "eval" / "results" / "baseline" / "questions.jsonl"


@pytest.fixture(scope="module")
def papers():
    return load_default_corpus()


def _source(papers, title_start: str, rank: int = 1) -> Source:
    paper = next(p for p in papers if p.title.startswith(title_start))
    return Source(rank, paper.doc_id, paper.title, paper.text, 1.0, 0.6, None, "")


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("Two hundred and twelve Mallas", "212 Mallas"),
        ("twenty-five tasks", "25 tasks"),
        ("three million users", "3 million users"),
        ("millions of users", "millions of users"),
        ("one hundred thousand", "100 thousand"),
    ],
)
def test_spelled_numbers_become_digits(text: str, digits: str) -> None:
    assert spelled_to_digits(text) == digits


def test_numbers_in_names_are_not_quantities() -> None:
    assert numbers_in("Llama2-7b has four layers") == {"2", "7", "4"}
    assert quantities_in("Llama2-7b has four layers and 2.6T tokens") == {"4", "2.6"}


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("How many GPU hours of finetuning did it take?", "hours"),
        ("How many real-world Mallas were studied?", "mallas"),
        ("How many languages does MMTEB cover?", "languages"),
        ("What was the training cost in dollars of the model?", "dollars"),
        ("How much faster is GeDi?", None),
        # The phrase runs on past a verb: the counted noun is its first plural word.
        ("How many Quill papers made it into the final set?", "papers"),
        ("How many people took part in the Harrow study?", "people"),
        ("What is the context length of GPT-4?", None),
    ],
)
def test_asked_unit(question: str, unit: str | None) -> None:
    assert asked_unit(question) == unit


def test_a_number_stated_about_something_else_is_caught(papers) -> None:
    codegen = _source(papers, "CodeGen2")
    dclm = _source(papers, "DataComp-LM")
    assert quantity_problem(
        "The CodeGen2 prefix-LM has four layers [1].",
        "How many layers does the CodeGen2 prefix-LM have?",
        [codegen],
    )
    assert quantity_problem(
        "The training cost of the DCLM-Baseline model was 2.6T tokens [1].",
        "What was the training cost in dollars of the DCLM-Baseline model?",
        [dclm],
    )
    lhmke = next(p for p in papers if "10,465 questions" in p.text)
    assert quantity_problem(
        "The context length of GPT-4 is 10,465 questions [1].",
        "What is the context length of GPT-4?",
        [Source(1, lhmke.doc_id, lhmke.title, lhmke.text, 1.0, 0.4, None, "")],
    )


def test_spelled_out_right_number_is_grounded(papers) -> None:
    malla = next(p for p in papers if "212 real-world Mallas" in p.text)
    source = Source(1, malla.doc_id, malla.title, malla.text, 1.0, 0.8, None, "")
    question = "How many real-world Mallas were studied in the paper on malicious LLM services?"
    draft = Draft(question, question, Shape.FACT, [source],
                  "Two hundred and twelve Mallas were studied [1].")  # fmt: skip
    assert NumbersCheck()(draft) is None
    assert GroundingCheck(0.5)(draft) is None
    assert draft.signals["grounding"] == 1.0  # number words are not "new words"


def _reference_problems(papers, path) -> list[tuple[str, str]]:
    by_id = {p.doc_id: p for p in papers}
    failed = []
    for q in load_questions(path, papers, check_facts=False):
        if not q.answerable or not q.gold or question_shape(q.question) in LINE_SHAPES:
            continue  # a line reply (one line per paper) is not checked for quantities
        gold = [by_id[d] for d in q.gold]
        sources = [Source(i, p.doc_id, p.title, p.text, 1.0, 0.6, None, "")
                   for i, p in enumerate(gold, start=1)]  # fmt: skip
        history = " ".join(turn["content"] for turn in q.history)
        problem = quantity_problem(q.reference, q.question, sources, f"{q.question} {history}")
        if problem:
            failed.append((q.id, problem))
    return failed


def test_every_reference_answer_passes_the_quantity_check(papers) -> None:
    """The questions the check was written against (the first sessions' set)."""
    assert not _reference_problems(papers, BASELINE_QUESTIONS)


@pytest.mark.xfail(strict=True, reason="the word rules alone fail a grounded dev reference "
                   "answer whose source counts the asked unit in another word (papers / "
                   "publications); QuantityCheck then asks the model")  # fmt: skip
def test_new_dev_reference_answers_pass_the_quantity_check(papers) -> None:
    """On questions written after the word rules, they fail right answers: why the check
    asks the model over the number's sentences when they do (strict: a rule that matched
    such units turns this red)."""
    assert not _reference_problems(papers, DEFAULT_QUESTIONS)


def test_unit_inside_a_hyphenated_word_counts(papers) -> None:
    potter = _source(papers, "Who's Harry Potter")
    question = "How many GPU hours did pretraining Llama2-7b take?"
    assert quantity_problem("It took 184K GPU-hours [1].", question, [potter]) is None
