"""The llama.cpp engine against the transformers one, and the automatic choice between them,
on the real small model (SmolLM2-135M: the same GGUF runs in both engines)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.engine_llamacpp import available, load_cpu_backends
from rag.generator import GenerationStats, load_generator
from rag.pipeline import Assistant
from rag.prompt import JOBS, build_messages, prefix_messages
from rag.settings import Settings
from rag.types import Shape
from tests.conftest import SMALL_GENERATOR, make_settings

if not available():
    if os.environ.get("RAG_REQUIRE_LLAMACPP"):
        pytest.fail("llama-cpp-python is required here (set-up builds it)", pytrace=False)
    pytest.skip("llama-cpp-python is not installed (bash setup.sh builds it)",
                allow_module_level=True)  # fmt: skip

SOURCE = "[1] Quill\nQuill lowers word error rate by 12% with sparse adapters."


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both engines on the small model; transformers in fp32 (the exact reference)."""
    settings = make_settings(tmp_path_factory.mktemp("engines"), generator=SMALL_GENERATOR)
    return {
        "llama.cpp": load_generator(settings.model_copy(update={"generator_engine": "llama.cpp"})),
        "transformers": load_generator(settings.model_copy(
            update={"generator_engine": "transformers", "cpu_weights": "fp32"})),
    }  # fmt: skip


def test_engines_share_tokens_and_agree_on_option_scores(engines: dict) -> None:
    llama, torch_engine = engines["llama.cpp"], engines["transformers"]
    messages = build_messages("Does Quill lower word error rate?", SOURCE, JOBS[Shape.YESNO])
    assert llama.chat_ids(messages, True) == torch_engine.chat_ids(messages, True)
    options = ["Yes", "No", "The abstracts do not settle it"]
    ours = llama.option_logprobs(messages, options, prefix_messages())
    reference = torch_engine.option_logprobs(messages, options, prefix_messages())
    # Same Q4 weights; llama.cpp multiplies with 8-bit activations, transformers in fp32.
    assert ours == pytest.approx(reference, abs=0.5)
    assert ours.index(max(ours)) == reference.index(max(reference))
    # Scoring leaves nothing behind: the same call gives the same numbers, and a cleared
    # context gives the first call's again. (The first call evaluates the prompt and the
    # options in one batch, later ones only the options: llama.cpp's AVX-512 kernels
    # round activations per batch shape, so cold and warm differ in the second decimal.)
    warm = llama.option_logprobs(messages, options, prefix_messages())
    assert warm == pytest.approx(ours, abs=0.1)
    assert llama.option_logprobs(messages, options, prefix_messages()) == warm
    llama._evaluated = []
    llama.llm.reset()
    assert llama.option_logprobs(messages, options, prefix_messages()) == ours


def test_llama_cpp_runs_the_widest_instructions_this_cpu_has(engines: dict) -> None:
    """set-up's one build holds a CPU backend per x86-64 level; the loaded one must match
    the CPU (the portable AVX2 build left AVX-512 unused: prefill 1.7x slower there)."""
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    features = load_cpu_backends()
    assert engines["llama.cpp"].cpu_features == features
    assert ("AVX2 = 1" in features) == ("avx2" in flags)
    assert ("AVX512 = 1" in features) == ("avx512f" in flags)


def test_cached_prefix_gives_the_tokens_of_a_cold_context(engines: dict) -> None:
    llama = engines["llama.cpp"]
    messages = build_messages("What does Quill lower?", SOURCE, JOBS[Shape.FACT])
    llama.warm_up(prefix_messages())
    stats = GenerationStats()
    warm = "".join(llama.stream(messages, prefix_messages(), 16, stats=stats))
    assert stats.cached_prefix_tokens > 0 and stats.new_tokens > 0
    assert stats.answer_logprob is not None and stats.answer_logprob <= 0
    # Something else in the context first: only the shared start may be reused.
    other = build_messages("Which paper is about cooking?", SOURCE, JOBS[Shape.FACT])
    "".join(llama.stream(other, None, 8))
    assert "".join(llama.stream(messages, None, 16)) == warm


def test_stream_reports_the_alternative_and_stops_at_the_line_end(engines: dict) -> None:
    llama = engines["llama.cpp"]
    messages = build_messages("List two facts about Quill, one per line.", SOURCE,
                              JOBS[Shape.FACT])  # fmt: skip
    stats = GenerationStats()
    text = "".join(llama.stream(messages, prefix_messages(), 40, stats=stats,
                                alternative="The sources do not say.", one_line=True))  # fmt: skip
    assert text.count("\n") <= 1 and (not text.count("\n") or text.endswith("\n"))
    assert stats.alternative_logprob is not None and stats.alternative_logprob < 0
    started = "".join(llama.stream(messages, prefix_messages(), 8, reply_prefix="Quill"))
    assert not started.startswith("Quill")  # the prefix is the model's start, not yielded


def test_the_whole_pipeline_runs_on_llama_cpp(corpus_settings: Settings) -> None:
    settings = corpus_settings.model_copy(update={"generator_engine": "llama.cpp"})
    assistant = Assistant(settings)
    answer = assistant.ask("What is BERT pre-trained on?")
    assert assistant.generator.engine == "llama.cpp"
    assert answer.sources and (answer.abstained or answer.answer)


def test_auto_calibrates_once_per_machine_and_a_named_engine_wins(tmp_path) -> None:
    from rag.engine_choice import (
        CHOICE_FILE,
        calibration,
        format_calibration,
        machine_key,
        pick_engine,
    )

    settings = Settings.load(model_cache_dir=tmp_path, generator=SMALL_GENERATOR)
    # The calibration loads real weights: share the set-up's cache by linking its files in.
    shared = Settings.load().model_cache_dir / SMALL_GENERATOR
    (tmp_path / SMALL_GENERATOR).symlink_to(shared, target_is_directory=True)
    result = calibration(settings)
    assert result["choice"] in ("llama.cpp", "transformers")
    for row in result["engines"].values():
        assert row["prefill_tok_s"] > 0 and row["decode_tok_s"] > 0 and row["prompt_tokens"] > 50
    assert (
        min(result["engines"], key=lambda e: result["engines"][e]["answer_s"]) == result["choice"]
    )
    saved = json.loads((tmp_path / CHOICE_FILE).read_text())
    assert saved[machine_key(settings)] == result
    assert pick_engine(settings) == result["choice"]  # read back, not measured again
    assert "(chosen)" in format_calibration(result)
    named = settings.model_copy(update={"generator_engine": "transformers"})
    assert pick_engine(named) == "transformers"
