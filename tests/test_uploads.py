"""Uploads extend the index without re-reading it: the keyword side index and scoped plans.

Real Chroma, the real embedder and real bm25s; papers are made up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.ingest import ingest_papers
from rag.keyword import build_keyword_index, invalidate_keyword_index
from rag.keyword_delta import DELTA, KeywordDelta, tokenize
from rag.loaders import expand_paths, load_papers
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.store import PaperStore
from rag.uploads import add_file

from .conftest import make_settings

TOPICS = [
    ("Gradient clipping for recurrent tagging", "recurrent taggers clip gradients to stay stable"),
    ("Contrastive retrieval of legal clauses", "contrastive encoders find contract clauses"),
    ("Speech tokens for low-resource dialects", "discrete speech units help dialect recognition"),
    ("Curriculum order in code generation", "ordering programs by length speeds code models"),
    ("Sparse experts for translation", "expert routing helps rare language pairs"),
    ("Calibration of clinical classifiers", "temperature scaling calibrates clinical notes"),
]
BASE = [
    {"title": t, "abstract": f"{a}. We evaluate the approach on three benchmarks and report "
     "accuracy, memory use and training time against strong baselines."}
    for t, a in TOPICS
]  # fmt: skip
NEW = {
    "title": "Quillfern: lattice pruning for streaming parsers",
    "abstract": "We present Quillfern, which prunes parse lattices on the fly so that "
    "streaming dependency parsers keep a constant memory budget.",
}


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _base_index(tmp_path: Path, **overrides) -> Settings:
    settings = make_settings(tmp_path / "index", **overrides)
    files = expand_paths([_write(tmp_path / "base.jsonl", BASE)])
    ingest_papers(load_papers(files), settings, files=files, progress=False)
    return settings


def _main_files(settings: Settings) -> dict[str, int]:
    """The full build's files and their modification times (the side index excluded)."""
    return {
        p.name: p.stat().st_mtime_ns
        for p in settings.keyword_dir.iterdir()
        if not p.name.startswith("rag_delta")
    }


def _keyword_titles(retriever: HybridRetriever, question: str) -> list[str]:
    return [s.title for s in retriever.search(question, top_k=3, mode="keyword")]


def test_side_chunk_scores_as_the_main_index_scores_the_same_text(tmp_path: Path) -> None:
    settings = _base_index(tmp_path)
    store = PaperStore.open(settings)
    index = build_keyword_index(store, settings.keyword_dir, settings.candidate_k)
    question = "contrastive encoders for contract clauses"
    main_hits = index.retrieve(question)
    top = main_hits[0]
    assert top.score > 0
    meta, text = store.get_chunks([top.node.node_id])[top.node.node_id]

    delta = KeywordDelta()
    delta.add(["copy"], [f"{meta['title']}\n{text}"], [])
    side = delta.score(tokenize([question])[0], index.stats)
    assert side["copy"] == pytest.approx(top.score, rel=1e-4)


def test_upload_goes_to_the_side_index_and_is_found_at_once(tmp_path: Path) -> None:
    settings = _base_index(tmp_path)
    retriever = HybridRetriever(settings)
    assert _keyword_titles(retriever, "Quillfern lattice pruning") == []
    built = _main_files(settings)

    report = add_file(_write(tmp_path / "new.jsonl", [NEW]), "new.jsonl", settings)
    assert (report.added, report.total_papers) == (1, len(BASE) + 1)
    assert _main_files(settings) == built  # BM25 was not rebuilt
    assert (settings.keyword_dir / DELTA).exists()

    # Before the refresh: the loaded keyword index is the old one; dense search already
    # sees the new paper.
    assert retriever.search("Quillfern lattice pruning", top_k=1)[0].title == NEW["title"]
    retriever.refresh()
    assert _keyword_titles(retriever, "Quillfern lattice pruning")[0] == NEW["title"]
    assert retriever.count_papers() == len(BASE) + 1
    # Older papers are still found by their own words, merged with the side hits.
    assert _keyword_titles(retriever, "temperature scaling clinical")[0] == TOPICS[5][0]

    # A fresh process reads the same state without rebuilding anything.
    again = HybridRetriever(settings)
    assert _main_files(settings) == built
    assert _keyword_titles(again, "Quillfern lattice pruning")[0] == NEW["title"]

    # A plain ingest folds the side index into a full build.
    files = expand_paths([tmp_path / "base.jsonl"])
    ingest_papers(load_papers(files), settings, files=files, progress=False)
    assert not (settings.keyword_dir / DELTA).exists()
    assert _main_files(settings) != built
    assert _keyword_titles(HybridRetriever(settings), "Quillfern lattice")[0] == NEW["title"]


