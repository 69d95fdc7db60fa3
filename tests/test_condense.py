"""Follow-up questions borrow the previous turn; new topics do not."""

from __future__ import annotations

from rag.condense import condense_question, followup_note, is_followup
from rag.retrieve import HybridRetriever
from rag.settings import Settings

HISTORY = [
    {"role": "user", "content": "What is FuxiTranyu?"},
    {"role": "assistant", "content": "An open-source multilingual LLM [1]."},
]


def test_followup_detection() -> None:
    assert is_followup("How big is its corpus?")
    assert is_followup("Which models did the authors compare against?")
    assert not is_followup("What is DataComp-LM?")


def test_condensed_query_carries_previous_topic() -> None:
    query = condense_question("How many parameters does its base model have?", HISTORY)
    assert "FuxiTranyu" in query and "[1]" not in query
    assert condense_question("What is DataComp-LM?", HISTORY) == "What is DataComp-LM?"
    assert followup_note("How big is its corpus?", HISTORY) == "follow-up to: What is FuxiTranyu?"


def test_followup_retrieves_the_paper_of_the_previous_turn(corpus_settings: Settings) -> None:
    retriever = HybridRetriever(corpus_settings)
    query = condense_question("How many parameters does its base model have?", HISTORY)
    assert "FuxiTranyu" in retriever.search(query)[0].text
