"""Hybrid retrieval over the real corpus index."""

from __future__ import annotations

from rag.retrieve import HybridRetriever
from rag.settings import Settings


def _titles(settings: Settings, question: str, **overrides: object) -> list[str]:
    retriever = HybridRetriever(settings.model_copy(update=overrides))
    return [s.title for s in retriever.search(question)]


def test_exact_name_and_number_questions_find_their_paper(corpus_settings: Settings) -> None:
    titles = _titles(corpus_settings, "How many parameters does Megatron-Turing NLG have?")
    assert titles[0].startswith("Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B")


def test_paraphrase_without_shared_keywords(corpus_settings: Settings) -> None:
    titles = _titles(corpus_settings, "erasing copyrighted novels from a chatbot's memory")
    assert "Who's Harry Potter? Approximate Unlearning in LLMs" in titles[:3]


def test_acronym_found_by_keyword_side(corpus_settings: Settings) -> None:
    retriever = HybridRetriever(corpus_settings)
    top = retriever.search("What is DCIS?")[0]
    assert "Divide-and-Conquer Incremental Search (DCIS)" in top.text
    assert top.keyword_score is not None and top.keyword_score > 0


def test_sources_are_papers_with_scores_and_full_text(corpus_settings: Settings) -> None:
    sources = HybridRetriever(corpus_settings).search("reward models for alignment", top_k=5)
    assert [s.rank for s in sources] == [1, 2, 3, 4, 5]
    assert len({s.doc_id for s in sources}) == 5
    assert all(sources[i].score >= sources[i + 1].score for i in range(4))
    assert all(len(s.text) > 300 and s.title for s in sources)


def test_dense_only_setting_skips_bm25(corpus_settings: Settings) -> None:
    retriever = HybridRetriever(corpus_settings.model_copy(update={"hybrid": False}))
    assert retriever.keyword is None
    assert all(s.keyword_score is None for s in retriever.search("What is DCIS?"))
