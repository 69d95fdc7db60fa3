"""Abstention signals: retrieval floor, refusals, grounding of the draft."""

from __future__ import annotations

from rag.abstain import grounding, is_refusal, relevance
from rag.retrieve import HybridRetriever, Source
from rag.settings import Settings

MEGATRON = Source(
    1, "d1", "Megatron-Turing NLG 530B", "As the result of a joint effort between Microsoft and "
    "NVIDIA, we present MT-NLG, with 530 billion parameters.", 0.03, 0.6, 8.0, "",
)  # fmt: skip


def test_off_topic_question_is_below_the_floor_and_on_topic_above(
    corpus_settings: Settings,
) -> None:
    retriever = HybridRetriever(corpus_settings)
    floor = corpus_settings.min_relevance
    for question in ("What is the capital of Australia?", "How do I bake sourdough bread?"):
        assert relevance(question, retriever.search(question)[0]) < floor
    for question in ("What is DCIS?", "How many parameters does Megatron-Turing NLG have?"):
        assert relevance(question, retriever.search(question)[0]) >= floor


def test_invented_number_is_caught() -> None:
    check = grounding("It was trained on 4480 A100 GPUs [1].", "How many GPUs?", [MEGATRON])
    assert check.missing_numbers == ["100", "4480"]
    assert check.problem


def test_supported_answer_passes() -> None:
    check = grounding(
        "Microsoft and NVIDIA built it; it has 530 billion parameters [1].",
        "Who built Megatron-Turing NLG?",
        [MEGATRON],
    )
    assert check.problem is None and check.score == 1.0


def test_restating_the_question_or_missing_quantity_is_not_an_answer() -> None:
    echo = grounding("Megatron-Turing NLG was trained with GPUs [1].",
                     "How many GPUs trained Megatron-Turing NLG?", [MEGATRON])  # fmt: skip
    assert echo.adds_nothing or echo.lacks_number
    assert echo.problem


def test_refusal_phrases() -> None:
    assert is_refusal("The sources do not say.")
    assert is_refusal("The provided sources do not contain that information.")
    assert not is_refusal("MT-NLG has 530 billion parameters [1].")