def test_reupload_with_changed_text_drops_the_old_words(tmp_path: Path) -> None:
    settings = _base_index(tmp_path)
    # The first version goes into the main index (a full build), the second to the side.
    full = settings.model_copy(update={"keyword_delta_papers": 0})
    add_file(_write(tmp_path / "new.jsonl", [NEW]), "new.jsonl", full)
    assert not (settings.keyword_dir / DELTA).exists()
    changed = dict(NEW, abstract=NEW["abstract"].replace("budget", "ceiling"))
    report = add_file(_write(tmp_path / "new2.jsonl", [changed]), "new.jsonl", settings)
    # Ids come from the text: the new version is added and the old one removed.
    assert (report.added, report.removed, report.total_papers) == (1, 1, len(BASE) + 1)
    assert (settings.keyword_dir / DELTA).exists()
    retriever = HybridRetriever(settings)
    assert _keyword_titles(retriever, "memory ceiling")[0] == NEW["title"]
    # The main index still holds the old version's words; its hit is stale and dropped.
    assert not [h for h in retriever.keyword.retrieve("budget") if h.score > 0]


def test_side_index_full_or_untrusted_means_a_full_build(tmp_path: Path) -> None:
    settings = _base_index(tmp_path, keyword_delta_papers=0)
    built = _main_files(settings)
    add_file(_write(tmp_path / "new.jsonl", [NEW]), "new.jsonl", settings)
    assert not (settings.keyword_dir / DELTA).exists()
    assert _main_files(settings) != built
    assert _keyword_titles(HybridRetriever(settings), "Quillfern")[0] == NEW["title"]

    # A change cut short (the mark is set before the store changes) is rebuilt on load.
    settings = settings.model_copy(update={"keyword_delta_papers": 10})
    other = dict(NEW, title="Another streaming parser", abstract="Brambleweft parses streams.")
    add_file(_write(tmp_path / "other.jsonl", [other]), "other.jsonl", settings)
    assert (settings.keyword_dir / DELTA).exists()
    invalidate_keyword_index(settings.keyword_dir)
    retriever = HybridRetriever(settings)
    assert not (settings.keyword_dir / DELTA).exists()
    assert _keyword_titles(retriever, "Brambleweft")[0] == other["title"]
    assert retriever.count_papers() == len(BASE) + 2


def test_stored_papers_of_named_ids_match_the_full_read(tmp_path: Path) -> None:
    settings = _base_index(tmp_path)
    store = PaperStore.open(settings)
    every = store.stored_papers()
    some = [*list(every)[:2], "no-such-paper"]
    assert store.stored_papers(some) == {d: every[d] for d in some[:2]}


def test_collections_keep_their_own_uploads_and_counts(tmp_path: Path) -> None:
    from rag.collections import collection_sizes
    from rag.uploads import kept_path

    settings = _base_index(tmp_path)
    thesis = settings.model_copy(update={"collection": "thesis"})
    add_file(_write(tmp_path / "new.jsonl", [NEW]), "new.jsonl", thesis)
    assert kept_path("new.jsonl", thesis) != kept_path("new.jsonl", settings)
    assert kept_path("new.jsonl", thesis).exists()
    assert not kept_path("new.jsonl", settings).exists()
    assert collection_sizes(settings) == {settings.collection: len(BASE), "thesis": 1}
