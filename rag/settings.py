"""All configuration in one typed object.

Precedence: CLI flags > environment variables (``RAG_<FIELD>``) > defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator

from rag.errors import RagError

ENV_PREFIX = "RAG_"


class ContextSettings(BaseModel):
    """Which retrieved papers the model reads, and how much of each (``rag.selection``).

    Floors and margins are on the relevance score of ``rag.selection.relevance`` (dense
    cosine plus a bonus for the question's words the paper contains), calibrated on the
    dev split (eval/results/README.md).
    """

    min_relevance: float = Field(
        default=0.30, description="Below this top relevance, abstain without generating."
    )
    min_sentence_relevance: float | None = Field(
        default=0.37,
        description="Below this top relevance measured by the best paper's closest sentence "
        "(rag.selection.sentence_relevance), abstain without generating; used instead of "
        "min_relevance for every shape but existence and a comparison of named papers, "
        "when sentences were scored. None ('none' in env vars and flags): min_relevance "
        "decides.",
    )
    min_relevance_existence: float = Field(
        default=0.47,
        description="The floor for 'is there work on / which paper' questions: only "
        "retrieval vouches that a paper answers them, so it must be surer.",
    )
    context_sources: int = Field(
        default=5, ge=1, le=10, description="At most this many top sources go to the model."
    )
    context_margin: float = Field(
        default=0.25,
        ge=0,
        description="A source past the first is shown only if its relevance is within this "
        "of the first's.",
    )
    context_sentences: int = Field(
        default=12,
        ge=1,
        description="Sentences shown over all sources: each source's first sentence (what "
        "the paper is about), then its sentences closest to the question.",
    )
    context_words: int | None = Field(
        default=300,
        ge=1,
        description="Most words of source sentences a free reply's model reads: past it, the "
        "chosen sentences least like the question are left out (each source keeps its "
        "first and its closest). Prefill is the first token's wait on a CPU. Dev's 122 "
        "free-reply questions, side by side: no cap 98 correct, first token p95 6.2 s; 300: "
        "97, 5.3 s; 220: 92, 4.4 s (eval/results/README.md). Unset: no cap.",
    )
    line_sentences: int = Field(
        default=6,
        ge=2,
        description="Sentences of its abstract shown for one paper's line in a list reply.",
    )
    likelihood_candidates: int | None = Field(
        default=3,
        ge=2,
        description="'Is there work on / which paper' questions: the model reads each of "
        "this many top papers and scores the question's words after it "
        "(rag.likelihood); the likeliest goes first when it beats the retriever's first "
        "by likelihood_margin. None ('none'): the retriever's order stands.",
    )
    likelihood_margin: float = Field(
        default=5.0,
        ge=0,
        description="Nats (total log-probability of the question) by which a paper must "
        "beat the retriever's first to replace it.",
    )
    likelihood_gap: float = Field(
        default=0.1,
        ge=0,
        description="Only the candidates whose closest sentence (or chunk) cosine is within "
        "this of the retriever's first paper's are scored: where retrieval is sure, the "
        "model is not asked (each paper scored costs a prefill of its sentences).",
    )
    likelihood_sentences: int = Field(
        default=4,
        ge=2,
        description="Sentences of each paper the model reads to score the question: its "
        "first, then those closest to the question.",
    )
    several_margin: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="A question about several papers lists each paper whose keyword score "
        "is at least (1 - this) times the best one's.",
    )
    followup_papers: int = Field(
        default=3,
        ge=0,
        le=10,
        description="A follow-up puts at most this many of the previous answer's papers first.",
    )
    several_max: int = Field(
        default=3, ge=1, le=10, description="At most this many papers in a list reply."
    )
    superlative_pool: int = Field(
        default=100,
        ge=1,
        description="A superlative over stated figures ('Which paper trains the biggest "
        "recogniser?') compares the figures of this many papers closest to the question "
        "(rag/superlatives.py): the whole of a small collection, a large one's nearest "
        "(reading them is a scan of their sentences, milliseconds).",
    )


class ReplySettings(BaseModel):
    """How long each shape of reply may be (``rag.compose``), in new tokens."""

    max_new_tokens: int = Field(
        default=96, ge=8, description="A free reply (fact, yes/no, superlative)."
    )
    line_tokens: int = Field(
        default=48, ge=8, description="One paper's line in a list or existence reply."
    )
    comparison_tokens: int = Field(
        default=80, ge=8, description="One paper's part of a comparison (up to two sentences)."
    )
    yes_margin: float = Field(
        default=1.5,
        description="A yes/no reply says Yes when the model's log-probability of 'Yes' beats "
        "that of 'No' by more than this: the 1.5B model leans to yes. Chosen on questions "
        "never reported (eval/calibrate_verdict.py): PubMedQA's dev pool and the project's "
        "yes/no calibration questions (eval/questions/yesno-calibration.jsonl) agree best "
        "at 1.5 (0.85 and 0.92; 0.82 and 0.88 at 1.0, 0.83 and 0.92 at 2.0).",
    )
    yes_no_quotes: int = Field(
        default=3,
        ge=0,
        description="A yes/no reply ends with the cited abstract's sentences closest to the "
        "question (up to this many, those its finding does not already hold), quoted: the "
        "finding restates the point without the figure that settles it. Yes/no calibration "
        "set, replayed: 12, 13, 15 of 20 answered right with 1, 2, 3 (eval/results/README.md).",
    )
    comparison_quotes: int = Field(
        default=2,
        ge=0,
        description="A comparison's part on each paper ends with that abstract's sentences "
        "closest to the question (up to this many, those the part does not already hold), "
        "quoted: the model's two sentences often miss the detail the sides differ in.",
    )


class CheckSettings(BaseModel):
    """Thresholds of the checks a draft passes before it is shown (``rag.checks``)."""

    min_grounding: float = Field(
        default=0.5,
        description="Share of the answer's new key terms that must occur in its sources.",
    )
    min_answer_margin: float | None = Field(
        default=None,
        description="If set, the model's mean log-prob of its answer must beat that of "
        "'the sources do not say' by this much; unset: measured, never withholds.",
    )
    citation_keep_ratio: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="A claim's [n] stays if that source holds this share of the claim's "
        "words relative to the best source; else it is re-pointed to the best.",
    )
    unit_window_before: int = Field(
        default=3, ge=0, description="Words before a number searched for its unit."
    )
    unit_window_after: int = Field(
        default=5, ge=0, description="Words after a number searched for its unit."
    )
    common_name_share: float | None = Field(
        default=0.5,
        description="A fact reply to 'Which <thing> ...?' is withheld unless it names something "
        "the question did not (a word with a digit or a capital) that fewer than this share "
        "of its sources hold (a name most share is the field's); unset: not checked.",
    )
    min_answerable_lead: float | None = Field(
        default=0.25,
        description="A fact's draft is withheld when the model, asked whether its sources "
        "state the answer, leads 'Yes' over 'No' (log-probability) by less than this; "
        "unset: never asked. Chosen for the default generator on the dev split, inside "
        "the range (0.1-0.35) that withholds no answerable fact there "
        "(eval/results/README.md); another generator needs its own "
        "(python -m eval.calibrate_abstention RUNS --leads).",
    )
    min_quantity_lead: float | None = Field(
        default=0.25,
        description="A how-many draft whose number fails the quantity check's word rules "
        "(the unit asked next to it, a question word in its sentence) is still kept when "
        "the model, asked over only the sentences holding its numbers whether they state "
        "the answer, leads 'Yes' over 'No' by this; unset: the word rules alone decide. The "
        "facts' limit: on the drafts the word rules withheld in dev and two calibration "
        "sets never reported, it keeps 3 of 4 right answers (the fourth leads by 0.249) "
        "and still withholds 4 of 5 unanswerable ones (eval/results/README.md).",
    )
    min_comparison_lead: float | None = Field(
        default=0.25,
        description="A comparison is withheld, before its lines are written, when the "
        "model, asked whether its two papers state the answer, leads 'Yes' over 'No' by "
        "less than this; unset: never asked. The facts' limit: on the comparison-shaped "
        "questions of dev and of two calibration sets never reported, it keeps 24 of 25 "
        "answerable ones and declines 9 of 11 near-misses (0.15: 25 and 5; 0.3: 22 and "
        "10; eval/results/README.md).",
    )


GROUPS = ("context", "replies", "checks")


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
    embed_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        default="auto",
        description="Embedder runtime (rag/embedding.py): auto = torch on CUDA, onnx-int8 "
        "(~3x faster) on CPU; torch is the reference. Indexes built by one are read by all.",
    )
    stream_over_mb: int = Field(
        default=64,
        ge=0,
        description="`rag ingest` reads JSONL files larger than this together a line at a "
        "time and indexes them in slices (rag/ingest_stream.py).",
    )
    stream_papers: int = Field(default=2000, ge=1, description="Papers per streamed slice.")
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
    sentence_scores: bool = Field(
        default=True,
        description="Rank the dense side by a chunk's cosine plus its best sentence's "
        "(rag/sentence_scores.py); false = the chunk's cosine alone.",
    )
    max_author_matches: int = Field(
        default=300,
        ge=1,
        description="Most author names an author filter may match (a shorter fragment is "
        "refused: it would not say whom it means).",
    )
    keyword_delta_papers: int = Field(
        default=1000,
        ge=0,
        description="Papers uploads may add or change before BM25 is rebuilt whole; until "
        "then they are searched in a side index (0 = rebuild at every upload). `rag ingest` "
        "always rebuilds.",
    )

    # generation
    generator: str = Field(default="qwen2.5-1.5b", description="Key in rag.weights.GENERATORS.")
    generator_engine: Literal["auto", "transformers", "llama.cpp"] = Field(
        default="auto",
        description="Engine that runs the generator (rag/generator.py): auto = transformers "
        "on CUDA; on a CPU the one measured faster on this machine (rag/engine_choice.py).",
    )
    llama_context: int = Field(
        default=4096, ge=512, description="llama.cpp context window in tokens (prompt + reply)."
    )
    condense_followups: bool = True

    # grouped settings (env vars keep their flat names: RAG_MIN_RELEVANCE, ...)
    context: ContextSettings = Field(default_factory=lambda: ContextSettings())
    replies: ReplySettings = Field(default_factory=lambda: ReplySettings())
    checks: CheckSettings = Field(default_factory=lambda: CheckSettings())

    # web UI (ui/app.py)
    ui_host: str = Field(default="127.0.0.1", description="Address the UI listens on.")
    ui_port: int = 7860
    ui_auth: str | None = Field(
        default=None, description="USER:PASSWORD; required when ui_host is not loopback."
    )
    ui_ssl_certfile: Path | None = Field(
        default=None,
        description="TLS certificate (PEM) for the UI to serve HTTPS itself; needs "
        "ui_ssl_keyfile. Or leave both unset and put a TLS proxy in front (README).",
    )
    ui_ssl_keyfile: Path | None = Field(
        default=None, description="Private key (PEM) of ui_ssl_certfile."
    )
    # login throttle (ui/login_guard.py): only with ui_auth
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins in a row one client address may make before each further "
        "attempt must wait.",
    )
    login_backoff_s: float = Field(
        default=2.0,
        gt=0,
        description="The first such wait (seconds); it doubles with each further failure.",
    )
    login_backoff_max_s: float = Field(
        default=300.0, gt=0, description="The longest wait for one client address (seconds)."
    )
    login_global_failures_per_min: int = Field(
        default=30,
        ge=1,
        description="Failed logins let through per minute from all addresses together; past "
        "it every login waits (guessing from many addresses at once).",
    )

    # guards
    max_question_chars: int = 2000
    max_upload_mb: int = Field(
        default=50, ge=1, description="Largest file of abstracts the UI accepts (MB)."
    )
    max_abstract_chars: int = Field(
        default=20_000,
        ge=100,
        description="Longest abstract indexed (characters); a longer record is refused by "
        "name (or skipped with --skip-bad): it is a whole paper or a broken file, not an "
        "abstract.",
    )
    max_chunks_per_paper: int = Field(
        default=64,
        ge=1,
        description="Most chunks one paper may split into (a guard when chunk_size is small).",
    )
    ingest_lock_wait_s: float = Field(
        default=600,
        ge=0,
        description="How long an ingest or upload waits for another one writing the same "
        "data folder before giving up (seconds).",
    )

    @field_validator("generator")
    @classmethod
    def _known_generator(cls, value: str) -> str:
        from rag.weights import GENERATORS

        if value not in GENERATORS:
            raise ValueError(f"unknown generator; choose one of {', '.join(GENERATORS)}")
        return value

    @classmethod
    def field_names(cls) -> list[str]:
        """Every setting's flat name (a grouped one by its own name: ``min_relevance``)."""
        names = [n for n in cls.model_fields if n not in GROUPS]
        for group in GROUPS:
            names += list(cls.model_fields[group].annotation.model_fields)
        return names

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings from env vars, then apply explicit (non-None) overrides.

        Grouped settings keep flat names in both: ``RAG_MIN_RELEVANCE`` and
        ``min_relevance=...`` set ``settings.context.min_relevance``.
        """
        flat: dict[str, Any] = {}
        for name in cls.field_names():
            env = os.environ.get(ENV_PREFIX + name.upper())
            if env is not None and env != "":
                flat[name] = env
        flat.update({k: v for k, v in overrides.items() if v is not None})
        values: dict[str, Any] = {}
        for name, value in flat.items():
            group = next(
                (g for g in GROUPS if name in cls.model_fields[g].annotation.model_fields), None
            )
            owner = cls if group is None else cls.model_fields[group].annotation
            if _is_unset(value) and _optional_number(owner.model_fields[name].annotation):
                value = None  # "RAG_MIN_ANSWER_MARGIN=none": the check is off
            if group is None:
                values[name] = value
            else:
                values.setdefault(group, {})[name] = value
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][-1])  # a grouped setting by its flat name
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
    def manifest_path(self) -> Path:
        """What the collection should hold, rewritten by every ingest (rag/manifest.py)."""
        return self.data_dir / "manifests" / f"{self.collection}.json"

    @property
    def keyword_dir(self) -> Path:
        """Persisted BM25 index folder (per collection)."""
        return self.data_dir / "bm25" / self.collection


def _is_unset(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("none", "off")


def _optional_number(annotation: Any) -> bool:
    """A ``float | None`` or ``int | None`` field: one that "none" or "off" can unset."""
    args = get_args(annotation)
    return type(None) in args and any(a in (int, float) for a in args)
