"""Question in, cited answer out: condense -> retrieve -> (abstain?) -> generate -> check
citations -> name the cited papers when the question asked for one.

``Assistant.stream`` yields events so front ends can show sources first, then tokens as
they arrive, then the checked answer; ``Assistant.ask`` is the same, collected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from rag.abstain import grounding, is_refusal, relevance
from rag.citations import Citation, check_citations, cited_numbers, reattribute
from rag.condense import condense_question, followup_note
from rag.errors import RagError
from rag.generator import GenerationStats
from rag.naming import name_cited_papers
from rag.prompt import (
    REFUSAL,
    build_messages,
    format_sources,
    is_instruction,
    prefix_messages,
    select_sentences,
    split_sentences,
    trim_to_sentence,
)
from rag.retrieve import HybridRetriever, Source
from rag.settings import Settings

ABSTAIN_TEXT = "The indexed abstracts do not answer this question."


@dataclass
class Answer:
    """Everything a front end shows for one question."""

    question: str
    query: str  # what was searched (the condensed follow-up)
    answer: str
    abstained: bool
    sources: list[Source]
    citations: list[Citation] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    abstain_reason: str | None = None
    abstain_check: str | None = None  # the name of the check that withheld the answer
    draft: str = ""  # the model's raw reply, kept when the answer was withheld
    # The model-written part of ``answer`` (its markers checked): ``answer`` may add text by
    # rule after it (a cited paper's title), which an evaluation must not credit to the model.
    model_answer: str = ""
    notes: list[str] = field(default_factory=list)
    signals: dict[str, float | None] = field(default_factory=dict)  # what abstention looked at
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON shape of ``rag ask --json``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "abstain_check": self.abstain_check,
            "citations": [c.to_dict() for c in self.citations],
            "invalid_citations": self.invalid_citations,
            "sources": [s.to_dict() for s in self.sources],
            "query": self.query,
            "draft": self.draft,
            "model_answer": self.model_answer,
            "notes": self.notes,
            "signals": {k: v if v is None else round(v, 4) for k, v in self.signals.items()},
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class Event:
    """A step of a streamed answer: ``sources``, ``token`` or ``done``."""

    kind: str
    text: str = ""
    sources: list[Source] | None = None
    answer: Answer | None = None


def clean_question(question: str | None, max_chars: int) -> tuple[str, list[str]]:
    """Reject empty questions; cut over-long ones (with a note saying so)."""
    question = (question or "").strip()
    if not question:
        raise RagError("empty question: type a question about the papers")
    if len(question) > max_chars:
        return question[:max_chars], [f"question cut to its first {max_chars} characters"]
    return question, []


class Assistant:
    """The research-paper assistant over one index."""

    def __init__(
        self, settings: Settings, retriever: HybridRetriever | None = None, generator=None
    ) -> None:
        """``retriever``/``generator``: share already-loaded ones (e.g. two indexes, one model)."""
        self.settings = settings
        self.retriever = retriever or HybridRetriever(settings)
        self._generator = generator
        self._generator_lock = threading.Lock()  # UI threads must not load it twice

    @property
    def generator(self):
        """The language model, loaded on first use (search-only use never pays for it)."""
        with self._generator_lock:
            if self._generator is None:
                from rag.generator import Generator

                self._generator = Generator(self.settings)
        return self._generator

    def warm_up(self) -> None:
        """Load the generator and pre-compute the fixed prompt's KV cache before users ask."""
        self.generator.warm_up(prefix_messages())

    def search(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> list[Source]:
        """Sources only, no generation (``top_k`` overrides the setting for this call)."""
        question, _ = clean_question(question, self.settings.max_question_chars)
        return self.retriever.search(self._query(question, history), top_k)

    def _query(self, question: str, history: list[dict] | None) -> str:
        if self.settings.condense_followups:
            return condense_question(question, history)
        return question

    def ask(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> Answer:
        """Answer and wait for the whole of it."""
        for event in self.stream(question, history, top_k):
            if event.kind == "done":
                return event.answer
        raise RuntimeError("stream ended without an answer")

    def stream(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> Iterator[Event]:
        """Answer step by step (see :class:`Event`); ``top_k`` overrides the setting."""
        start = time.perf_counter()
        question, notes = clean_question(question, self.settings.max_question_chars)
        query = self._query(question, history)
        sources = self.retriever.search(query, top_k)
        retrieved = time.perf_counter()
        answer = Answer(question=question, query=query, answer="", abstained=False,
                        sources=sources, notes=notes)  # fmt: skip
        answer.timings["retrieve_s"] = retrieved - start
        yield Event("sources", sources=sources)

        answer.signals["relevance"] = relevance(query, sources[0]) if sources else 0.0
        if answer.signals["relevance"] < self.settings.min_relevance:
            self._abstain(
                answer, "no indexed abstract is close enough to the question", "relevance"
            )
            answer.timings.update(generate_s=0.0, first_token_s=0.0,
                                  total_s=time.perf_counter() - start)  # fmt: skip
            yield Event("done", answer=answer)
            return

        context = self._context_sources(query, sources, answer.signals["relevance"])
        note = followup_note(question, history) if self.settings.condense_followups else ""
        messages = build_messages(question, self._sources_block(query, context), note)
        pieces: list[str] = []
        first_token = None
        stats = GenerationStats()
        for piece in self.generator.stream(messages, prefix_messages(), stats=stats,
                                           alternative=REFUSAL):  # fmt: skip
            if first_token is None and piece:
                first_token = time.perf_counter()
            pieces.append(piece)
            yield Event("token", text=piece)
        done = time.perf_counter()
        answer.signals.update(answer_logprob=stats.answer_logprob,
                              refusal_logprob=stats.alternative_logprob)  # fmt: skip
        answer.timings.update(
            generate_s=done - retrieved,
            first_token_s=(first_token or done) - start,
        )
        self._finish(answer, "".join(pieces).strip(), question, context)
        answer.timings["total_s"] = time.perf_counter() - start
        yield Event("done", answer=answer)

    def _context_sources(
        self, query: str, sources: list[Source], top_relevance: float
    ) -> list[Source]:
        """The top sources the model reads: the first, and others nearly as relevant.

        A small model misreads a clear winner's answer out of a runner-up, and each extra
        source costs prefill time; questions about several papers keep several.
        """
        top = sources[: self.settings.context_sources]
        floor = top_relevance - self.settings.context_margin
        return [top[0]] + [s for s in top[1:] if relevance(query, s) >= floor]

    def _sources_block(self, query: str, context: list[Source]) -> str:
        sentences = [
            [sent for sent in split_sentences(s.text) if not is_instruction(sent)] for s in context
        ]
        flat = [sent for group in sentences for sent in group]
        vectors = np.asarray(self.retriever.embed_short([query, *flat]))
        qvec, svecs = vectors[0], vectors[1:]
        # Prefill time is time-to-first-token: the sentence budget is shared, the best
        # source gets what does not divide evenly (4 over 3 sources: 2, 1, 1).
        total = max(self.settings.context_sentences, len(context))
        keeps = [total // len(context) + (i < total % len(context)) for i in range(len(context))]
        excerpts, offset = [], 0
        for group, keep in zip(sentences, keeps, strict=True):
            vectors_of_group = svecs[offset : offset + len(group)]
            excerpts.append(select_sentences(group, vectors_of_group, qvec, keep))
            offset += len(group)
        return format_sources(context, excerpts)

    def _finish(self, answer: Answer, draft: str, question: str, context: list[Source]) -> None:
        answer.draft = draft
        if not draft or is_refusal(draft):
            self._abstain(answer, "the model found no answer in the sources", "refusal")
            return
        own, refusal = answer.signals.get("answer_logprob"), answer.signals.get("refusal_logprob")
        if own is not None and refusal is not None:
            answer.signals["answer_margin"] = own - refusal
            if own - refusal < self.settings.min_answer_margin:
                self._abstain(answer, "the model finds 'the sources do not say' about as likely "
                                      "as its own answer", "answer_margin")  # fmt: skip
                return
        invalid = [n for n in cited_numbers(draft) if n not in {s.rank for s in context}]
        if invalid:
            answer.invalid_citations = invalid
            answer.notes.append(
                "the model cited source(s) it was not shown: "
                + ", ".join(f"[{n}]" for n in invalid)
            )
        attributed = reattribute(trim_to_sentence(draft), context)
        answer.notes.extend(f"citation {change}" for change in attributed.changes)
        checked = check_citations(attributed.text, context)
        grounded = grounding(checked.text, question, context, answer.query)
        answer.signals["grounding"] = grounded.score
        problem, check = grounded.problem, "grounding"
        if problem is None and grounded.score < self.settings.min_grounding:
            missing = ", ".join(grounded.missing_terms[:5])
            problem = f"most of its words are not in the sources ({missing})"
            check = "grounding: words"
        if problem:
            self._abstain(answer, f"the draft answer was withheld: {problem}", check)
            return
        answer.model_answer = checked.text
        answer.answer = name_cited_papers(checked.text, question, checked.citations, context)
        answer.citations = checked.citations

    @staticmethod
    def _abstain(answer: Answer, reason: str, check: str) -> None:
        answer.abstained = True
        answer.abstain_reason = reason
        answer.abstain_check = check
        answer.answer = ABSTAIN_TEXT
        answer.citations = []
