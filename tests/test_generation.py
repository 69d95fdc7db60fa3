"""The generator and the whole pipeline with a real (small) model: SmolLM2-135M."""

from __future__ import annotations

import pytest

from rag.engine_torch import TransformersGenerator
from rag.errors import RagError
from rag.generator import GenerationStats
from rag.pipeline import ABSTAIN_TEXT, Assistant
from rag.prompt import JOBS, build_messages, prefix_messages
from rag.quantize import load_int8
from rag.types import Shape
from rag.weights import prepare_gguf
from tests.conftest import SMALL_GENERATOR


def test_prefix_cache_gives_the_same_tokens_as_a_full_prefill(assistant: Assistant) -> None:
    # fp32: int8 activations are scaled per forward pass, so splitting the prompt in two
    # passes changes the rounding; exact equality is a check of the cache logic only.
    generator = TransformersGenerator(assistant.settings.model_copy(update={"cpu_weights": "fp32"}))
    source = "[1] BERT\nBERT pre-trains deep bidirectional representations from unlabeled text."
    messages = build_messages("What does BERT pre-train?", source, JOBS[Shape.FACT])
    cached_stats = GenerationStats()
    cached = "".join(generator.stream(messages, prefix_messages(), 16, stats=cached_stats))
    plain = "".join(generator.stream(messages, None, 16))
    assert cached_stats.cached_prefix_tokens > 0
    assert cached == plain


def test_options_are_scored_as_the_reply_a_full_forward_pass_would_give(
    assistant: Assistant,
) -> None:
    import torch

    generator = TransformersGenerator(assistant.settings.model_copy(update={"cpu_weights": "fp32"}))
    source = "[1] Quill\nQuill lowers word error rate by 12% with sparse adapters."
    messages = build_messages("Does Quill lower word error rate?", source, JOBS[Shape.YESNO])
    # Two options longer than a token, one after the other: the second is scored from the
    # prompt alone only if the first one's tokens were cropped from the cache.
    options = ["The abstracts do not settle it", "Not at all", "Yes", "No"]
    cached = generator.option_logprobs(messages, options, prefix_messages())
    prompt = generator.chat_ids(messages, add_generation_prompt=True)
    expected = []
    for option in options:
        tokens = generator.tokenizer(option, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = generator.model(torch.tensor([prompt + tokens])).logits[0].float()
        steps = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
        expected.append(float(steps[torch.arange(len(tokens)), torch.tensor(tokens)].sum()))
    assert cached == pytest.approx(expected, abs=1e-3)
    assert all(score < 0 for score in cached)
    # The prefix cache is not changed by scoring: the same call gives the same numbers.
    assert generator.option_logprobs(messages, options, prefix_messages()) == pytest.approx(cached)


def test_cpu_generation_uses_int8_weights_built_once(assistant: Assistant) -> None:
    import torch

    model = assistant.generator.model
    quantized = [m for m in model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert quantized and not any(type(m) is torch.nn.Linear for m in model.modules())
    cached = list((assistant.settings.model_cache_dir / "smollm2-135m").glob("int8-*.pt"))
    assert len(cached) == 1
    built = cached[0].stat().st_mtime_ns
    load_int8(cached[0].parent / "hf", prepare_gguf(SMALL_GENERATOR, cached[0].parent.parent))
    assert cached[0].stat().st_mtime_ns == built  # loaded, not quantized again


def test_model_rates_its_answer_and_the_refusal(assistant: Assistant) -> None:
    source = "[1] BERT\nBERT pre-trains deep bidirectional representations from unlabeled text."
    stats = GenerationStats()
    messages = build_messages("What does BERT pre-train?", source, JOBS[Shape.FACT])
    text = "".join(
        assistant.generator.stream(
            messages, prefix_messages(), 12, stats=stats, alternative="The sources do not say.",
        )
    )  # fmt: skip
    assert text and stats.new_tokens > 0
    assert stats.answer_logprob is not None and stats.answer_logprob <= 0
    assert stats.alternative_logprob is not None and stats.alternative_logprob < 0


def test_answer_streams_tokens_then_a_checked_answer(assistant: Assistant) -> None:
    events = list(assistant.stream("How many parameters does Megatron-Turing NLG have?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert kinds.count("token") >= 2
    answer = events[-1].answer
    assert answer.sources and answer.sources[0].rank == 1
    assert answer.draft == "".join(e.text for e in events if e.kind == "token").strip()
    ranks = {s.rank for s in answer.sources}
    assert all(c.n in ranks for c in answer.citations)
    assert answer.abstained or answer.answer
    t = answer.timings
    assert 0 < t["first_token_s"] <= t["total_s"] and t["retrieve_s"] > 0


def test_off_topic_question_abstains_without_generating(assistant: Assistant) -> None:
    answer = assistant.ask("What is the capital of Australia?")
    assert answer.abstained and answer.answer == ABSTAIN_TEXT
    assert answer.timings["generate_s"] == 0.0
    assert answer.sources  # what was found is still shown


@pytest.mark.parametrize("question", ["", "   \n  "])
def test_empty_question_is_a_user_error(assistant: Assistant, question: str) -> None:
    with pytest.raises(RagError, match="empty question"):
        assistant.ask(question)


def test_overlong_question_is_cut_with_a_note(assistant: Assistant) -> None:
    long = "What is DCIS? " + "padding " * 400
    answer = assistant.ask(long[:10_000])
    assert len(answer.question) == assistant.settings.max_question_chars
    assert any("cut" in note for note in answer.notes)


def test_the_answerable_check_asks_the_real_model(assistant: Assistant) -> None:
    """The check's question goes to the loaded generator and comes back as a finite lead."""
    from rag.checks.answerable import AnswerableCheck
    from rag.prompt import build_messages
    from rag.types import Draft, Shape
    from tests.made_up import source

    quill = source(0, 1)
    question = "Which optimizer does Quill use?"
    block = f"[1] {quill.title}\n{quill.text}"
    d = Draft(question, question, Shape.FACT, [quill], "Quill adds sparse adapters [1].")
    d.yes_lead = lambda job: assistant._yes_lead(build_messages(question, block, job))
    assert AnswerableCheck(-1000.0)(d) is None
    lead = d.signals["answerable_lead"]
    assert -50 < lead < 50
    verdict = AnswerableCheck(lead + 0.01)(d)
    assert verdict and verdict.check == "answerable"
