"""Which retrieved papers answer a question (rag.selection) and what the model reads of
each (rag.context); made-up papers, plus the relevance floor on the real index."""

from __future__ import annotations

from rag.context import closest_sentence, excerpts
from rag.loaders import load_default_corpus
from rag.retrieve import HybridRetriever
from rag.selection import listed, plausible, relevance, sentence_relevance
from rag.settings import ContextSettings, Settings
from rag.terms import split_sentences
from rag.types import Source
from tests.made_up import source


def test_off_topic_questions_fall_below_the_floor_and_a_papers_own_title_clears_it(
    corpus_settings: Settings,
) -> None:
    retriever = HybridRetriever(corpus_settings)
    floor = corpus_settings.context.min_relevance
    for question in ("What is the capital of Australia?", "How do I bake sourdough bread?"):
        assert relevance(question, retriever.search(question)[0]) < floor
    titled = [p for p in load_default_corpus() if not p.title_is_derived][:5]
    for paper in titled:
        assert relevance(paper.title, retriever.search(paper.title)[0]) >= floor


def test_the_closest_sentence_floor_passes_titles_and_not_off_topic_questions(
    corpus_settings: Settings,
) -> None:
    retriever = HybridRetriever(corpus_settings)
    floor = corpus_settings.context.min_sentence_relevance
    assert floor is not None
    for question in ("What is the capital of Australia?", "How do I bake sourdough bread?"):
        top = retriever.search(question)[0]
        assert top.sentence_score is not None
        assert sentence_relevance(question, top) < floor
    titled = [p for p in load_default_corpus() if not p.title_is_derived][:5]
    for paper in titled:
        top = retriever.search(paper.title)[0]
        # Never below the chunk's own measure: the higher of the two cosines counts.
        assert sentence_relevance(paper.title, top) >= max(floor, relevance(paper.title, top))


def test_the_floor_reads_the_closest_sentence_except_for_existence_questions(
    assistant, corpus_settings: Settings
) -> None:
    from rag.pipeline import Assistant

    def with_floor(floor: float | None) -> Assistant:
        settings = corpus_settings.model_copy(deep=True)
        settings.context.min_sentence_relevance = floor
        return Assistant(settings, retriever=assistant.retriever)

    title = next(p.title for p in load_default_corpus() if not p.title_is_derived)
    question = f"What does '{title}' report?"
    answer = with_floor(1.5).retrieve_or_abstain(question).answer
    assert answer.abstained and answer.abstain_check == "relevance"
    assert answer.signals["sentence_relevance"] < 1.5  # a cosine plus at most 0.25
    # Unset, the chunk's relevance and ``min_relevance`` decide, as before.
    answer = with_floor(None).retrieve_or_abstain(question).answer
    assert not answer.abstained and "sentence_relevance" not in answer.signals
    # "Is there work on ...?" keeps its own floor on the chunk's relevance.
    existence = with_floor(1.5).retrieve_or_abstain(f"Is there work on {title}?").answer
    assert not existence.abstained and "sentence_relevance" not in existence.signals


def test_plausible_sources_are_the_best_and_those_close_to_it() -> None:
    settings = ContextSettings(context_margin=0.1, min_relevance=0.3, context_sources=5)
    question = "xylophone"  # no word in common: relevance is the dense score alone
    ranked = [source(0, 1, 0.70), source(2, 2, 0.65), source(4, 3, 0.40)]
    chosen = plausible(question, ranked, settings)
    assert [s.doc_id for s in chosen] == ["doc-0", "doc-2"]
    assert plausible(question, [], settings) == []


def test_a_list_reply_takes_papers_within_the_margin_and_at_least_two() -> None:
    settings = ContextSettings(several_margin=0.05, min_relevance=0.3, several_max=5)
    ranked = [source(2, 1, 0.70), source(3, 2, 0.50), source(5, 3, 0.20)]
    chosen = listed("xylophone", ranked, settings)
    assert [s.doc_id for s in chosen] == ["doc-2", "doc-3"]  # plural: the second clears the floor
    few = ContextSettings(several_margin=1.0, min_relevance=0.0, several_max=2)
    assert len(listed("xylophone", ranked, few)) == 2


