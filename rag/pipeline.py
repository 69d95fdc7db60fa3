"""Question in, cited answer out.

condense the follow-up -> retrieve (the previous answer's papers first) -> relevance
floor -> the question's shape (``rag.shapes``) picks the reply:

- fact, yes/no, superlative: one free reply from the plausible sources, then the checks;
- "which paper" / "is there work on", several papers, comparison: the papers are chosen
  by retrieval (``rag.selection``), each gets a line that starts with its title and
  marker, written by rule, and the model only says what that paper does; a line whose
  words fail the checks quotes the abstract's closest sentence instead.

``Assistant.stream`` yields events so front ends can show sources first, then tokens as
they arrive, then the checked answer; ``Assistant.ask`` is the same, collected.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rag.checks import build_checks, build_gates, run_checks
from rag.checks.citations import check_citations
from rag.condense import (
    cited_claims,
    condense_question,
    followup_note,
    is_followup,
    previous_answer,
    referred_position,
)
from rag.context import closest_sentence, closest_sentences, sources_block
from rag.errors import RagError
from rag.generator import GenerationStats
from rag.likelihood import likeliest_first
from rag.markers import MARKER, cited_sources, strip_markers
from rag.naming import paper_name
from rag.prompt import (
    COMPARISON_LINE_JOB,
    JOBS,
    LINE_JOB,
    REFUSAL,
    UNSETTLED,
    VERDICT_JOB,
    VERDICTS,
    build_messages,
    drop_closing_verdict,
    prefix_messages,
    trim_to_sentence,
)
from rag.retrieve import HybridRetriever
from rag.selection import (
    closeness,
    comparison_sides,
    listed,
    plausible,
    relevance,
    sentence_relevance,
)
from rag.settings import Settings
from rag.shapes import asks_existence_yes, last_question, names_the_collection, question_shape
from rag.superlatives import AskedMeasure, Measurement, asked_measures, find_extreme
from rag.terms import content_terms, split_sentences
from rag.types import LINE_SHAPES, Answer, Draft, Event, PaperFilter, Shape, Source, Verdict

ABSTAIN_TEXT = "The indexed abstracts do not answer this question."


def clean_question(question: str | None, max_chars: int) -> tuple[str, list[str]]:
    """Reject empty questions; cut over-long ones (with a note saying so)."""
    question = (question or "").strip()
    if not question:
        raise RagError("empty question: type a question about the papers")
    if len(question) > max_chars:
        return question[:max_chars], [f"question cut to its first {max_chars} characters"]
    return question, []


@dataclass
class Retrieval:
    """What retrieval alone decided for one question (:meth:`Assistant.retrieve_or_abstain`).

    ``answer`` holds the sources, and is already final when retrieval abstained (no
    abstract close enough); ``papers`` are those a line reply is about. Only an answer
    that did not abstain needs the language model.
    """

    answer: Answer
    papers: list[Source]
    history: list[dict] | None
    decided: float  # time.perf_counter() when the decision was made
    measured: list[Measurement] = field(default_factory=list)  # a superlative's figures

    @property
    def needs_generator(self) -> bool:
        """Whether answering goes on to the model (False: retrieval abstained, or a
        superlative's figures answer it)."""
        return not self.answer.abstained and not self.measured


def final_answer(events: Iterable[Event]) -> Answer:
    """The answer of a stream of events (its ``done`` event), once the stream has run."""
    for event in events:
        if event.kind == "done":
            return event.answer
    raise RuntimeError("stream ended without an answer")


def led_by(leading: list[Source], sources: list[Source], keep: int) -> list[Source]:
    """``leading`` first, then the rest of ``sources`` in their order, at most ``keep``,
    ranked anew: the [n] markers follow the order the reader sees."""
    ids = {s.doc_id for s in leading}
    ordered = [*leading, *(s for s in sources if s.doc_id not in ids)][:keep]
    for rank, source in enumerate(ordered, start=1):
        source.rank = rank
    return ordered


def scaffold_for(source: Source) -> str:
    """How a line starts, by rule: the paper's title and marker.

    A paper whose file gave no title goes by the name its abstract introduces
    (``rag.naming``), else "Paper [n]": its first words make a poor name. A titled paper
    whose abstract introduces a name its title lacks gets it in brackets ("Sparse Adapters
    for Speech (Quill) [2]"): readers (and later questions) call a paper by its method's name.
    """
    if source.title_is_derived:
        return f"{paper_name(source.text) or 'Paper'} [{source.rank}]"
    name = paper_name(source.text, introduced_only=True)
    if name and name.lower() not in source.title.lower():
        return f"{source.title} ({name}) [{source.rank}]"
    return f"{source.title} [{source.rank}]"


def _follows_papers(answer: Answer) -> bool:
    """A superlative follow-up about the previous answer's papers ("Which of them is the
    biggest?"), not one that names the whole collection ("Of all these papers, ...")."""
    return bool(answer.followed) and not names_the_collection(answer.question)


_WHAT_IS = re.compile(
    r"^\s*(?i:what)\s+(?i:is|are|does|do)\s+(?:the\s+)?(?P<name>[A-Z][\w-]*)(?![\w'\u2019-])"
)


def named_title(question: str, text: str, shown: list[Source]) -> str:
    """' The paper: "Quill: Sparse Adapters for ..." [1].' after an answer to "What is
    Quill?" whose cited paper's title names Quill before a colon, unless the answer already
    says what the title does ('' otherwise).

    The model answers "What is X?" from the abstract, which often gives X's role but not
    what its letters stand for or what it is for ("Quill is a method for speech [1]."); a
    title that opens with the name glosses it, and the reader learns which paper it is.
    """
    asked = _WHAT_IS.match(question)
    if not asked:
        return ""
    name = asked.group("name").lower()
    for source in cited_sources(text, shown):
        head, colon, gloss = source.title.partition(":")
        if colon and head.strip().lower() == name:
            if content_terms(gloss) <= content_terms(text):
                return ""
            return f' The paper: "{source.title}" [{source.rank}].'
    return ""


def leading_sentences(raw: str, count: int = 1) -> str:
    """A line's first ``count`` sentences: a line says one thing about one paper (the
    model sometimes goes on to the next paper, or runs out of tokens mid-way)."""
    line = raw.split("\n")[0]
    if own_markers := MARKER.search(line):
        # Its own markers would cut the line at "] " (trim_to_sentence); they are dropped
        # later anyway (CitationCheck), so the sentences are found without them.
        line = strip_markers(line)
    sentences = split_sentences(line.strip())
    complete = [s for s in sentences[:count] if s[-1:] in ".!?"]
    if complete:
        return (" " if line[:1] == " " else "") + " ".join(complete)
    return trim_to_sentence(line) if own_markers is None else line.strip()


class Assistant:
    """The research-paper assistant over one index."""

    def __init__(
        self, settings: Settings, retriever: HybridRetriever | None = None, generator=None
    ) -> None:
        """``retriever``/``generator``: share already-loaded ones (e.g. two indexes, one model)."""
        self.settings = settings
        self.retriever = retriever or HybridRetriever(settings)
        self.checks = build_checks(settings.checks)
        self.gates = build_gates(settings.checks)
        self._generator = generator
        self._generator_lock = threading.Lock()  # UI threads must not load it twice
        self._parent: Assistant | None = None  # a filtered view loads through its parent

    def for_collection(self, name: str) -> Assistant:
        """An assistant over another collection (same data folder or server) that shares
        this one's model; itself for its own collection."""
        if name == self.settings.collection:
            return self
        other = Assistant(self.settings.model_copy(update={"collection": name}))
        other._parent = self
        return other

    def filtered(self, paper_filter: PaperFilter | None) -> Assistant:
        """This assistant drawing only on the papers ``paper_filter`` keeps (a view for one
        question, sharing the indexes and the model); itself for an empty filter.

        A filter no indexed paper matches is an error that says so, not an abstention.
        """
        retriever = self.retriever.with_filter(paper_filter)
        if retriever is self.retriever:
            return self
        if not retriever.matching_papers():
            raise RagError(
                f"no indexed paper matches the filter ({paper_filter.describe()}); "
                "widen or clear it (papers without that metadata never match)"
            )
        view = copy.copy(self)
        view.retriever, view._parent = retriever, self
        return view

    @property
    def generator(self):
        """The language model, loaded on first use (search-only use never pays for it)."""
        if self._parent is not None:
            return self._parent.generator
        with self._generator_lock:
            if self._generator is None:
                from rag.generator import load_generator

                self._generator = load_generator(self.settings)
        return self._generator

    def warm_up(self) -> None:
        """Load the generator and pre-compute the fixed prompt's KV cache before users ask."""
        self.generator.warm_up(prefix_messages())

    # -- retrieve ---------------------------------------------------------------------

    def search(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> list[Source]:
        """Sources only, no generation (``top_k`` overrides the setting for this call)."""
        question, _ = clean_question(question, self.settings.max_question_chars)
        return self.retrieve(question, self._query(question, history), history, top_k)

    def _query(self, question: str, history: list[dict] | None) -> str:
        if self.settings.condense_followups:
            return condense_question(question, history)
        return question

    def retrieve(
        self, question: str, query: str, history: list[dict] | None, top_k: int | None = None
    ) -> list[Source]:
        """Ranked papers for ``query``; a follow-up puts the previous answer's papers first.

        "How big is its corpus?" is about the paper the last answer cited, whatever else
        the words match. The previous answer names its papers in ``cited`` (doc ids, as
        the UI and ``rag ask --json`` keep them); a history without them (typed, or from
        another tool) is matched back to papers by searching its last turn.
        """
        return self._retrieve(question, query, history, top_k)[0]

    def _retrieve(
        self, question: str, query: str, history: list[dict] | None, top_k: int | None = None
    ) -> tuple[list[Source], list[str]]:
        """:meth:`retrieve`, and the doc ids of the previous answer's papers it followed."""
        top_k = top_k or self.settings.top_k
        sources = self.retriever.search(query, top_k)
        if not (history and self.settings.condense_followups and is_followup(question)):
            return sources, []
        previous = self._previous_papers(query, history)
        if not previous:
            return sources, []
        return led_by(previous, sources, top_k), [p.doc_id for p in previous]

    def _previous_papers(self, question: str, history: list[dict]) -> list[Source]:
        """The papers the previous answer cited, in its order, scored against ``question``;
        only the one meant when the question says which ("the second one", "the latter")."""
        message = previous_answer(history)
        if message is None:
            return []
        ids = [c for c in message.get("cited") or [] if isinstance(c, str)]
        if "cited" not in message:
            # Typed or imported history: each cited claim is matched back to its paper (an
            # answer without markers, such as an abstention, cites none).
            for claim in cited_claims(message.get("content", "")):
                found = self.retriever.search(claim, 1)
                if found and found[0].doc_id not in ids:
                    ids.append(found[0].doc_id)
        position = referred_position(question)
        if position is not None and -len(ids) <= position < len(ids):
            ids = [ids[position]]
        return self.retriever.search_within(question, ids[: self.settings.context.followup_papers])

    # -- answer -----------------------------------------------------------------------

    def ask(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> Answer:
        """Answer and wait for the whole of it."""
        return final_answer(self.stream(question, history, top_k))

    def stream(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> Iterator[Event]:
        """Answer step by step (see :class:`~rag.types.Event`); ``top_k`` overrides the setting."""
        yield from self.stream_retrieved(self.retrieve_or_abstain(question, history, top_k))

    def retrieve_or_abstain(
        self, question: str, history: list[dict] | None = None, top_k: int | None = None
    ) -> Retrieval:
        """Retrieve for ``question`` and decide what retrieval alone can: abstain when no
        indexed abstract is relevant enough (the relevance floor), and which papers a line
        reply is about. Never touches the model: a caller can skip loading it when the
        answer abstained (``rag ask "?!"``); :meth:`stream_retrieved` goes on from here.
        """
        start = time.perf_counter()
        question, notes = clean_question(question, self.settings.max_question_chars)
        query = self._query(question, history)
        sources, followed = self._retrieve(question, query, history, top_k)
        shape = question_shape(question)
        answer = Answer(question=question, query=query, answer="", abstained=False,
                        sources=sources, shape=shape, notes=notes, started=start,
                        followed=followed)  # fmt: skip
        answer.timings["retrieve_s"] = time.perf_counter() - start

        answer.signals["relevance"] = relevance(query, sources[0]) if sources else 0.0
        papers: list[Source] = []
        sides_relevance = None
        if shape in LINE_SHAPES:
            papers, sides_relevance = self._papers(answer)
            if sides_relevance is not None:
                answer.signals["relevance"] = sides_relevance
        settings = self.settings.context
        measure, floor = answer.signals["relevance"], settings.min_relevance
        if shape is Shape.EXISTENCE:
            # Nothing but retrieval says "yes, there is work on it": it must be surer.
            floor = max(floor, settings.min_relevance_existence)
        elif sources and sides_relevance is None and settings.min_sentence_relevance is not None:
            by_sentence = sentence_relevance(query, sources[0])
            if by_sentence is not None:  # None: its sentences were not scored
                answer.signals["sentence_relevance"] = by_sentence
                measure, floor = by_sentence, settings.min_sentence_relevance
        close = bool(sources) and measure >= floor  # a floor of 0 lets 0.0 by
        # Read once: what a superlative asks to compare ([] for every other shape).
        asked = asked_measures(last_question(question)) if shape is Shape.SUPERLATIVE else []
        measured = self._measured(answer, asked) if close and asked else []
        unstated = close and asked and not measured and self._asked_count(answer, asked)
        if unstated:
            # "Which paper used the most microphones?": a count no abstract states cannot be
            # compared from them; shown a few passages, the model would still name one
            # (superlative calibration: eval/results/README.md).
            reason = f"no indexed abstract states a figure for {unstated} to compare"
            self._abstain(answer, Verdict("superlative", reason))
        elif not close:
            self._abstain(answer, Verdict(
                "relevance", "no indexed abstract is close enough to the question"))  # fmt: skip
        return Retrieval(answer, papers, history, time.perf_counter(), measured)

    @staticmethod
    def _asked_count(answer: Answer, asked: list[AskedMeasure]) -> str:
        """What a superlative asks to count ("the most microphones" -> "microphones"), ''
        when it asks nothing countable. A size or share ("the largest gain") may be stated
        in other words than the question's ("twice as fast"); a count is stated as "N
        microphones"."""
        if _follows_papers(answer):
            return ""  # its few papers lack the figure; the model may still find the answer
        counts = [a for a in asked if a.counts]
        return " ".join(counts[0].noun) if counts else ""

    def _measured(self, answer: Answer, asked: list[AskedMeasure]) -> list[Measurement]:
        """A superlative's figures, extreme first (``rag.superlatives``), read from the
        ``superlative_pool`` papers closest to the question, or from the papers a follow-up
        is about ("Which of its corpora is the biggest?"); the first one's paper becomes
        source [1]. [] when the question names no measure or no abstract states one."""
        pool = [s for s in answer.sources if s.doc_id in answer.followed]
        if not _follows_papers(answer):
            count = self.settings.context.superlative_pool
            # Two chunks a paper: the dense retriever's candidates must reach that many.
            pool = self.retriever.search(answer.query, count, dense_hits=2 * count)
        found = find_extreme(asked, pool)
        if found:
            answer.sources = led_by([found[0].source], answer.sources, max(1, len(answer.sources)))
        return found

    def stream_retrieved(self, retrieval: Retrieval) -> Iterator[Event]:
        """:meth:`stream` from a :meth:`retrieve_or_abstain` decision (once per decision):
        the sources, then the model's reply unless retrieval abstained, then the answer."""
        answer = retrieval.answer
        # Time between the decision and now (the model loading, a batch's other questions)
        # is not this answer's: its timings count as if it had gone straight on.
        answer.started += time.perf_counter() - retrieval.decided
        start = answer.started
        if not answer.abstained and answer.shape is Shape.EXISTENCE:
            retrieval.papers = self._likeliest_first(answer) or retrieval.papers
        yield Event("sources", sources=answer.sources)
        if not answer.abstained:
            question, history = answer.question, retrieval.history
            note = followup_note(question, history) if self.settings.condense_followups else ""
            unstated = self._gate(answer, retrieval.papers)
            if unstated is not None:
                self._abstain(answer, unstated)
                replies: Iterator[str] = iter(())
            elif answer.shape in LINE_SHAPES:
                replies = self._lines(answer, note, retrieval.papers)
            elif retrieval.measured:
                replies = self._superlative(answer, retrieval.measured)
            else:
                replies = self._free_reply(answer, note)
            first_token: list[float] = []
            for piece in replies:
                if not first_token and piece:
                    first_token.append(time.perf_counter())
                yield Event("token", text=piece)
            answer.timings["first_token_s"] = (first_token or [time.perf_counter()])[0] - start
            # Set by _generate; a line reply shows its rule-written title before it.
            answer.timings.setdefault("first_model_token_s", time.perf_counter() - start)
        answer.timings.setdefault("first_token_s", 0.0)
        answer.timings["total_s"] = time.perf_counter() - start
        generated = answer.timings["total_s"] - answer.timings["retrieve_s"]
        answer.timings["generate_s"] = generated if answer.abstain_check != "relevance" else 0.0
        yield Event("done", answer=answer)

    def _generate(self, answer: Answer, messages: list[dict], stats: GenerationStats,
                  pieces: list[str], **kwargs) -> Iterator[str]:  # fmt: skip
        for piece in self.generator.stream(messages, prefix_messages(), stats=stats, **kwargs):
            if piece and "first_model_token_s" not in answer.timings:
                answer.timings["first_model_token_s"] = time.perf_counter() - answer.started
            pieces.append(piece)
            yield piece

    def _free_reply(self, answer: Answer, note: str) -> Iterator[str]:
        """Fact, yes/no and superlative questions: one reply from the plausible sources.

        A yes/no reply opens with the verdict the model scores higher when asked only
        "Yes or No" (:meth:`_verdict`), shown at once; the model then writes the finding
        on its own, not after the verdict (which it would only argue for).
        """
        context = self._context(answer)
        yes_no = answer.shape is Shape.YESNO
        settings = self.settings.context
        block = sources_block(answer.query, context, self.retriever.embed_short,
                              settings.context_sentences, keep_last=yes_no,
                              max_words=settings.context_words)  # fmt: skip
        messages = build_messages(answer.question, block, JOBS[answer.shape], note)
        stats, pieces = GenerationStats(), []
        opener = ""
        if yes_no:
            asked = build_messages(answer.question, block, VERDICT_JOB, note)
            opener = f"{self._verdict(answer, asked)}:"
            yield f"{opener} "
        yield from self._generate(answer, messages, stats, pieces,
                                  alternative=None if yes_no else REFUSAL,
                                  max_new_tokens=self.settings.replies.max_new_tokens)  # fmt: skip
        raw = "".join(pieces).strip()
        text = trim_to_sentence(raw)
        if yes_no:
            # Trimmed first: a reply cut at the token limit after its verdict ends with it.
            text = drop_closing_verdict(text)
            said = strip_markers(text).strip(" .\n")
            if UNSETTLED.fullmatch(said):
                # The model's own "the abstracts do not settle it" is its refusal: no
                # verdict stays before it (the refusal check withholds it, and says so).
                text, opener = REFUSAL, ""
            elif not said:
                # A bare verdict: the reader gets the best source's own closest sentence.
                quote = closest_sentence(answer.query, context[0], self.retriever.embed_short)
                text = f'"{quote}" [{context[0].rank}]'
                answer.notes.append("the model gave no finding; quoting the best source")
            if opener:
                text, raw = f"{opener} {text}", f"{opener} {raw}"
        top = answer.sources[: self.settings.context.context_sources]
        draft = Draft(answer.question, answer.query, answer.shape, context, text, retrieved=top)
        if answer.query == answer.question:
            # A follow-up ("Who built it?") does not say on its own what it asks about,
            # and asked whether the sources answer it the model mostly says no (dev split).
            draft.yes_lead = lambda job, text=None: self._yes_lead(
                build_messages(answer.question, text or block, job))  # fmt: skip
        draft.signals.update(answer_logprob=stats.answer_logprob,
                             refusal_logprob=stats.alternative_logprob)  # fmt: skip
        verdict = run_checks(draft, self.checks)
        self._take(answer, draft, raw)
        if verdict is not None:
            self._abstain(answer, verdict)
            return
        if yes_no and self.settings.replies.yes_no_quotes:
            quoted = self._evidence(answer, draft.text, context)
            if quoted:
                yield quoted
                draft.text += quoted
        if answer.shape is Shape.FACT:
            titled = named_title(answer.question, draft.text, context)
            if titled:
                yield titled
                draft.text += titled
        self._publish(answer, draft.text, context)

    def _superlative(self, answer: Answer, measured: list[Measurement]) -> Iterator[str]:
        """A superlative over stated figures, written by rule: the extreme figure, its
        paper and the sentence that states it. No model: comparing numbers is arithmetic,
        which the model got wrong from the few passages it reads (``rag.superlatives``)."""
        best = measured[0]
        papers = len({m.source.doc_id for m in measured})
        asked = best.asked
        extreme = "largest" if asked.largest else "smallest"
        text = (
            f"Of the figures these abstracts give, the {extreme} is {best.number} "
            f'{best.unit}, in {scaffold_for(best.source)}: "{best.sentence}"'
        )
        answer.notes.append(
            f"superlative: {len(measured)} figures from {papers} abstracts compared in code "
            f"(up to the {self.settings.context.superlative_pool} papers closest to the question)"
        )
        answer.draft = text
        self._publish(answer, text, answer.sources)
        yield text

    def _evidence(self, answer: Answer, text: str, context: list[Source]) -> str:
        """The cited source's own sentences closest to the question, quoted after a yes/no
        finding (those the finding does not already hold): the model's finding restates
        the point without the number or name that settles it."""
        cited = cited_sources(text, context)
        count = self.settings.replies.yes_no_quotes
        return self._quoted(answer.query, cited[0] if cited else context[0], text, count)

    def _quoted(self, query: str, paper: Source, line: str, count: int) -> str:
        """' The abstract: "..." [n]': up to ``count`` of the paper's sentences closest to
        the question that ``line`` does not already hold ('' if none).

        A comparison part's two model sentences often say what the paper does, not the
        detail it differs in; the abstract's own closest sentences often hold it (comparison
        calibration set: 7 -> 10 of 20 right with two quoted sentences per part).
        """
        if count <= 0:
            return ""
        said = content_terms(line)
        sentences = closest_sentences(query, paper, self.retriever.embed_short, count)
        new = [s for s in sentences if not content_terms(s) <= said]
        if not new:
            return ""
        return f' The abstract: "{" ".join(new)}" [{paper.rank}]'

    def _context(self, answer: Answer) -> list[Source]:
        """The sources a free reply reads: the plausible ones; for a follow-up about the
        previous answer's papers ("How big is its corpus?"), those papers alone.

        Other papers the follow-up's words match would otherwise be read, and cited, as
        if the question were about them. A follow-up that no followed paper is relevant
        to (it changed the subject) reads the plausible sources as any question does.
        """
        settings = self.settings.context
        followed = [s for s in answer.sources if s.doc_id in answer.followed]
        relevant = [s for s in followed if relevance(answer.query, s) >= settings.min_relevance]
        if relevant and answer.shape is not Shape.SUPERLATIVE:
            return relevant
        return plausible(answer.query, answer.sources, settings)

    def _gate(self, answer: Answer, papers: list[Source]) -> Verdict | None:
        """The gates' verdict on a line reply's papers before any line is written
        (:func:`rag.checks.build_gates`): a draft with no text, whose ``yes_lead`` asks
        over all the papers' sentences."""
        if answer.shape not in LINE_SHAPES or len(papers) < 2:
            return None
        shown = self.settings.context

        def yes_lead(job: str, text: str | None = None) -> float:  # built when a gate asks
            block = text or sources_block(
                answer.query, papers, self.retriever.embed_short, shown.context_sentences,
                max_words=shown.context_words,
            )  # fmt: skip
            return self._yes_lead(build_messages(answer.question, block, job))

        draft = Draft(answer.question, answer.query, answer.shape, papers, "", yes_lead=yes_lead)
        verdict = run_checks(draft, self.gates)
        answer.signals.update(draft.signals)
        return verdict

    def _yes_lead(self, messages: list[dict]) -> float:
        """log P("Yes") - log P("No") as the model's reply to ``messages``."""
        yes, no = self.generator.option_logprobs(messages, list(VERDICTS), prefix_messages())
        return yes - no

    def _verdict(self, answer: Answer, messages: list[dict]) -> str:
        """ "Yes" or "No": the model's log-probability of each as its whole reply to "Answer
        Yes or No", "Yes" only when it leads by ``replies.yes_margin`` (the model leans to
        yes). Scored before and apart from the finding: scored after its own finding, the
        model mostly agrees with whatever the finding restated (eval/results/README.md)."""
        lead = self._yes_lead(messages)
        answer.signals["yes_lead"] = round(lead, 4)
        return VERDICTS[0] if lead > self.settings.replies.yes_margin else VERDICTS[1]

    def _papers(self, answer: Answer) -> tuple[list[Source], float | None]:
        """The papers a line reply is about, chosen by retrieval, and how relevant they are.

        A comparison names its two papers ("How does Quill differ from Harrow?"): each side
        is searched on its own and the weaker side's relevance is returned (else None); the
        caller holds the question to it alone. A comparison is answerable only if both of
        its papers are here, and the question's own relevance says nothing of that: it
        matches the one side that is (first pass: eval/results/README.md, answer shapes).
        """
        settings = self.settings.context
        if answer.shape is Shape.EXISTENCE:
            return answer.sources[:1], None
        if answer.shape is Shape.COMPARISON:
            sides = comparison_sides(answer.question)
            if sides:
                # Each side's best paper, the two distinct: the pair the sides match best
                # (a side's own top hit may be the other side's paper).
                hits = [[(relevance(side, s), s) for s in self.retriever.search(side, 3)]
                        for side in sides]  # fmt: skip
                pairs = [(ra + rb, min(ra, rb), a, b) for ra, a in hits[0] for rb, b in hits[1]
                         if a.doc_id != b.doc_id]  # fmt: skip
                if pairs:
                    _, weaker, a, b = max(pairs, key=lambda p: p[0])
                    chosen = [self._as_ranked(a, answer), self._as_ranked(b, answer)]
                    return sorted(chosen, key=lambda s: s.rank), weaker
            return listed(answer.query, answer.sources, settings)[:2] or answer.sources[:1], None
        presumed = not asks_existence_yes(answer.question)  # "Which papers" vs "Are there"
        return listed(answer.query, answer.sources, settings, at_least_two=presumed), None

    def _likeliest_first(self, answer: Answer) -> list[Source] | None:
        """Puts first the top paper that makes the question likeliest to the model, when it
        beats the retriever's first by ``likelihood_margin`` (``rag.likelihood``), and
        returns the papers the reply is then about; None when the order stands.

        A follow-up about the previous answer's papers keeps them first."""
        settings = self.settings.context
        count = settings.likelihood_candidates
        if not count or answer.followed:
            return None
        first = answer.sources[0]
        close = [s for s in answer.sources[1:count]
                 if closeness(first) - closeness(s) < settings.likelihood_gap]  # fmt: skip
        if not close:
            return None
        started = time.perf_counter()
        candidates = [first, *close]
        blocks = [sources_block(answer.query, [paper], self.retriever.embed_short,
                                settings.likelihood_sentences) for paper in candidates]  # fmt: skip

        def score(messages: list[dict], reply: str) -> float:
            return self.generator.option_logprobs(messages, [reply], prefix_messages())[0]

        ordered, scores = likeliest_first(
            answer.question, candidates, blocks, score, settings.likelihood_margin
        )
        # How far the likeliest paper leads the retriever's first (0: it is the first).
        answer.signals["likelihood_lead"] = max(scores) - scores[0]
        answer.timings["likelihood_s"] = time.perf_counter() - started
        if ordered[0] is first:
            return None
        answer.sources = led_by(ordered[:1], answer.sources, len(answer.sources))
        answer.notes.append(f"[1]: the question is likelier after this paper than after "
                            f"the retriever's first ({first.title[:60]})")  # fmt: skip
        return self._papers(answer)[0]

    @staticmethod
    def _as_ranked(source: Source, answer: Answer) -> Source:
        """``source`` with its rank among the answer's sources (added last if absent)."""
        for known in answer.sources:
            if known.doc_id == source.doc_id:
                return known
        source.rank = len(answer.sources) + 1
        answer.sources.append(source)
        return source

    def _lines(self, answer: Answer, note: str, papers: list[Source]) -> Iterator[str]:
        """A line per chosen paper: its title and marker by rule, then what it does."""
        lines: list[str] = []
        drafts: list[str] = []
        kept: list[Source] = []  # the papers whose line stays
        opener = "Yes: " if answer.shape is Shape.EXISTENCE and \
            asks_existence_yes(answer.question) else ""  # fmt: skip
        bullet = "- " if answer.shape is Shape.SEVERAL else ""
        compare = answer.shape is Shape.COMPARISON
        asked_if_any = not compare and asks_existence_yes(answer.question)
        job = COMPARISON_LINE_JOB if compare else LINE_JOB
        replies = self.settings.replies
        tokens = replies.comparison_tokens if compare else replies.line_tokens
        for i, paper in enumerate(papers):
            scaffold = scaffold_for(paper)
            lead = ("\n" if i and bullet else " " if i else "") + (opener if i == 0 else "")
            yield f"{lead}{bullet}{scaffold}"
            block = sources_block(answer.query, [paper], self.retriever.embed_short,
                                  self.settings.context.line_sentences)  # fmt: skip
            messages = build_messages(answer.question, block, job, note, one_source=True)
            stats, pieces = GenerationStats(), []
            yield from self._generate(answer, messages, stats, pieces,
                                      reply_prefix=scaffold, one_line=True,
                                      max_new_tokens=tokens)  # fmt: skip
            raw = "".join(pieces)
            drafts.append(f"{scaffold}{raw}")
            text = leading_sentences(raw, 2 if compare else 1)
            draft = Draft(answer.question, answer.query, answer.shape, [paper], text,
                          scaffold=scaffold)  # fmt: skip
            verdict = run_checks(draft, self.checks)
            if verdict is not None and i and verdict.check == "restatement" and asked_if_any:
                # The model found nothing to say about a later paper but the question's own
                # words. "Are there papers on X?" presumes none: on the dev split such a
                # paper was not one the question asked for (2 of 2), so the list drops it.
                # "Which papers X?" presumes several, and a paper that does just X is one
                # of them (5 of 7 were gold): it stays, quoted, as the best paper does.
                answer.notes.append(f"[{paper.rank}]: dropped from the list: its line only "
                                    "restated the question")  # fmt: skip
                continue
            if verdict is not None:
                # A comparison's part quotes as many sentences as a kept part adds.
                count = max(1, replies.comparison_quotes) if compare else 1
                quote = " ".join(closest_sentences(answer.query, paper,
                                                   self.retriever.embed_short, count))  # fmt: skip
                answer.notes.append(f"[{paper.rank}]: the model's line was withheld "
                                    f"({verdict.check}); quoting the abstract")  # fmt: skip
                draft.text = f': "{quote}"'
            answer.notes.extend(draft.notes)
            line = draft.reply.rstrip()
            line = line if line.endswith((".", '"', "!", "?")) else f"{line}."
            if compare and verdict is None:
                quoted = self._quoted(answer.query, paper, line, replies.comparison_quotes)
                if quoted:
                    yield quoted
                    line += quoted
            lines.append(line)
            kept.append(paper)
        answer.draft = "\n".join(drafts)
        sep = "\n" if bullet else " "
        text = opener + sep.join(f"{bullet}{line}" for line in lines)
        self._publish(answer, text, kept)

    @staticmethod
    def _take(answer: Answer, draft: Draft, raw: str) -> None:
        answer.draft = raw
        answer.signals.update(draft.signals)
        answer.notes.extend(draft.notes)
        answer.invalid_citations = draft.invalid_citations

    @staticmethod
    def _publish(answer: Answer, text: str, shown: list[Source]) -> None:
        checked = check_citations(text, shown)
        answer.answer = answer.model_answer = checked.text
        answer.citations = checked.citations

    @staticmethod
    def _abstain(answer: Answer, verdict: Verdict) -> None:
        answer.abstained = True
        answer.abstain_reason = verdict.reason
        answer.abstain_check = verdict.check
        answer.answer = ABSTAIN_TEXT
        answer.citations = []
