"""The stricter grader (eval/grading.py), rule by rule, on made-up papers and answers."""

from __future__ import annotations

import pytest

from eval.dataset import EvalQuestion
from eval.grading import contains, grade_v1, grade_v2, has_fact, model_text, says_label


def _record(answer: str, cited: list[str], model_answer: str | None = None) -> dict:
    record = {
        "answer": answer,
        "abstained": False,
        "citations": [{"n": i, "doc_id": d, "title": d} for i, d in enumerate(cited, 1)],
    }
    if model_answer is not None:
        record["model_answer"] = model_answer
    return record


def _question(kind: str = "fact", gold=("quill",), facts=(), question="", **extra) -> EvalQuestion:
    return EvalQuestion(
        id="t1",
        type=kind,
        question=question or "How many layers does the Quill encoder stack?",
        answerable=kind not in ("offtopic", "nearmiss"),
        gold=list(gold),
        facts=list(facts),
        **extra,
    )


def test_a_fact_the_question_already_holds_does_not_count() -> None:
    q = _question(question="What is OrbitNet-CT?", facts=["OrbitNet|orbital"])
    echo = _record("OrbitNet-CT is an OrbitNet variant [1].", ["quill"])
    assert grade_v1(q, echo).correct  # the old grader let the echo pass
    assert not grade_v2(q, echo).correct
    right = _record("It models orbital transfer for continual training [1].", ["quill"])
    assert grade_v2(q, right).correct  # the option the question lacks still counts


def test_numbers_match_only_on_number_boundaries() -> None:
    assert contains("It has 8 layers.", "8")
    for inside in ("The Quill-8B model.", "It has 18 layers.", "It has 8.5 layers.", "v8 wins"):
        assert not contains(inside, "8"), inside
    assert contains("It is an 8B model.", "8B") and not contains("an 18B model", "8B")
    assert not contains("Quill-4 wins.", "4")  # a number inside a name is not a quantity
    assert contains("8-10 layers", "8") and contains("8–10 layers", "8-10")  # any dash
    assert contains("a 40 percent drop", "40%") and contains("a 40 % drop", "40%")
    assert contains("about 12,000 abstracts", "12000")  # thousands separators ignored
    assert contains("twelve layers", "12")  # spelled-out numbers are numbers
    assert contains("a 40% drop", "40%") and not contains("a 140% rise", "40%")
    q = _question(facts=["8"])
    assert grade_v1(q, _record("Quill-8B stacks layers [1].", ["quill"])).correct
    assert not grade_v2(q, _record("Quill-8B stacks layers [1].", ["quill"])).correct
    assert grade_v2(q, _record("Quill stacks 8 layers [1].", ["quill"])).correct


def test_words_match_whole_words() -> None:
    assert contains("It uses the Quill tokenizer.", "quill")
    assert not contains("It uses quills.", "quill")


def test_rule_added_text_is_not_the_models() -> None:
    q = _question(
        question="Which paper teaches a parrot to count?", facts=["Counting Parrots|ParrotCount"]
    )
    shown = 'Yes, one paper does this [1]. Paper: "Counting Parrots at Scale" [1].'
    record = _record(shown, ["quill"], model_answer="Yes, one paper does this [1].")
    assert grade_v1(q, record).correct  # the title appended by rule satisfied the old grader
    grade = grade_v2(q, record)
    assert not grade.correct and grade.missing == ["Counting Parrots|ParrotCount"]
    # Records saved before model_answer existed: the naming suffix is cut by its pattern.
    assert model_text({"answer": shown}) == "Yes, one paper does this [1]."


def test_multi_paper_answers_need_a_fact_per_gold_paper() -> None:
    q = _question(
        "multi",
        gold=["quill", "harrow", "spindle"],
        facts=["Quill", "Harrow", "Spindle"],
        question="Which papers compress embedding tables, and how do they differ?",
    )
    one = _record("Quill hashes rows [1].", ["quill"])
    assert grade_v1(q, one).correct is False  # v1 wanted every fact of the file
    grade = grade_v2(q, one)
    assert not grade.correct and grade.paper_recall == pytest.approx(1 / 3)
    two = _record("Quill hashes rows [1]; Harrow prunes them [2].", ["quill", "harrow"])
    grade = grade_v2(q, two)
    assert grade.correct and grade.paper_recall == pytest.approx(2 / 3)
    assert grade.paper_precision == 1.0
    cited_without_fact = _record("Quill hashes rows [1]; another prunes [2].", ["quill", "harrow"])
    assert not grade_v2(q, cited_without_fact).correct
    stray = _record(
        "Quill hashes [1]; Harrow prunes [2]; Loom too [3].", ["quill", "harrow", "loom"]
    )
    grade = grade_v2(q, stray)
    assert not grade.correct and grade.paper_precision == pytest.approx(2 / 3)


def test_a_comparison_needs_both_papers() -> None:
    q = _question("comparison", gold=["quill", "harrow"], facts=["hashing", "pruning"],
                  question="How do Quill and Harrow differ?")  # fmt: skip
    assert q.papers_needed == 2
    one = _record("Quill relies on hashing [1].", ["quill"])
    assert not grade_v2(q, one).correct
    both = _record("Quill relies on hashing [1], Harrow on pruning [2].", ["quill", "harrow"])
    assert grade_v2(q, both).correct


def test_yes_no_answers_open_with_the_label() -> None:
    q = _question("yesno", facts=["3%"], label="no",
                  question="Does Quill improve recall on the parrot benchmark?")  # fmt: skip
    assert says_label("No: recall fell by 3% [1].", "no")
    assert not says_label("Yes, recall fell by 3% [1].", "no")
    assert grade_v2(q, _record("No. Recall fell by 3% [1].", ["quill"])).correct
    assert not grade_v2(q, _record("Yes, recall changed by 3% [1].", ["quill"])).correct


def test_false_premise_declined_or_corrected() -> None:
    q = _question("false_premise", facts=["12"],
                  question="Why does Quill use 40 layers?")  # fmt: skip
    assert grade_v2(q, {"abstained": True, "answer": "", "citations": []}).correct
    assert grade_v2(q, _record("Quill uses 12 layers, not 40 [1].", ["quill"])).correct
    assert not grade_v2(q, _record("Because deeper is better [1].", ["quill"])).correct


def test_citations_and_abstentions() -> None:
    q = _question(facts=["12"])
    assert grade_v2(q, _record("Quill stacks 12 layers.", [])).problem == "no citation"
    wrong = grade_v2(q, _record("Quill stacks 12 layers [1].", ["loom"]))
    assert wrong.problem == "cited a non-gold paper" and wrong.wrong_citations == ["loom"]
    declined = {"abstained": True, "answer": "", "citations": []}
    assert grade_v2(q, declined).problem == "abstained"
    off = _question("offtopic", gold=())
    assert grade_v2(off, declined).correct
    assert not grade_v2(off, _record("Paris [1].", ["loom"])).correct


def test_has_fact_options() -> None:
    assert has_fact("It uses Half Tuning.", "Half Tuning|HT", "What is HT?")
    assert not has_fact("HT is a method.", "Half Tuning|HT", "What is HT?")
