"""The transformers engine: int8 weights on a CPU (``rag.quantize``), fp16 on CUDA.

The fixed part of every prompt (instructions + worked examples) is run through the model
once and its KV cache reused, so each question only pays prefill for its own sources:
on a 2-core CPU prefill dominates time-to-first-token.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator

from rag.embedding import pick_device
from rag.generator import ChatGenerator, GenerationStats, Request
from rag.quantize import load_int8
from rag.settings import Settings
from rag.weights import prepare_generator, prepare_gguf


class TransformersGenerator(ChatGenerator):
    """One generator on PyTorch, streaming through transformers' ``generate``."""

    engine = "transformers"

    def __init__(self, settings: Settings) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.device = pick_device(settings.device)
        if self.device == "cpu":
            torch.set_num_threads(os.cpu_count() or 1)
        int8 = self.device == "cpu" and settings.cpu_weights == "int8"
        cache = settings.model_cache_dir
        path = prepare_generator(settings.generator, cache, weights=not int8)
        super().__init__(settings, AutoTokenizer.from_pretrained(str(path)))
        if int8:
            self.model = load_int8(path, prepare_gguf(settings.generator, cache))
        else:
            # fp32 on CPU: this class of CPU has no fast bf16; fp16 on CUDA halves memory.
            dtype = torch.float16 if self.device == "cuda" else torch.float32
            self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
            self.model = self.model.to(self.device).eval()
        self._prefix_key: tuple[int, ...] | None = None
        self._prefix_cache = None
        self._lock = threading.Lock()  # one generation at a time per model instance

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

    def _prefix_for(self, prefix: list[int]) -> tuple:
        """(a copy of the fixed prefix's KV cache, its length), or (None, 0) without one."""
        if not prefix:
            return None, 0
        return self._cached_prefix(prefix), len(prefix)

    def warm_up(self, prefix_messages: list[dict]) -> None:
        """Compute the fixed prefix's KV cache now rather than on the first question."""
        with self._lock:
            self._cached_prefix(self.chat_ids(prefix_messages, add_generation_prompt=False))

    def _decode(self, request: Request, stats: GenerationStats) -> Iterator[str]:
        """transformers' ``generate`` in a thread, feeding a streamer that this yields from."""
        import torch
        from transformers import TextIteratorStreamer

        ids = request.ids
        kwargs: dict = {}
        cache, cached = self._prefix_for(request.prefix)
        if cache is not None:
            kwargs["past_key_values"] = cache
            stats.cached_prefix_tokens = cached
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        input_ids = torch.tensor([ids], device=self.device)
        generate_kwargs = dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=request.max_new_tokens,
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
        if request.one_line:
            generate_kwargs.update(stop_strings=["\n"], tokenizer=self.tokenizer)
        result: dict = {}

        def run() -> None:
            try:
                with torch.no_grad():
                    out = self.model.generate(**generate_kwargs)
                    new = out.sequences[0, input_ids.shape[1] :]
                    result["new_tokens"] = int(new.shape[0])
                    result["answer_logprob"] = _mean_logprob(out.scores, new)
                    if request.alternative:
                        result["alternative_logprob"] = self._reply_logprob(
                            out, input_ids.shape[1], request.alternative
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

    def _score(self, ids: list[int], prefix: list[int], options: list[list[int]]) -> list[float]:
        """One pass over the prompt, plus one short pass for each option longer than a
        token (cropped from the cache again before the next option)."""
        import torch
        from transformers import DynamicCache

        scores: list[float] = []
        with self._lock, torch.no_grad():
            cache, start = self._prefix_for(prefix)
            cache = cache if cache is not None else DynamicCache()
            prompt = torch.tensor([ids[start:]], device=self.device)
            out = self.model(prompt, past_key_values=cache, use_cache=True)
            last = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            for tokens in options:
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

    def _reply_logprob(self, out, prompt_len: int, ids: list[int]) -> float:
        """Mean log-probability of the reply ``ids`` right after the prompt, reusing the KV
        cache."""
        import torch

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
