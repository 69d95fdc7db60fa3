"""A local causal LM that streams its answer token by token, on one of two engines.

- ``transformers`` (``rag.engine_torch``): PyTorch; int8 weights on a CPU, fp16 on CUDA.
- ``llama.cpp`` (``rag.engine_llamacpp``): the shipped GGUF run as it is by llama-cpp-python
  (built at set-up); loads in seconds and needs a third of the memory.
- ``auto`` (``settings.generator_engine``, the default): CUDA takes transformers; a CPU
  takes the engine that a short calibration found faster on this machine
  (``rag.engine_choice``), since neither wins on every CPU.

Both engines read the same chat template and token ids (the Hugging Face tokenizer built
from the GGUF), decode greedily, keep the fixed prompt prefix's KV cache between
questions, and score options by log-probability: the pipeline cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rag.errors import RagError
from rag.settings import Settings

ENGINES = ("transformers", "llama.cpp")


@dataclass
class GenerationStats:
    """Token counts of one generation, and how sure the model was (filled as it runs)."""

    prompt_tokens: int = 0
    cached_prefix_tokens: int = 0
    new_tokens: int = 0
    answer_logprob: float | None = None  # mean log-probability of the tokens it wrote
    alternative_logprob: float | None = None  # same for the alternative reply, if asked


@dataclass
class Request:
    """One generation, as an engine receives it: token ids, nothing left to template."""

    ids: list[int]  # the whole prompt
    prefix: list[int]  # its fixed start whose KV cache is kept ([] when there is none)
    max_new_tokens: int
    alternative: list[int]  # a reply to score beside the model's own ([] for none)
    one_line: bool = False


class ChatGenerator:
    """What every engine offers: chat-templated prompts in, text pieces and scores out."""

    engine: str = ""

    def __init__(self, settings: Settings, tokenizer) -> None:
        self.settings = settings
        self.tokenizer = tokenizer

    def chat_ids(
        self, messages: list[dict], add_generation_prompt: bool, reply_prefix: str | None = None
    ) -> list[int]:
        """Token ids of ``messages`` in the model's chat template.

        ``reply_prefix``: the reply is started for the model (e.g. "Yes:"); it continues it.
        """
        if reply_prefix:
            ids = self.tokenizer.apply_chat_template(
                [*messages, {"role": "assistant", "content": reply_prefix}],
                continue_final_message=True,
                tokenize=True,
            )
        else:
            ids = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=add_generation_prompt, tokenize=True
            )
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        return list(ids)

    def prefix_ids(self, ids: list[int], prefix_messages: list[dict] | None) -> list[int]:
        """The fixed prefix's ids when ``ids`` start with them (and go on), else []."""
        if not prefix_messages:
            return []
        prefix = self.chat_ids(prefix_messages, add_generation_prompt=False)
        # Only reuse a cache when the template really renders the prefix identically.
        if ids[: len(prefix)] == prefix and len(prefix) < len(ids):
            return prefix
        return []

    def option_tokens(self, option: str) -> list[int]:
        """Token ids of ``option`` written as (the start of) a reply."""
        return self.tokenizer(option, add_special_tokens=False)["input_ids"]

    def warm_up(self, prefix_messages: list[dict]) -> None:
        """Compute the fixed prefix's KV cache now rather than on the first question."""
        raise NotImplementedError

    def stream(
        self,
        messages: list[dict],
        prefix_messages: list[dict] | None = None,
        max_new_tokens: int | None = None,
        stats: GenerationStats | None = None,
        alternative: str | None = None,
        reply_prefix: str | None = None,
        one_line: bool = False,
    ) -> Iterator[str]:
        """Yield text pieces of the assistant's reply to ``messages`` (greedy decoding).

        ``prefix_messages`` must be the leading messages of ``messages`` that never change
        (system prompt, examples); their KV cache is computed once and reused.
        With ``alternative`` (e.g. a refusal), ``stats`` also gets the mean log-probability
        the model gives that reply, to compare with its own.
        ``reply_prefix``: the start of the reply, written for the model (not yielded);
        ``one_line``: stop at the end of the first line.
        """
        stats = stats or GenerationStats()
        ids = self.chat_ids(messages, add_generation_prompt=True, reply_prefix=reply_prefix)
        stats.prompt_tokens = len(ids)
        yield from self._decode(
            Request(
                ids=ids,
                prefix=self.prefix_ids(ids, prefix_messages),
                max_new_tokens=max_new_tokens or self.settings.replies.max_new_tokens,
                alternative=self.option_tokens(alternative) if alternative else [],
                one_line=one_line,
            ),
            stats,
        )

    def option_logprobs(
        self,
        messages: list[dict],
        options: list[str],
        prefix_messages: list[dict] | None = None,
        reply_prefix: str | None = None,
    ) -> list[float]:
        """Total log-probability of each of ``options`` as the reply (or as the rest of
        ``reply_prefix``), nothing sampled.

        For jobs narrower than writing: a yes/no verdict is read from these numbers
        (``rag.pipeline.Assistant._verdict``), not from whatever the model writes.
        """
        ids = self.chat_ids(messages, add_generation_prompt=True, reply_prefix=reply_prefix)
        prefix = self.prefix_ids(ids, prefix_messages)
        return self._score(ids, prefix, [self.option_tokens(option) for option in options])

    # -- what an engine implements ------------------------------------------------------

    def _decode(self, request: Request, stats: GenerationStats) -> Iterator[str]:
        """Greedy decoding of ``request``; fills ``stats`` (new tokens, log-probabilities)."""
        raise NotImplementedError

    def _score(self, ids: list[int], prefix: list[int], options: list[list[int]]) -> list[float]:
        """Total log-probability of each token sequence in ``options`` right after ``ids``."""
        raise NotImplementedError


def load_generator(settings: Settings) -> ChatGenerator:
    """The generator ``settings`` ask for, on the engine they ask for (or the chosen one)."""
    from rag.engine_choice import pick_engine

    engine = pick_engine(settings)
    if engine == "llama.cpp":
        from rag.engine_llamacpp import LlamaCppGenerator

        return LlamaCppGenerator(settings)
    if engine == "transformers":
        from rag.engine_torch import TransformersGenerator

        return TransformersGenerator(settings)
    raise RagError(f"unknown generator engine '{engine}'; choose auto, {', '.join(ENGINES)}")
