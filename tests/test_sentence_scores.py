"""A chunk's dense rank from its best sentence too (rag/sentence_scores.py), with the real
MiniLM embedder and a real Chroma index of made-up papers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import RememberedVectors, embedder_for
from rag.sentence_scores import SentenceScorer
from rag.settings import Settings
from rag.terms import split_sentences
from tests.conftest import make_settings

# One paper says the asked thing in one sentence among others about something else; the
# rest are about the broader topic as a whole, so their whole-chunk vectors are closer.
BURIED = {
    "title": "Nimbus: Calibrating Weather Radar with Rain Gauges",
    "abstract": "We calibrate weather radar reflectivity against a network of 400 rain "
    "gauges. The calibration lowers rainfall error by a third in mountain valleys. Radar "
    "beams blocked by ridges are corrected with a terrain model. As a side study, we train "
    "a recogniser that transcribes the whistled language shepherds use across the valleys. "
    "Seasonal drift of the radar is tracked with monthly gauge comparisons.",
}
TOPICAL = [
    {
        "title": "Quill: Sparse Adapters for Low-Resource Speech Recognition",
        "abstract": "We present Quill, a speech recogniser that adds sparse adapters to a "
        "frozen acoustic encoder. Quill lowers word error rate on eleven low-resource "
        "languages while training only 3% of the weights.",
    },
    {
        "title": "Harrow: Speech Recognition for Tonal Languages",
        "abstract": "Harrow is a speech recogniser for tonal languages. It models pitch "
        "contours beside phones and lowers the error on four tonal languages.",
    },
    {
        "title": "Spindle: Recognising Speech in Noisy Markets",
        "abstract": "Spindle recognises speech recorded in crowded markets. A denoising front "
        "end trained on market noise halves the word error rate of a standard recogniser.",
    },
]
QUESTION = "Is there a recogniser for whistled languages?"


@pytest.fixture(scope="module")
def index_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from rag.ingest import ingest_papers
    from rag.loaders import load_file

    folder = tmp_path_factory.mktemp("sentence-scores")
    corpus = folder / "papers.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in [BURIED, *TOPICAL]))
    settings = make_settings(folder / "index", hybrid=False)  # the dense side alone
    ingest_papers(load_file(corpus), settings, files=[corpus], progress=False)
    return settings


def _rank_of_buried(settings: Settings, sentence_scores: bool) -> int:
    from rag.retrieve import HybridRetriever

    retriever = HybridRetriever(settings.model_copy(update={"sentence_scores": sentence_scores}))
    titles = [s.title for s in retriever.search(QUESTION, top_k=4)]
    return titles.index(BURIED["title"]) + 1


def test_a_paper_saying_it_in_one_sentence_ranks_higher(index_settings: Settings) -> None:
    whole_chunk = _rank_of_buried(index_settings, sentence_scores=False)
    with_sentences = _rank_of_buried(index_settings, sentence_scores=True)
    assert with_sentences == 1
    assert whole_chunk > 1  # the setting is what moved it


def test_the_reported_dense_score_stays_the_chunks_own(index_settings: Settings) -> None:
    """The relevance floors are calibrated on the chunk cosine: re-ranking keeps it."""
    from rag.retrieve import HybridRetriever

    scores = {}
    for flag in (False, True):
        retriever = HybridRetriever(index_settings.model_copy(update={"sentence_scores": flag}))
        scores[flag] = {s.doc_id: s.dense_score for s in retriever.search(QUESTION, top_k=4)}
    assert scores[True] == pytest.approx(scores[False])


class _Counting:
    """The real embedder, counting the texts it is given."""

    def __init__(self, settings: Settings) -> None:
        self.embedder = embedder_for(settings)
        self.texts = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.embedder.embed_short(texts)


def test_best_is_the_closest_sentence_and_vectors_are_cached(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    embed = _Counting(settings)
    scorer = SentenceScorer(embed)
    query = np.asarray(embed.embedder.embed_query(QUESTION), dtype=np.float32)
    chunks = {"nimbus:0": BURIED["abstract"], "quill:0": TOPICAL[0]["abstract"]}

    best = scorer.best(query, chunks)

    sentences = split_sentences(BURIED["abstract"])
    direct = embed.embedder.embed_short(sentences) @ query
    assert best["nimbus:0"] == pytest.approx(float(direct.max()), abs=1e-5)
    assert int(direct.argmax()) == 3  # the whistled-language sentence
    first = embed.texts
    assert first == len(sentences) + len(split_sentences(TOPICAL[0]["abstract"]))

    scorer.best(query, chunks)
    assert embed.texts == first  # nothing embedded twice

    scorer.best(query, {"nimbus:0": BURIED["abstract"] + " A new closing sentence."})
    assert embed.texts == first + len(sentences) + 1  # a changed text is embedded again

    scorer.clear()
    scorer.best(query, {"quill:0": TOPICAL[0]["abstract"]})
    assert embed.texts == first + len(sentences) + 1 + 2


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    embed = _Counting(make_settings(tmp_path))
    scorer = SentenceScorer(embed, cache_chunks=2)
    query = np.asarray(embed.embedder.embed_query(QUESTION), dtype=np.float32)
    for n, paper in enumerate(TOPICAL):
        scorer.best(query, {f"p{n}:0": paper["abstract"]})
    scorer.best(query, {"p0:0": TOPICAL[0]["abstract"]})  # evicted: embedded again
    assert embed.texts == sum(len(split_sentences(p["abstract"])) for p in TOPICAL) + 2


def test_remembered_vectors_embed_each_text_once_and_forget_the_oldest(tmp_path: Path) -> None:
    embed = _Counting(make_settings(tmp_path))
    remembered = RememberedVectors(embed, size=3)
    sentences = split_sentences(BURIED["abstract"])[:3]

    vectors = remembered([sentences[0], sentences[1], sentences[0]])
    assert embed.texts == 2  # a repeated text is embedded once
    direct = embed.embedder.embed_short(sentences[:2])
    assert np.allclose(vectors[0], direct[0], atol=1e-4)
    assert np.allclose(vectors[2], direct[0], atol=1e-4)
    assert np.allclose(vectors[1], direct[1], atol=1e-4)

    remembered([sentences[1], sentences[2]])
    assert embed.texts == 3  # only the new sentence
    remembered(["A fourth, made-up sentence about whistles."])  # the oldest (sentences[0]) goes
    remembered([sentences[0]])
    assert embed.texts == 5
    assert remembered([]).shape[0] == 0
