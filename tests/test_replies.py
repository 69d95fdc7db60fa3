"""Each question shape end to end: real index (MiniLM, Chroma, BM25) of made-up papers,
real small generator. What the rules fix is asserted (which papers, titles, markers,
one line per paper); what the small test model writes after them is not."""

from __future__ import annotations

import json

import pytest

from rag.checks import build_gates
from rag.context import closest_sentences
from rag.ingest import ingest_papers
from rag.loaders import load_papers
from rag.markers import cited_numbers
from rag.pipeline import Assistant
from rag.settings import Settings
from rag.terms import content_terms
from rag.types import Answer, Shape
from tests.conftest import SMALL_GENERATOR, make_settings
from tests.made_up import PAPERS

QUILL, HARROW, SPINDLE, THINNING = (p["title"] for p in PAPERS[:4])


@pytest.fixture(scope="module")
def made_up(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder = tmp_path_factory.mktemp("made-up")
    corpus = folder / "papers.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    # The comparison's answerable limit is the default generator's; the test model's leads
    # mean nothing, so the check is off here and its own test sets the limit.
    settings: Settings = make_settings(folder / "index", generator=SMALL_GENERATOR)
    settings.checks.min_comparison_lead = None
    ingest_papers(load_papers([corpus]), settings, files=[corpus], progress=False)
    return Assistant(settings)


def _cited_titles(answer) -> list[str]:
    return [c.title for c in answer.citations]


def _drafted(answer: Answer) -> list[str]:
    """One entry per paper a line reply drafted (a model's line may end in a newline)."""
    return [d for d in answer.draft.split("\n") if d.strip()]


def test_is_there_work_on_is_answered_yes_with_the_papers_title(made_up: Assistant) -> None:
    answer = made_up.ask("Is there work on removing attention heads from speech transformers?")
    assert answer.shape is Shape.EXISTENCE and not answer.abstained
    assert answer.answer.startswith(f"Yes: {SPINDLE} [1]")
    assert _cited_titles(answer) == [SPINDLE]


def test_which_paper_is_answered_with_the_title(made_up: Assistant) -> None:
    answer = made_up.ask("Which paper learns audio tokens from unlabelled speech?")
    assert answer.shape is Shape.EXISTENCE
    assert answer.answer.startswith(f"{HARROW} [1]")


def test_several_papers_get_one_cited_line_each(made_up: Assistant) -> None:
    answer = made_up.ask("Which papers prune speech recognisers, and how do they differ?")
    assert answer.shape is Shape.SEVERAL and not answer.abstained
    lines = answer.answer.split("\n")
    assert all(line.startswith("- ") for line in lines)
    for line, citation in zip(lines, answer.citations, strict=True):
        assert cited_numbers(line) == [citation.n]  # each line cites its own paper
    # Both pruning papers were chosen, and "Which papers" presumes several: a line that
    # only restated the question (the small test model's often do) is quoted, not dropped.
    drafted = _drafted(answer)
    assert any(d.startswith(SPINDLE) for d in drafted)
    assert any(d.startswith(THINNING) for d in drafted)
    assert len(lines) == len(drafted) >= 2
    assert not [n for n in answer.notes if "dropped from the list" in n]


def test_are_there_papers_lists_only_papers_with_something_to_say(made_up: Assistant) -> None:
    answer = made_up.ask("Are there papers that prune speech recognisers?")
    assert answer.shape is Shape.SEVERAL and not answer.abstained
    # "Are there papers" presumes none: a later paper whose line only restated the
    # question is dropped from the list, and the notes say which.
    dropped = [n for n in answer.notes if "dropped from the list" in n]
    assert len(answer.answer.split("\n")) + len(dropped) == len(_drafted(answer))
    assert all(f"[{c.n}]: dropped" not in " ".join(dropped) for c in answer.citations)


def test_a_comparison_cites_both_named_papers(made_up: Assistant) -> None:
    answer = made_up.ask("How does Quill differ from Harrow?")
    assert answer.shape is Shape.COMPARISON and not answer.abstained
    assert set(_cited_titles(answer)) == {QUILL, HARROW}


def test_a_comparisons_parts_quote_each_papers_closest_sentences(made_up: Assistant) -> None:
    question = "How does Quill differ from Harrow?"
    answer = made_up.ask(question)
    assert not answer.abstained and answer.shape is Shape.COMPARISON
    cited = {c.doc_id for c in answer.citations}
    papers = [s for s in answer.sources if s.doc_id in cited]
    assert len(papers) == 2
    said = content_terms(answer.answer)
    for paper in papers:
        # Each paper's closest sentences are quoted, unless its part already says them.
        for sentence in closest_sentences(answer.query, paper, made_up.retriever.embed_short, 2):
            assert sentence in answer.answer or content_terms(sentence) <= said
    replies = made_up.settings.replies
    saved = replies.comparison_quotes
    try:
        replies.comparison_quotes = 0
        unquoted = made_up.ask(question)
        assert "The abstract:" not in unquoted.answer
        assert {c.doc_id for c in unquoted.citations} == cited
    finally:
        replies.comparison_quotes = saved


def test_a_comparison_is_asked_whether_its_papers_state_the_answer(made_up: Assistant) -> None:
    checks = made_up.settings.checks
    saved = checks.min_comparison_lead
    try:
        checks.min_comparison_lead = 1e9  # no lead clears it: withheld before any line
        made_up.gates = build_gates(checks)
        withheld = made_up.ask("How does Quill differ from Harrow?")
        assert withheld.abstained and withheld.abstain_check == "answerable"
        assert "answerable_lead" in withheld.signals and not withheld.citations
        checks.min_comparison_lead = -1e9  # every lead clears it: the lines are written
        made_up.gates = build_gates(checks)
        kept = made_up.ask("How does Quill differ from Harrow?")
        assert not kept.abstained and set(_cited_titles(kept)) == {QUILL, HARROW}
        assert kept.signals["answerable_lead"] == withheld.signals["answerable_lead"]
    finally:
        checks.min_comparison_lead = saved
        made_up.gates = build_gates(checks)


def test_free_replies_cite_only_what_the_model_was_shown(made_up: Assistant) -> None:
    for question, shape in [
        ("Does Spindle decode faster than before pruning?", Shape.YESNO),
        ("How many token types does Harrow learn?", Shape.FACT),
        ("Which speech model decodes the fastest?", Shape.SUPERLATIVE),
    ]:
        answer = made_up.ask(question)
        assert answer.shape is shape
        shown = {s.rank for s in answer.sources}
        assert all(c.n in shown for c in answer.citations)
        assert answer.abstained or answer.citations  # an answer always carries a citation


def test_a_superlative_over_stated_figures_quotes_the_extreme_one(made_up: Assistant) -> None:
    # Quill states "eleven low-resource languages"; no other abstract counts them. Shown the
    # closest passages, a model would compare only those: the figures are read in code.
    answer = made_up.ask("Which paper covers the most low-resource languages?")
    assert answer.shape is Shape.SUPERLATIVE and not answer.abstained
    assert answer.sources[0].title == QUILL
    assert _cited_titles(answer) == [QUILL]
    assert "11" in answer.answer and "eleven low-resource languages" in answer.answer
    # a count no abstract states cannot be compared: declined, not guessed by the model
    unstated = made_up.ask("Which speech recognition paper uses the most microphones?")
    assert unstated.abstained and unstated.abstain_check == "superlative"
    assert "microphones" in unstated.abstain_reason
    # held to the relevance floor like any question: off the collection, no figure is read
    off = made_up.ask("Which country has the most people?")
    assert off.abstained and off.abstain_check == "relevance"


def test_a_yes_no_reply_opens_with_the_verdict_its_scores_choose(made_up: Assistant) -> None:
    question = "Does Spindle decode faster than before pruning?"
    replies = made_up.settings.replies
    kept = replies.yes_margin
    try:
        for margin, word in ((-1000.0, "Yes"), (1000.0, "No")):
            replies.yes_margin = margin  # "Yes" needs a lead over "No" of more than this
            answer = made_up.ask(question)
            assert isinstance(answer.signals["yes_lead"], float)
            assert answer.draft.startswith(f"{word}:")
            assert answer.abstained or answer.answer.startswith(f"{word}:")
    finally:
        replies.yes_margin = kept


def test_a_follow_up_retrieves_the_previous_answers_paper_first(made_up: Assistant) -> None:
    history = [
        {"role": "user", "content": "Which paper learns audio tokens without transcripts?"},
        {"role": "assistant", "content": "Its tokens come from unlabelled speech [1]."},
    ]
    assert made_up.search("How many token types does it use?", history)[0].title == HARROW
    two = [
        {"role": "user", "content": "Which papers prune speech models?"},
        {"role": "assistant", "content": "Spindle removes attention heads [1], and another "
         "paper prunes whole rows of weight matrices [2]."},
    ]  # fmt: skip
    assert made_up.search("How much memory does the second one save?", two)[0].title == THINNING
    assert made_up.search("How much faster does the first one decode?", two)[0].title == SPINDLE
    tessellate = made_up.search("What is Tessellate?")[0].doc_id
    cited = [
        {"role": "user", "content": "Tell me about image tiling."},
        {"role": "assistant", "content": "It tiles images [1].", "cited": [tessellate]},
    ]
    assert made_up.search("How much faster is it?", cited)[0].doc_id == tessellate


def test_a_follow_up_reply_reads_and_cites_only_the_paper_it_follows(made_up: Assistant) -> None:
    tessellate = made_up.search("What is Tessellate?")[0].doc_id
    history = [
        {"role": "user", "content": "Tell me about image tiling."},
        {"role": "assistant", "content": "It tiles images [1].", "cited": [tessellate]},
    ]
    # "faster" also matches Spindle's decoding speed-up; the question is about Tessellate.
    answer = made_up.ask("How much faster does it run?", history)
    assert answer.followed == [tessellate]
    assert answer.abstained or {c.doc_id for c in answer.citations} == {tessellate}
    fresh = made_up.ask("How much faster does Spindle decode?", history)  # no pronoun cue
    assert fresh.followed == []


def test_off_collection_questions_abstain_in_every_shape(made_up: Assistant) -> None:
    for question in ("Is there work on volcanic eruptions in the Pacific?",
                     "Which papers study medieval tax law?",
                     "What is the capital of Australia?"):  # fmt: skip
        answer = made_up.ask(question)
        assert answer.abstained and answer.abstain_check == "relevance", question


def test_a_comparison_with_one_side_missing_from_the_collection_abstains(
    made_up: Assistant,
) -> None:
    # The question matches Quill well; the other side is in no abstract.
    answer = made_up.ask(
        "How do Quill's sparse adapters for low-resource speech recognition "
        "differ from volcanic eruption forecasts?"
    )
    assert answer.shape is Shape.COMPARISON
    assert answer.abstained and answer.abstain_check == "relevance"
    assert made_up.ask("How does Quill differ from Harrow?").abstained is False


def test_a_yes_no_finding_is_followed_by_its_sources_closest_sentences(made_up: Assistant) -> None:
    question = "Does Spindle decode faster after pruning?"
    sources = made_up.search(question)
    spindle = next(s for s in sources if s.title == SPINDLE)
    answer = Answer(question, question, "", False, sources, Shape.YESNO)
    count = made_up.settings.replies.yes_no_quotes
    closest = closest_sentences(question, spindle, made_up.retriever.embed_short, count)
    assert count >= 2 and len(closest) >= 2
    # A finding that holds none of them gets the cited abstract's closest sentences, quoted.
    added = made_up._evidence(answer, f"Yes: it is quicker [{spindle.rank}].", sources)
    assert added == f' The abstract: "{" ".join(closest)}" [{spindle.rank}]'
    # One the finding already holds is not quoted again.
    held = made_up._evidence(answer, f"Yes: {closest[0]} [{spindle.rank}]", sources)
    assert held == f' The abstract: "{" ".join(closest[1:])}" [{spindle.rank}]'
    # A finding that holds them all gets nothing more.
    said = " ".join(closest)
    assert made_up._evidence(answer, f"Yes: {said} [{spindle.rank}]", sources) == ""


def test_what_is_a_name_gets_the_title_that_glosses_it() -> None:
    from rag.pipeline import named_title
    from tests.made_up import source

    quill = source(0)  # "Quill: Sparse Adapters for Low-Resource Speech Recognition"
    said = "Quill is a speech recogniser [1]."
    assert named_title("What is Quill?", said, [quill]) == f' The paper: "{QUILL}" [1].'
    # not when the answer already says what the title does, or cites another paper
    glossed = "Quill adds sparse adapters for low-resource speech recognition [1]."
    assert named_title("What is Quill?", glossed, [quill]) == ""
    assert named_title("What is Quill?", "Quill is a recogniser.", [quill]) == ""
    # not when the question asks something else of it
    assert named_title("What is the main result of Quill?", said, [quill]) == ""


def test_which_paper_puts_first_the_paper_the_question_is_likeliest_after(
    made_up: Assistant,
) -> None:
    settings = made_up.settings.model_copy(deep=True)
    # Every top paper scored, and any lead reorders: the plumbing, whatever the test model.
    settings.context.likelihood_gap, settings.context.likelihood_margin = 1.0, 0.0
    scoring = Assistant(settings, retriever=made_up.retriever, generator=made_up.generator)
    answer = scoring.ask("Which paper learns audio tokens from unlabelled speech?")
    assert answer.shape is Shape.EXISTENCE
    assert answer.signals["likelihood_lead"] >= 0
    assert [s.rank for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    assert answer.answer.startswith(f"{answer.sources[0].title} [1]")
    moved = any("likelier after this paper" in note for note in answer.notes)
    assert moved == (answer.signals["likelihood_lead"] > 0)
