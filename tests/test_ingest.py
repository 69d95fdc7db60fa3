"""Indexing into real Chroma: incremental, no duplicates, nothing lost on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.ingest import ingest_papers
from rag.loaders import expand_paths, load_papers
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.store import PaperStore

from .conftest import make_settings

PAPERS = [
    {
        "title": f"Paper {i}",
        "abstract": f"Study number {i} of sparse attention. "
        + "We evaluate long-context language modelling with block-sparse attention patterns "
        f"and report perplexity on benchmark {i} together with memory use and throughput.",
    }
    for i in range(4)
]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _ingest(settings: Settings, *paths: Path, prune: bool = False):
    files = expand_paths(list(paths))
    return ingest_papers(load_papers(files), settings, files=files, prune=prune, progress=False)


def _stored(settings: Settings) -> dict:
    return PaperStore.open(settings).stored_papers()


def test_corpus_index_holds_79_papers_without_duplicate_chunks(corpus_settings: Settings) -> None:
    store = PaperStore.open(corpus_settings)
    papers = store.stored_papers()
    assert (
        len(papers) == 79 == store.count_papers() == HybridRetriever(corpus_settings).count_papers()
    )
    assert store.count() > 79  # some papers have several chunks; they count once
    ids = [cid for p in papers.values() for cid in p.chunk_ids]
    assert len(ids) == len(set(ids)) == store.count()
    assert all(p.complete for p in papers.values())


def test_rerun_is_incremental_and_sync_replaces_and_removes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index")
    source = _write(tmp_path / "mine.jsonl", PAPERS)
    first = _ingest(settings, source)
    assert (first.added, first.unchanged, first.total_papers) == (4, 0, 4)

    again = _ingest(settings, source)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 4, 0)

    edited = [dict(PAPERS[0], title="Renamed paper"), *PAPERS[1:3]]  # retitle 0, drop 3
    _write(source, edited)
    third = _ingest(settings, source)
    assert (third.added, third.updated, third.unchanged, third.removed) == (0, 1, 2, 1)
    stored = _stored(settings)
    assert len(stored) == 3 == PaperStore.open(settings).count_papers()
    for hybrid in (True, False):  # the count saved with BM25, and Chroma's
        assert HybridRetriever(settings.model_copy(update={"hybrid": hybrid})).count_papers() == 3
    assert sorted(p.title for p in stored.values()) == ["Paper 1", "Paper 2", "Renamed paper"]
    assert PaperStore.open(settings).count() == sum(p.n_chunks for p in stored.values())


def test_other_files_are_kept_unless_pruned(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index")
    a = _write(tmp_path / "a.jsonl", PAPERS[:2])
    b = _write(tmp_path / "b.jsonl", PAPERS[2:])
    _ingest(settings, a)
    _ingest(settings, b)
    assert len(_stored(settings)) == 4
    report = _ingest(settings, b, prune=True)
    assert report.removed == 2
    assert len(_stored(settings)) == 2


def test_paper_shared_by_two_files_survives_leaving_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index")
    a = _write(tmp_path / "a.jsonl", PAPERS[:2])
    b = _write(tmp_path / "b.jsonl", PAPERS[1:2])
    _ingest(settings, a, b)
    _write(a, PAPERS[:1])  # paper 1 leaves a.jsonl but is still in b.jsonl
    report = _ingest(settings, a)
    stored = _stored(settings)
    assert report.removed == 0 and len(stored) == 2
    shared = next(p for p in stored.values() if p.title == "Paper 1")
    assert [Path(s).name for s in shared.sources] == ["b.jsonl"]


def test_bad_file_fails_before_touching_the_index(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index")
    good = _write(tmp_path / "good.jsonl", PAPERS)
    _ingest(settings, good)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(PAPERS[0]) + "\nnot json\n")
    with pytest.raises(RagError, match=r"bad\.jsonl:2"):
        _ingest(settings, good, bad)
    assert len(_stored(settings)) == 4


def test_search_on_missing_index_says_to_ingest(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="run `rag ingest` first"):
        PaperStore.open(make_settings(tmp_path / "nothing-here"))


def test_new_chunk_settings_rechunk_every_paper(tmp_path: Path) -> None:
    source = _write(tmp_path / "mine.jsonl", PAPERS)
    _ingest(make_settings(tmp_path / "index"), source)
    finer = make_settings(tmp_path / "index", chunk_size=24, chunk_overlap=4)
    report = _ingest(finer, source)
    assert (report.updated, report.unchanged) == (4, 0)
    stored = _stored(finer)
    assert all(p.chunking == "24/4" and p.n_chunks > 1 and p.complete for p in stored.values())
    assert PaperStore.open(finer).count() == sum(p.n_chunks for p in stored.values())


def test_each_paper_stores_its_abstract_once_and_stays_readable_by_llama_index(
    corpus_settings: Settings,
) -> None:
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    store = PaperStore.open(corpus_settings)
    rows = list(store.iter_rows(["metadatas", "documents"]))
    abstracts = {m["doc_id"]: m["abstract"] for _, m, _ in rows if m["chunk"] == 0}
    assert len(abstracts) == 79
    for chunk_id, meta, text in rows:
        abstract = abstracts[meta["doc_id"]]
        copies = json.dumps(meta).count(json.dumps(abstract[-80:])[1:-1])  # not the title
        assert copies == (1 if meta["chunk"] == 0 else 0), chunk_id
        node = metadata_dict_to_node(meta, text=text)
        assert node.node_id == chunk_id
        assert node.ref_doc_id == meta["doc_id"]
        assert node.metadata["title"] == meta["title"]
        assert node.get_content() in abstract


def test_query_asking_for_more_chunks_than_stored_returns_them_all(tmp_path: Path) -> None:
    from rag.retrieve import HybridRetriever

    settings = make_settings(tmp_path / "index")
    _ingest(settings, _write(tmp_path / "mine.jsonl", PAPERS))
    retriever = HybridRetriever(settings)
    stored = retriever.store.count()
    assert stored < settings.candidate_k
    hits = retriever.store.query(retriever.embedder.embed_query("sparse attention"), 50)
    assert len(hits) == stored
    assert all(-1.0 <= cosine <= 1.0 for _, cosine, _, _ in hits)
    assert len(retriever.search("sparse attention", top_k=10)) == len(PAPERS)


def test_keyword_index_is_loaded_as_built_and_an_old_manifest_is_rebuilt(tmp_path: Path) -> None:
    from rag.keyword import MANIFEST

    settings = make_settings(tmp_path / "index")
    _ingest(settings, _write(tmp_path / "mine.jsonl", PAPERS))
    manifest = settings.keyword_dir / MANIFEST
    built = json.loads(manifest.read_text())
    assert built["papers"] == len(PAPERS) and built["chunks"] == PaperStore.open(settings).count()
    saved = {p.name: p.stat().st_mtime_ns for p in settings.keyword_dir.iterdir()}

    retriever = HybridRetriever(settings)
    assert {p.name: p.stat().st_mtime_ns for p in settings.keyword_dir.iterdir()} == saved
    assert retriever.count_papers() == len(PAPERS)
    stored_ids = {cid for p in _stored(settings).values() for cid in p.chunk_ids}
    hits = retriever.keyword.retrieve("block-sparse attention perplexity")
    assert hits and {hit.node.node_id for hit in hits} <= stored_ids

    # A manifest from before paper counts were kept: rebuilt, and counted, on load.
    manifest.write_text(json.dumps({"chunks": built["chunks"]}))
    assert HybridRetriever(settings).count_papers() == len(PAPERS)
    rebuilt = json.loads(manifest.read_text())
    assert rebuilt["build"] != built["build"]
    assert {k: rebuilt[k] for k in ("chunks", "papers", "mean_length")} == {
        k: built[k] for k in ("chunks", "papers", "mean_length")
    }
