"""The llama.cpp engine: the shipped GGUF run as it is, through llama-cpp-python.

No dequantized copy, no int8 rebuild: the Q4 weights (a 1.1 GB file for the 1.5B model)
are read as they are, so the model loads in about 3 s and the app needs about half the
transformers engine's memory. set-up builds llama-cpp-python from source with one CPU
backend per x86-64 level, the best one for this CPU loaded at run time
(:func:`load_cpu_backends`; no ``-march=native``, which crashed on an AVX-512 machine).

Written on llama-cpp-python's low-level calls (``Llama.eval`` and the last row of logits)
rather than its ``create_completion``: greedy decoding, the pipeline's token ids (the same
Hugging Face tokenizer and chat template as the transformers engine), log-probabilities of
chosen tokens and of given options, and reuse of the KV cache for whatever the next
prompt shares with the tokens already evaluated: the fixed prompt prefix, and the prompt
itself when options are scored after it. ``create_completion`` tokenizes by itself and
returns log-probabilities only with ``logits_all``, which keeps a vocabulary-wide row of
logits for every prompt token (151,936 floats each).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import numpy as np

from rag.errors import RagError
from rag.generator import ChatGenerator, GenerationStats, Request
from rag.settings import Settings
from rag.weights import prepare_gguf, prepare_tokenizer

INSTALL_HINT = (
    "llama-cpp-python is not installed (set-up builds it; it needs a C++ compiler and cmake); "
    "rerun bash setup.sh, or set RAG_GENERATOR_ENGINE=transformers"
)


def available() -> bool:
    """Whether llama-cpp-python can be imported here."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


_backends_lock = threading.Lock()
_backends_loaded = False


def load_cpu_backends() -> str:
    """Load llama.cpp's CPU backend when set-up built it for runtime CPU dispatch; returns
    the instruction sets it uses (``llama_print_system_info``), for benchmarks.

    set-up builds one CPU backend per x86-64 level (``GGML_BACKEND_DL`` with
    ``GGML_CPU_ALL_VARIANTS``: libggml-cpu-haswell.so, -skylakex, -zen4, ...) so that one
    build uses AVX-512 where the CPU has it and AVX2 where not (prefill was 1.7x faster on
    an AVX-512 EPYC than the AVX2 build: bench/README.md). llama.cpp then loads no backend
    by itself, and llama-cpp-python does not expose ggml's loader (its issue #2069), so it
    is called here through ctypes, once per process; ggml scores the variants and keeps
    the best one this CPU runs. A plain build has its CPU backend linked in: nothing to do.
    """
    global _backends_loaded
    import ctypes
    from pathlib import Path

    import llama_cpp
    from llama_cpp import llama_cpp as bindings

    with _backends_lock:
        lib = Path(bindings._base_path)
        # A wheel cannot hold the build's bin/ folder inside the package: pip puts it
        # beside it, in site-packages/bin.
        folders = [f for f in (lib, Path(llama_cpp.__file__).parent.parent / "bin")
                   if any(f.glob("libggml-cpu-*.so"))]  # fmt: skip
        if folders and not _backends_loaded:
            # ggml's log goes through llama-cpp-python's callback, which prints every
            # line until a Llama(verbose=False) quiets it: quiet it for the loader too.
            from llama_cpp._logger import set_verbose

            set_verbose(False)
            # By the soname libllama links to: a wheel holds copies, not links, of
            # libggml.so*, and another copy would be a second, empty backend registry.
            ggml = ctypes.CDLL(str(lib / "libggml.so.0"))
            ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
            ggml.ggml_backend_load_all_from_path(str(folders[0]).encode())
            _backends_loaded = True
    return llama_cpp.llama_print_system_info().decode().strip()


