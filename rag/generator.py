"""A local causal LM (transformers) that streams its answer token by token.

The fixed part of every prompt (instructions + worked examples) is run through the model
once and its KV cache reused, so each question only pays prefill for its own sources:
on a 2-core CPU prefill dominates time-to-first-token.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from rag.embedding import pick_device
from rag.quantize import load_int8
from rag.settings import Settings
from rag.weights import prepare_generator


@dataclass
class GenerationStats:
    """Token counts of one generation, and how sure the model was (filled as it runs)."""

    prompt_tokens: int = 0
    cached_prefix_tokens: int = 0
    new_tokens: int = 0
    answer_logprob: float | None = None  # mean log-probability of the tokens it wrote
    alternative_logprob: float | None = None  # same for the alternative reply, if asked


class Generator:
    """Loads one generator and streams chat completions from it."""

    def __init__(self, settings: Settings) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.settings = settings
        self.device = pick_device(settings.device)
        if self.device == "cpu":
            torch.set_num_threads(os.cpu_count() or 1)
        path = prepare_generator(settings.generator, settings.model_cache_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        if self.device == "cpu" and settings.cpu_weights == "int8":
            self.model = load_int8(path)
        else:
            # fp32 on CPU: this class of CPU has no fast bf16; fp16 on CUDA halves memory.
            dtype = torch.float16 if self.device == "cuda" else torch.float32
            self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
            self.model = self.model.to(self.device).eval()
        self._prefix_key: tuple[int, ...] | None = None
        self._prefix_cache = None
        self._lock = threading.Lock()  # one generation at a time per model instance

    def _chat_ids(
        self, messages: list[dict], add_generation_prompt: bool, reply_prefix: str | None = None
    ) -> list[int]:
        if reply_prefix:
            # The reply is started for the model (a title and its marker); it continues it.
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

    def _cached_prefix(self, prefix: list[int]):
        import torch
        from transformers import DynamicCache

        key = tuple(prefix)
        if self._prefix_key != key:
            cache = DynamicCache()
            with torch.no_grad():
                self.model(
                    torch.tensor([prefix], device=self.device),
                    past_key_values=cache,
                    use_cache=True,
                )
            self._prefix_key, self._prefix_cache = key, cache
        return copy.deepcopy(self._prefix_cache)

    def _prefix_for(self, ids: list[int], prefix_messages: list[dict] | None) -> tuple:
        """(a copy of the fixed prefix's KV cache, its length) when ``ids`` start with that
        prefix, else (None, 0)."""
        if not prefix_messages:
            return None, 0
        prefix = self._chat_ids(prefix_messages, add_generation_prompt=False)
        # Only reuse the cache when the template really renders the prefix identically.
        if ids[: len(prefix)] == prefix and len(prefix) < len(ids):
            return self._cached_prefix(prefix), len(prefix)
        return None, 0

    def warm_up(self, prefix_messages: list[dict]) -> None:
        """Compute the fixed prefix's KV cache now rather than on the first question."""
        with self._lock:
            self._cached_prefix(self._chat_ids(prefix_messages, add_generation_prompt=False))

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
        the model gives that reply, to compare with its own: one short extra forward pass.
        ``reply_prefix``: the start of the reply, written for the model (not yielded);
        ``one_line``: stop at the end of the first line.
        """
        import torch
        from transformers import TextIteratorStreamer

        stats = stats or GenerationStats()
        ids = self._chat_ids(messages, add_generation_prompt=True, reply_prefix=reply_prefix)
        stats.prompt_tokens = len(ids)
        kwargs: dict = {}
        cache, cached = self._prefix_for(ids, prefix_messages)
        if cache is not None:
            kwargs["past_key_values"] = cache
            stats.cached_prefix_tokens = cached
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        input_ids = torch.tensor([ids], device=self.device)
        generate_kwargs = dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens or self.settings.replies.max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            streamer=streamer,
            pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            return_dict_in_generate=True,
            output_scores=True,
            **kwargs,
        )
        if one_line:
            generate_kwargs.update(stop_strings=["\n"], tokenizer=self.tokenizer)
        result: dict = {}

        def run() -> None:
            try:
                with torch.no_grad():
                    out = self.model.generate(**generate_kwargs)
                    new = out.sequences[0, input_ids.shape[1] :]
                    result["new_tokens"] = int(new.shape[0])
                    result["answer_logprob"] = _mean_logprob(out.scores, new)
                    if alternative:
                        result["alternative_logprob"] = self._reply_logprob(
                            out, input_ids.shape[1], alternative
                        )
            except BaseException as exc:  # surfaced in the caller's thread below
                result["error"] = exc
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            yield from streamer
            worker.join()
        if "error" in result:
            raise result["error"]
        stats.new_tokens = result.get("new_tokens", 0)
        stats.answer_logprob = result.get("answer_logprob")
        stats.alternative_logprob = result.get("alternative_logprob")

    def option_logprobs(
        self,
        messages: list[dict],
        options: list[str],
        prefix_messages: list[dict] | None = None,
        reply_prefix: str | None = None,
    ) -> list[float]:
        """Total log-probability of each of ``options`` as the reply (or as the rest of
        ``reply_prefix``), nothing sampled: one pass over the prompt, plus one short pass
        for each option longer than a token.

        For jobs narrower than writing: a yes/no verdict is read from these numbers
        (``rag.pipeline.Assistant._verdict``), not from whatever the model writes.
        """
        import torch
        from transformers import DynamicCache

        ids = self._chat_ids(messages, add_generation_prompt=True, reply_prefix=reply_prefix)
        scores: list[float] = []
        with self._lock, torch.no_grad():
            cache, start = self._prefix_for(ids, prefix_messages)
            cache = cache if cache is not None else DynamicCache()
            prompt = torch.tensor([ids[start:]], device=self.device)
            out = self.model(prompt, past_key_values=cache, use_cache=True)
            last = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            for option in options:
                tokens = self.tokenizer(option, add_special_tokens=False)["input_ids"]
                total = float(last[tokens[0]])
                if len(tokens) > 1:
                    tail = torch.tensor([tokens[:-1]], device=self.device)
                    logits = self.model(tail, past_key_values=cache, use_cache=True).logits[0]
                    cache.crop(-(len(tokens) - 1))  # back to the prompt for the next option
                    rest = torch.log_softmax(logits.float(), dim=-1)
                    picked = rest[torch.arange(len(tokens) - 1), torch.tensor(tokens[1:])]
                    total += float(picked.sum())
                scores.append(total)
        return scores

    def _reply_logprob(self, out, prompt_len: int, reply: str) -> float:
        """Mean log-probability of ``reply`` right after the prompt, reusing the KV cache."""
        import torch

        ids = self.tokenizer(reply, add_special_tokens=False)["input_ids"]
        cache = out.past_key_values
        extra = cache.get_seq_length() - prompt_len
        if extra > 0:
            cache.crop(-extra)  # forget the generated answer, keep the prompt
        first = torch.log_softmax(out.scores[0][0].float(), dim=-1)[ids[0]]
        logits = self.model(
            torch.tensor([ids[:-1]], device=self.device), past_key_values=cache, use_cache=True
        ).logits[0]
        rest = torch.log_softmax(logits.float(), dim=-1)
        rest = rest[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
        return float(torch.cat([first.reshape(1), rest]).mean())


def _mean_logprob(scores, tokens) -> float | None:
    """Mean log-probability of the chosen tokens under the step logits."""
    import torch

    if len(scores) == 0:
        return None
    steps = torch.stack([s[0] for s in scores]).float()
    logprobs = torch.log_softmax(steps, dim=-1)
    picked = logprobs[torch.arange(len(tokens)), tokens[: len(scores)]]
    return float(picked.mean())
