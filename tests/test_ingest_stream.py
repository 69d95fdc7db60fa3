"""Streamed ingest (a big JSONL read a line at a time, indexed in slices): the same results
and rules as a whole-file ingest. Real Chroma and embedder; made-up papers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.documents import make_paper
from rag.errors import RagError
from rag.ingest_stream import ingest_streamed, should_stream
from rag.loaders import load_papers
from rag.retrieve import HybridRetriever
from rag.store import PaperStore

from .conftest import make_settings

RECORDS = [
    {
        "id": f"2101.{i:05d}",
        "title": f"Made-up paper {i}",
        "authors": "Ana Lima and Chen Wei",
        "categories": "cs.CL",
        "versions": [{"version": "v1", "created": "Mon, 4 Jan 2021 10:00:00 GMT"}],
        "abstract": f"Paper {i} studies method number {i} for counting lighthouses; it "
        f"finds {i + 3} of them on a made-up coast and compares with {i + 1} baselines.",
    }
    for i in range(8)
]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_streamed_ingest_matches_a_whole_file_ingest(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index", stream_over_mb=0, stream_papers=3)
    big = _write(tmp_path / "arxiv.jsonl", [*RECORDS, RECORDS[2]])  # a duplicate line
    assert should_stream([big], settings)
    report = ingest_streamed([big], settings, progress=False)
    assert (report.added, report.total_papers) == (8, 8)
    store = PaperStore.open(settings)
    stored = store.stored_papers()
    whole = {p.doc_id: p for p in load_papers([big])}
    assert set(stored) == set(whole)
    assert all(stored[d].meta == whole[d].meta for d in whole)
    assert HybridRetriever(settings).count_papers() == 8  # BM25 rebuilt once, at the end

    # Re-run after an edit: one paper left the file, one changed, one is also in another.
    other = _write(tmp_path / "other.jsonl", [RECORDS[5]])
    ingest_streamed([other], settings, progress=False)
    changed = dict(RECORDS[1], title="Made-up paper 1, revised")
    again = ingest_streamed([_write(big, [RECORDS[0], changed, *RECORDS[2:5], *RECORDS[6:]])],
                            settings, progress=False)  # fmt: skip
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 2, 6, 0)
    stored = PaperStore.open(settings).stored_papers()
    assert len(stored) == 8
    kept = stored[make_paper(RECORDS[5]["abstract"], None, "x").doc_id]
    assert [Path(s).name for s in kept.sources] == ["other.jsonl"]  # kept, minus arxiv.jsonl

    gone = ingest_streamed([_write(big, RECORDS[:4])], settings, progress=False)
    assert gone.removed == 3 and gone.total_papers == 5


def test_a_bad_line_stops_the_stream_before_the_index_changes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index", stream_over_mb=0, stream_papers=3)
    path = tmp_path / "arxiv.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS) + "{broken\n")
    with pytest.raises(RagError, match=r"arxiv\.jsonl:9: malformed JSON"):
        ingest_streamed([path], settings, progress=False)
    assert PaperStore.open(settings, create=True).count() == 0
    skipped: list[str] = []
    report = ingest_streamed([path], settings, progress=False, skipped=skipped)
    assert report.added == 8 and len(skipped) == 1