def test_an_existence_list_does_not_add_a_second_paper_the_margin_leaves_out() -> None:
    """ "Are there papers on ...?" presumes no plural: one paper if one stands out."""
    settings = ContextSettings(several_margin=0.05, min_relevance=0.3, several_max=5)
    ranked = [source(2, 1, 0.70), source(3, 2, 0.50), source(5, 3, 0.20)]
    chosen = listed("xylophone", ranked, settings, at_least_two=False)
    assert [s.doc_id for s in chosen] == ["doc-2"]


def test_each_source_shows_its_first_sentence_and_the_closest_ones(
    corpus_settings: Settings,
) -> None:
    retriever = HybridRetriever(corpus_settings)
    sources = [source(0, 1), source(2, 2)]
    question = "How much faster does head pruning decode?"
    shown = excerpts(question, sources, retriever.embed_short, budget=4)
    for paper, sentences in zip(sources, shown, strict=True):
        assert sentences[0] == split_sentences(paper.text)[0]  # what the paper is about
        assert len(sentences) == 2
    assert any("1.8 times faster" in s for s in shown[1])
    assert "1.8 times faster" in closest_sentence(question, sources[1], retriever.embed_short)


def test_a_yes_no_excerpt_also_keeps_each_abstracts_closing_sentence(
    corpus_settings: Settings,
) -> None:
    retriever = HybridRetriever(corpus_settings)
    text = (
        "Quill adds sparse adapters to a frozen speech encoder. Adapters sit after every "
        "second layer. Quill lowers word error rate by 12% on eleven languages. Training "
        "takes two days on one GPU. Sparse adapters are a good default for rare languages."
    )
    quill = Source(1, "doc-q", "Quill", text, 1.0, 0.6, None, "")
    question = "Does Quill lower the word error rate?"
    sentences = split_sentences(text)
    (plain,) = excerpts(question, [quill], retriever.embed_short, budget=2)
    (closing,) = excerpts(question, [quill], retriever.embed_short, budget=2, keep_last=True)
    assert plain == [sentences[0], sentences[2]]  # what it is, and the closest sentence
    assert closing == [sentences[0], sentences[2], sentences[-1]]  # and how it concludes


def test_a_word_cap_leaves_out_the_sentences_least_like_the_question_first(
    corpus_settings: Settings,
) -> None:
    retriever = HybridRetriever(corpus_settings)
    text = (
        "Quill adds sparse adapters to a frozen speech encoder. Adapters sit after every "
        "second layer of the encoder, which is never updated during training. Quill lowers "
        "word error rate by 12% on eleven languages. Training takes two days on one GPU."
    )
    quill = Source(1, "doc-q", "Quill", text, 1.0, 0.6, None, "")
    question = "By how much does Quill lower the word error rate?"
    sentences = split_sentences(text)
    (whole,) = excerpts(question, [quill], retriever.embed_short, budget=4)
    assert whole == sentences
    (capped,) = excerpts(question, [quill], retriever.embed_short, budget=4, max_words=25)
    # The first sentence (what Quill is) and the closest one stay, in the abstract's order.
    assert capped[0] == sentences[0] and sentences[2] in capped
    assert sum(len(s.split()) for s in capped) <= 25 < sum(len(s.split()) for s in whole)
    (floor,) = excerpts(question, [quill], retriever.embed_short, budget=4, max_words=1)
    assert floor == [sentences[0], sentences[2]]  # never fewer than those two


def test_keyword_search_leaves_out_the_words_that_ask_for_papers() -> None:
    from rag.keyword import keyword_query

    # Abstracts say "this paper" too: as search terms these words favour whichever do.
    assert keyword_query("Which papers prune speech models?") == "Which prune speech models?"
    assert keyword_query("Is there work on image tiling in this collection?") == (
        "Is there on image tiling in this ?"
    )
    assert keyword_query("Papers?") == "Papers?"  # nothing else to search for: kept
