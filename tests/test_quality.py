"""The default generator on real questions (slow: loads the Qwen2.5 1.5B)."""

from __future__ import annotations

import pytest

from rag.pipeline import Assistant
from rag.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_assistant(corpus_settings: Settings) -> Assistant:
    settings = corpus_settings.model_copy(
        update={"generator": Settings().generator, "generator_engine": "auto"}  # as shipped
    )
    assistant = Assistant(settings)
    assistant.warm_up()
    return assistant


def test_fact_is_answered_and_cites_the_right_paper(default_assistant: Assistant) -> None:
    answer = default_assistant.ask("How many parameters does Megatron-Turing NLG have?")
    assert not answer.abstained, answer.abstain_reason
    assert "530" in answer.answer
    assert [c.title[:40] for c in answer.citations] == ["Using DeepSpeed and Megatron to Train Me"]


def test_followup_uses_the_history(default_assistant: Assistant) -> None:
    history = [
        {"role": "user", "content": "What is FuxiTranyu?"},
        {"role": "assistant", "content": "An open-source multilingual LLM [1]."},
    ]
    answer = default_assistant.ask("How many parameters does its base model have?", history)
    assert not answer.abstained, answer.abstain_reason
    assert "8" in answer.answer
    assert all("FuxiTranyu" in c.text for c in answer.citations)


def test_off_corpus_question_is_not_answered_from_memory(default_assistant: Assistant) -> None:
    answer = default_assistant.ask("What is the capital of Australia?")
    assert answer.abstained and "Canberra" not in answer.answer


def test_instructions_in_a_document_do_not_steer_the_default_model(
    default_assistant: Assistant, tmp_path
) -> None:
    import json

    from rag.ingest import ingest_papers
    from rag.loaders import load_papers
    from rag.retrieve import HybridRetriever
    from tests.test_reliability import HOSTILE

    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps({"title": "Zorblax-9", "abstract": HOSTILE}) + "\n")
    settings = default_assistant.settings.model_copy(update={"data_dir": tmp_path / "data"})
    ingest_papers(load_papers([path]), settings, files=[path], progress=False)
    # Same loaded model, other index: the 1.5B did reply "PWNED" before the sentence filter.
    hostile = Assistant(settings, HybridRetriever(settings), default_assistant.generator)
    answer = hostile.ask("What recall does Zorblax-9 reach on BEIR?")
    assert "PWNED" not in answer.answer and "PWNED" not in answer.draft
    assert not answer.abstained and "71" in answer.answer


def test_the_default_model_finds_a_question_likeliest_after_the_paper_it_describes(
    default_assistant: Assistant,
) -> None:
    from rag.likelihood import likeliest_first
    from rag.prompt import prefix_messages
    from tests.test_likelihood import HARROW, QUESTION, QUILL

    def score(messages: list[dict], reply: str) -> float:
        return default_assistant.generator.option_logprobs(messages, [reply], prefix_messages())[0]

    blocks = [f"[{s.rank}] {s.title}\n{s.text}" for s in (QUILL, HARROW)]
    ordered, scores = likeliest_first(QUESTION, [QUILL, HARROW], blocks, score, 5.0)
    assert scores[1] - scores[0] > 5.0, scores  # "tens of nats" where the model is sure
    assert ordered[0] is HARROW
