"""What the index holds stays bounded and is never lost quietly: storage limits, the
manifest and `rag repair`, one writer at a time, merges reported (issue #17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.ingest import ensure_index, ingest_papers
from rag.loaders import expand_paths, load_papers
from rag.lock import writer_lock
from rag.manifest import read_manifest
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.store import PaperStore
from rag.uploads import add_file
from tests.conftest import ROOT, make_settings, subprocess_env

SENTENCE = "The Quillwort tokenizer segments rare words into reusable pieces. "


def _papers(prefix: str, n: int) -> list[dict]:
    return [
        {
            "title": f"{prefix} study {i}",
            "abstract": f"{prefix} study {i} measures how block-sparse attention trades "
            f"memory for accuracy on long documents; variant {i} keeps {i + 2} heads dense "
            "and reports perplexity, throughput and memory on three made-up benchmarks.",
        }
        for i in range(n)
    ]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _ingest(settings: Settings, *paths: Path, **kwargs):
    files = expand_paths(list(paths))
    return ingest_papers(load_papers(files), settings, files=files, progress=False, **kwargs)


def _rag(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env=subprocess_env(RAG_DATA_DIR=str(data_dir), **env), timeout=600,
    )  # fmt: skip


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --- 1. storage limits -----------------------------------------------------------------


def test_a_megabyte_abstract_is_refused_by_name_and_the_index_is_unchanged(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    _ingest(settings, _write(tmp_path / "good.jsonl", _papers("Kept", 3)))
    before = _folder_bytes(settings.chroma_dir)
    huge = _write(tmp_path / "huge.jsonl", [{"title": "Huge", "abstract": SENTENCE * 16000}])
    with pytest.raises(RagError, match=r"huge\.jsonl: 'Huge' has an abstract of 1,055,999 "):
        _ingest(settings, huge)
    with pytest.raises(RagError, match="RAG_MAX_ABSTRACT_CHARS"):
        add_file(huge, "huge.jsonl", settings)
    assert not (settings.data_dir / "uploads" / "huge.jsonl").exists()
    assert PaperStore.open(settings).count_papers() == 3
    assert _folder_bytes(settings.chroma_dir) < before + 2**20
    mixed = _write(tmp_path / "mixed.jsonl", [*_papers("Other", 1), {"title": "Huge",
                   "abstract": SENTENCE * 16000}])  # fmt: skip
    report = add_file(mixed, "mixed.jsonl", settings, skip_bad=True)
    assert report.total_papers == 4
    assert any("'Huge' has an abstract of" in note for note in report.notes)


def test_index_size_grows_linearly_with_abstract_length(tmp_path: Path) -> None:
    """Each abstract is stored once (on its first chunk): four times the text is about four
    times the bytes, where a copy per chunk made it sixteen."""
    sizes = {}
    for n in (1000, 4000):  # ~60k and ~260k characters
        settings = make_settings(
            tmp_path / str(n), max_abstract_chars=10**6, max_chunks_per_paper=10**4
        )
        _ingest(settings, _write(tmp_path / f"{n}.jsonl", [
            {"title": "Long", "abstract": SENTENCE * n}, *_papers("Small", 1)]))  # fmt: skip
        sizes[n] = _folder_bytes(settings.chroma_dir)
        rows = list(PaperStore.open(settings).iter_rows(["metadatas"]))
        assert sum("abstract" in meta for _, meta, _ in rows) == 2  # one per paper
    empty = make_settings(tmp_path / "empty")
    _ingest(empty, _write(tmp_path / "empty.jsonl", _papers("Small", 1)))
    base = _folder_bytes(empty.chroma_dir)
    growth = (sizes[4000] - base) / (sizes[1000] - base)
    assert 2.5 < growth < 6, (sizes, base)


def test_a_paper_over_the_chunk_cap_is_refused_by_name(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", max_chunks_per_paper=4)
    long = _write(tmp_path / "long.jsonl", [{"title": "Longish", "abstract": SENTENCE * 120}])
    with pytest.raises(RagError, match=r"'Longish' \(.*long\.jsonl\) splits into \d+ chunks"):
        _ingest(settings, long)


def test_search_reads_the_abstract_from_the_first_chunk(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", chunk_size=20, chunk_overlap=0)
    text = "Opening sentence about gardens. " * 6 + "The closing claim names Zebrafinch loss."
    _ingest(settings, _write(tmp_path / "p.jsonl", [{"title": "Split", "abstract": text}]))
    [source] = HybridRetriever(settings).search("Zebrafinch loss", top_k=1)
    assert source.chunk != source.text and "Zebrafinch" in source.chunk
    assert source.text == text


# --- 2. manifest and repair ------------------------------------------------------------


def test_an_emptied_index_is_damage_and_repair_restores_every_paper(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = make_settings(data)
    first = _write(tmp_path / "first.jsonl", _papers("Shipped", 5))
    _ingest(settings, first)
    upload = _write(tmp_path / "mine.jsonl", _papers("Uploaded", 3))
    add_file(upload, "mine.jsonl", settings)
    manifest = read_manifest(settings)
    assert manifest.papers == 8 and len(manifest.files) == 2
    old_segments = {p.name for p in settings.chroma_dir.iterdir() if p.is_dir()}

    (settings.chroma_dir / "chroma.sqlite3").write_bytes(b"")  # as `truncate -s 0` does
    searched = _rag(data, "search", "block-sparse attention")
    assert searched.returncode == 2
    assert searched.stderr.startswith("error: the index 'abstracts' is damaged")
    assert "rag repair" in searched.stderr and searched.stderr.count("\n") == 1
    ingested = _rag(data, "ingest", str(first))  # a plain ingest must not make it final
    assert ingested.returncode == 2 and "rag repair" in ingested.stderr

    repaired = _rag(data, "repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "restored 8 paper(s)" in repaired.stdout
    assert "the index holds 8 papers (the manifest lists 8)" in repaired.stdout
    left = {p.name for p in settings.chroma_dir.iterdir() if p.is_dir()}
    assert not left & old_segments  # the orphan vector folders went
    searched = _rag(data, "search", "Uploaded study 2", "--json")
    assert searched.returncode == 0, searched.stderr
    assert "Uploaded study 2" in searched.stdout


def test_first_start_on_an_emptied_index_is_damage_not_a_fresh_corpus(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    _ingest(settings, _write(tmp_path / "a.jsonl", _papers("Mine", 4)))
    store = PaperStore.open(settings)
    store.delete_chunks([cid for cid, _, _ in store.iter_rows([])])
    with pytest.raises(RagError, match=r"damaged.*rag repair"):
        ensure_index(settings, progress=False)
    with pytest.raises(RagError, match="damaged"):
        PaperStore.open(settings)
    upload = _write(tmp_path / "new.jsonl", _papers("Late", 1))
    with pytest.raises(RagError, match="damaged"):
        add_file(upload, "new.jsonl", settings)
    assert not list((settings.data_dir / "uploads").iterdir())  # not kept: repair misses it


def test_an_interrupted_ingest_is_not_damage(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    source = _write(tmp_path / "a.jsonl", _papers("Mine", 4))
    _ingest(settings, source)
    manifest = json.loads(settings.manifest_path.read_text())
    manifest["complete"] = False  # what a kill mid-write leaves
    manifest["chunks"] += 10
    settings.manifest_path.write_text(json.dumps(manifest))
    assert PaperStore.open(settings).count()
    assert _ingest(settings, source).total_papers == 4
    assert read_manifest(settings).complete


# --- 3. one writer at a time -----------------------------------------------------------


def test_a_second_writer_waits_then_names_the_running_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = _write(tmp_path / "a.jsonl", _papers("Mine", 2))
    with writer_lock(make_settings(data)):
        result = _rag(data, "ingest", str(source), RAG_INGEST_LOCK_WAIT_S="1")
    assert result.returncode == 2
    assert f"another ingest is running (pid {os.getpid()})" in result.stderr
    assert not (data / "manifests").exists()


def test_two_ingests_at_once_end_consistent_with_right_totals(tmp_path: Path) -> None:
    data = tmp_path / "data"
    files = [_write(tmp_path / f"{name}.jsonl", _papers(name, 120)) for name in ("Left", "Right")]
    command = [sys.executable, "-m", "rag.cli", "ingest", "--quiet"]
    env = subprocess_env(RAG_DATA_DIR=str(data))
    procs = []
    for f in files:
        procs.append(subprocess.Popen([*command, str(f)], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    outputs = [p.communicate(timeout=900) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-800:] for _, err in outputs]
    totals = sorted(int(out.split("index holds ")[1].split()[0]) for out, _ in outputs)
    assert totals == [120, 240]
    assert PaperStore.open(make_settings(data)).count_papers() == 240


# --- 4. merges are reported ------------------------------------------------------------


def test_merged_records_are_reported_and_keep_their_other_titles(tmp_path: Path) -> None:
    text = ("We grow made-up crystals of heronite in low gravity and measure their lattice "
            "defects with a simulated diffraction rig over forty runs.")  # fmt: skip
    records = [{"title": t, "abstract": text} for t in ("Heronite A", "Heronite B", "Heronite C")]
    source = _write(tmp_path / "dups.jsonl", [*records, *_papers("Other", 2), _papers("Other",
                    1)[0]])  # fmt: skip
    merges: list[str] = []
    papers = load_papers([source], merges=merges)
    assert len(papers) == 3
    assert merges[0] == "3 records, 1 paper: kept title 'Heronite A'; also known as " \
        "'Heronite B', 'Heronite C'"  # fmt: skip
    assert "1 more duplicate record(s)" in merges[1]

    result = _rag(tmp_path / "data", "ingest", str(source))
    assert result.returncode == 0, result.stderr
    assert "note: 3 records, 1 paper: kept title 'Heronite A'" in result.stderr
    [hit] = HybridRetriever(make_settings(tmp_path / "data")).search(
        "Heronite C", top_k=1, mode="keyword"
    )
    assert (hit.title, hit.aliases) == ("Heronite A", ["Heronite B", "Heronite C"])
    shown = _rag(tmp_path / "data", "search", "Heronite C")
    assert "also known as: Heronite B; Heronite C" in shown.stdout


def test_the_sources_panel_shows_a_papers_other_titles(tmp_path: Path) -> None:
    from ui.render import turn_html

    text = "A made-up study of <b>glass</b> sponges in cold water counts their spicules."
    source = _write(tmp_path / "s.jsonl", [{"title": t, "abstract": text} for t in
                    ("Sponge survey", "Spicule <count>")])  # fmt: skip
    settings = make_settings(tmp_path / "data")
    _ingest(settings, source)
    sources = HybridRetriever(settings).search("glass sponges spicules", top_k=1)
    shown = turn_html(1, "sponges?", sources, None)
    assert "also known as: Spicule &lt;count&gt;" in shown
