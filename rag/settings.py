"""All configuration in one typed object.

Precedence: CLI flags > environment variables (``RAG_<FIELD>``) > defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from rag.errors import RagError

ENV_PREFIX = "RAG_"


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


class Settings(BaseModel):
    """Every tunable of the assistant. Field names map to env vars ``RAG_<NAME>``."""

    # where things live
    data_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "rag-assistant",
        description="Folder holding the Chroma index and the keyword index.",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "rag-assistant",
        description="Folder for the generator weights, dequantized once from GGUF.",
    )
    collection: str = "abstracts"
    chroma_host: str | None = Field(
        default=None, description="Chroma server host; unset means embedded Chroma in data_dir."
    )
    chroma_port: int = 8000

    # chunking / embedding
    chunk_size: int = Field(
        default=256, description="Chunk size in embedder tokens, title included."
    )
    chunk_overlap: int = 32
    embed_batch_size: int = 32
    device: Literal["auto", "cpu", "cuda"] = "auto"
    cpu_weights: Literal["int8", "fp32"] = Field(
        default="int8",
        description="Generator weights on CPU: int8 decodes ~7x faster than fp32 "
        "(see rag/quantize.py); fp32 is the exact reference. CUDA always uses fp16.",
    )

    # retrieval
    top_k: int = Field(default=5, ge=1, le=50, description="Sources returned per question.")
    candidate_k: int = Field(default=20, ge=1, description="Hits taken from each retriever.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant.")
    hybrid: bool = Field(default=True, description="Fuse BM25 with dense; false = dense only.")

    # generation
    generator: str = Field(default="qwen2.5-1.5b", description="Key in rag.weights.GENERATORS.")
    context_sources: int = Field(
        default=3, ge=1, le=10, description="At most this many top sources go to the model."
    )
    context_margin: float = Field(
        default=0.15,
        ge=0,
        description="A source past the first goes to the model only if "
        "its relevance is within this of the first's (one clear winner: less to misread).",
    )
    context_sentences: int = Field(
        default=4,
        ge=1,
        description="Question-relevant sentences shown, shared by the sources (at least one "
        "each; the best source gets the remainder).",
    )
    max_new_tokens: int = Field(default=48, ge=8)
    condense_followups: bool = True

    # abstention (calibrated by eval/calibrate_abstention.py; see eval/README.md)
    min_relevance: float = Field(
        default=0.30, description="Below this top dense cosine, abstain without generating."
    )
    min_grounding: float = Field(
        default=0.5, description="Share of the answer's key terms that must occur in its sources."
    )
    min_answer_margin: float = Field(
        default=0.5,
        description="The model's mean log-prob of its answer must beat that of the refusal by "
        "this much, else the assistant abstains (the model's own signal).",
    )

    # web UI (ui/app.py)
    ui_host: str = Field(default="127.0.0.1", description="Address the UI listens on.")
    ui_port: int = 7860
    ui_auth: str | None = Field(
        default=None, description="USER:PASSWORD; required when ui_host is not loopback."
    )

    # guards
    max_question_chars: int = 2000
    max_upload_mb: int = Field(
        default=50, ge=1, description="Largest file of abstracts the UI accepts (MB)."
    )

    @field_validator("generator")
    @classmethod
    def _known_generator(cls, value: str) -> str:
        from rag.weights import GENERATORS

        if value not in GENERATORS:
            raise ValueError(f"unknown generator; choose one of {', '.join(GENERATORS)}")
        return value

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings from env vars, then apply explicit (non-None) overrides."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            env = os.environ.get(ENV_PREFIX + name.upper())
            if env is not None and env != "":
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise RagError(
                f"invalid setting {field}={first.get('input')!r}: {first['msg']} "
                f"(check {ENV_PREFIX}{field.upper()} or the matching CLI flag)"
            ) from None

    @property
    def chunking_key(self) -> str:
        """Names the chunk settings a paper was split with (stored, compared on re-ingest)."""
        return f"{self.chunk_size}/{self.chunk_overlap}"

    @property
    def chroma_dir(self) -> Path:
        """Embedded Chroma folder."""
        return self.data_dir / "chroma"

    @property
    def keyword_dir(self) -> Path:
        """Persisted BM25 index folder (per collection)."""
        return self.data_dir / "bm25" / self.collection