class LlamaCppGenerator(ChatGenerator):
    """One GGUF model in a llama.cpp context; one generation at a time."""

    engine = "llama.cpp"

    def __init__(self, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise RagError(INSTALL_HINT) from None
        super().__init__(settings, prepare_tokenizer(settings.generator, settings.model_cache_dir))
        path = prepare_gguf(settings.generator, settings.model_cache_dir)
        self.cpu_features = load_cpu_backends()
        threads = os.cpu_count() or 1
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=settings.llama_context,
                n_batch=512,
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=False,
                # Read, not memory-mapped: llama.cpp repacks most Q4 weights into a faster
                # layout anyway, and a mapping kept the file's pages resident beside the
                # repacked copy (2.35 GB against 1.63 GB after load, same speed).
                use_mmap=False,
                verbose=False,
            )
        except Exception as exc:
            raise RagError(
                f"llama.cpp cannot load {path} ({exc}); set RAG_GENERATOR_ENGINE=transformers"
            ) from None
        self._vocab = self.llm.n_vocab()
        self._evaluated: list[int] = []  # the tokens whose KV the context holds, in order
        self._lock = threading.Lock()

    # -- the context -------------------------------------------------------------------

    def _last_logits(self) -> np.ndarray:
        row = self.llm._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(row, shape=(self._vocab,)).astype(np.float32)

    def _evaluate(self, ids: list[int]) -> np.ndarray:
        """Make the context hold exactly ``ids``; return the logits after the last one.

        Only what differs from the tokens already evaluated is run: at least the last token
        (its logits are needed), and llama.cpp drops the cached positions after the common
        part itself (``Llama.eval`` clears the KV cache from ``n_tokens`` on).
        """
        if len(ids) > self.settings.llama_context:
            raise RagError(
                f"the prompt is {len(ids)} tokens, over the llama.cpp context of "
                f"{self.settings.llama_context}; raise RAG_LLAMA_CONTEXT or send less context"
            )
        common = self._cached_count(ids)
        self.llm.n_tokens = common
        self._evaluated = self._evaluated[:common]
        self.llm.eval(ids[common:])
        self._evaluated = list(ids)
        return self._last_logits()

    def _cached_count(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` the context already holds, leaving at least the
        last one to evaluate (its logits are needed)."""
        count = 0
        limit = min(len(self._evaluated), len(ids) - 1)
        while count < limit and self._evaluated[count] == ids[count]:
            count += 1
        return count

    def warm_up(self, prefix_messages: list[dict]) -> None:
        """Evaluate the fixed prefix now: every later prompt starts with it."""
        with self._lock:
            self._evaluate(self.chat_ids(prefix_messages, add_generation_prompt=False))

    # -- generation --------------------------------------------------------------------

    def _decode(self, request: Request, stats: GenerationStats) -> Iterator[str]:
        """Token by token: argmax of the last logits, decoded text yielded as it grows.

        The KV cache is shared by prefix matching (:meth:`_evaluate`), so ``request.prefix``
        only tells how much of the prompt counts as the cached fixed prefix."""
        from llama_cpp import llama_cpp as low

        ids = request.ids
        with self._lock:
            if request.prefix:
                stats.cached_prefix_tokens = self._cached_count(ids)
            logits = first = self._evaluate(ids)
            new: list[int] = []
            chosen: list[float] = []
            shown = ""
            while len(new) < request.max_new_tokens:
                token = int(np.argmax(logits))
                if low.llama_vocab_is_eog(self.llm._model.vocab, token):
                    break
                new.append(token)
                chosen.append(float(_log_softmax(logits)[token]))
                text = self.tokenizer.decode(new, skip_special_tokens=True)
                # A character split over tokens decodes as U+FFFD until it is complete.
                if not text.endswith("\ufffd") and len(text) > len(shown):
                    piece, shown = text[len(shown) :], text
                    yield piece
                    if request.one_line and "\n" in piece:
                        break
                logits = self._evaluate(ids + new)
            stats.new_tokens = len(new)
            stats.answer_logprob = float(np.mean(chosen)) if chosen else None
            if request.alternative:
                total = self._continuation_logprob(ids, first, request.alternative)
                stats.alternative_logprob = total / len(request.alternative)

    def _continuation_logprob(self, ids: list[int], first: np.ndarray, tokens: list[int]) -> float:
        """Total log-probability of ``tokens`` right after ``ids`` (``first``: the logits
        after ``ids``; the context must hold ``ids``). Leaves the context holding ``ids``
        plus some of ``tokens``."""
        total = float(_log_softmax(first)[tokens[0]])
        rows = self._logits_after_each(ids, tokens[:-1]) if len(tokens) > 1 else []
        for row, token in zip(rows, tokens[1:], strict=True):
            total += float(_log_softmax(row)[token])
        return total

    def _logits_after_each(self, ids: list[int], more: list[int]) -> np.ndarray:
        """The logits after each token of ``more``, evaluated after ``ids`` in batches.

        ``Llama.eval`` keeps only the last position's logits (``logits_all=False``, which
        generation wants); scoring a question-long reply one token at a time ran at
        decoding speed, a prefill's batch is several times faster. So this drives the
        batch itself, asking llama.cpp for every position's logits."""
        llm = self.llm
        if self._evaluated[: len(ids)] != ids:
            self._evaluate(ids)
        llm.n_tokens = len(ids)
        self._evaluated = list(ids)
        llm._ctx.kv_cache_seq_rm(-1, len(ids), -1)
        rows = []
        for start in range(0, len(more), llm.n_batch):
            batch = more[start : start + llm.n_batch]
            llm._batch.set_batch(batch=batch, n_past=llm.n_tokens, logits_all=True)
            llm._ctx.decode(llm._batch)
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(batch) * self._vocab,))
            rows.append(logits.reshape(len(batch), self._vocab).astype(np.float32))
            llm.input_ids[llm.n_tokens : llm.n_tokens + len(batch)] = batch
            llm.n_tokens += len(batch)
            self._evaluated.extend(batch)
        return np.concatenate(rows)

    def _score(self, ids: list[int], prefix: list[int], options: list[list[int]]) -> list[float]:
        """The prompt evaluated once (past what the context already holds), each option's
        tokens after it in one batch (``_logits_after_each``; the private batch and context
        objects are those of the pinned llama-cpp-python 0.3.36, as elsewhere here)."""
        with self._lock:
            first = self._evaluate(ids)
            return [self._continuation_logprob(ids, first, tokens) for tokens in options]
