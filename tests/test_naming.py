"""Answers to "which paper ...?" name the papers they cite."""

from __future__ import annotations

from rag.citations import check_citations
from rag.naming import asks_for_paper, name_cited_papers, names_paper
from rag.retrieve import Source

HFT = Source(1, "d1", "HFT: Half Fine-Tuning for Large Language Models",
             "We freeze half of the parameters in each round.", 0.03, 0.7, 5.0, "")  # fmt: skip
UNTITLED = Source(2, "d2", "Although dominant in natural language processing, transformer-based",
                  "Although dominant in natural language processing ...", 0.02, 0.5, None, "",
                  title_is_derived=True)  # fmt: skip


def test_which_paper_questions_are_recognised() -> None:
    asking = ("Which paper freezes half of the weights?", "Is there work on unlearning?",
              "What benchmark tests Chinese LLMs?", "Which papers detect neurons?")  # fmt: skip
    for question in asking:
        assert asks_for_paper(question), question
    for question in ("How many layers does it have?", "What is PASER?", "Who built it?"):
        assert not asks_for_paper(question), question


def test_title_acronym_or_name_part_counts_as_naming() -> None:
    assert names_paper("HFT freezes half of the weights [1].", HFT.title)
    assert names_paper("Half Fine-Tuning for Large Language Models does it.", HFT.title)
    assert not names_paper("Yes, there is work on freezing half of LLMs [1].", HFT.title)


def test_unnamed_cited_paper_gets_its_title_and_a_named_one_does_not() -> None:
    question = "Which paper freezes half of the weights during fine-tuning?"
    checked = check_citations("Yes, one paper freezes half of the weights [1].", [HFT])
    named = name_cited_papers(checked.text, question, checked.citations, [HFT])
    assert named.endswith('Paper: "HFT: Half Fine-Tuning for Large Language Models" [1].')
    checked = check_citations("HFT freezes half of the weights [1].", [HFT])
    assert name_cited_papers(checked.text, question, checked.citations, [HFT]) == checked.text


def test_derived_titles_and_other_questions_are_left_alone() -> None:
    checked = check_citations("It splits long inputs into chunks [2].", [HFT, UNTITLED])
    text = name_cited_papers(checked.text, "Which paper reads long inputs?", checked.citations,
                             [HFT, UNTITLED])  # fmt: skip
    assert text == checked.text
    checked = check_citations("It freezes half of them [1].", [HFT])
    assert name_cited_papers(checked.text, "How many weights are frozen?", checked.citations,
                             [HFT]) == checked.text  # fmt: skip
