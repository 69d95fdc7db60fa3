"""Ingest of files too big to hold in memory (an arXiv metadata dump): validated, then
indexed a slice at a time.

``rag ingest`` comes here when its JSONL files are large (``stream_over_mb``). The same
rules hold as for a small ingest: every file is read once to the end first, so a bad line
stops it before the index is touched (or, with ``--skip-bad``, is listed); then each
file is indexed in slices of ``stream_papers`` papers, each slice planned from its own
papers' stored versions (rag/ingest.py, as an upload is); papers that left a re-read file
are removed after it (or kept, minus that file, when another file still holds them); BM25
is rebuilt once at the end. Memory holds one slice and the set of doc ids seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from rag.documents import Paper, deduplicate
from rag.errors import RagError
from rag.ingest import IngestReport, ingest_papers, rebuild_keyword_index, write_papers
from rag.keyword import invalidate_keyword_index
from rag.limits import within_limits
from rag.loaders import stream_papers
from rag.lock import writer_lock
from rag.manifest import Manifest, mark_writing, refuse_if_damaged, write_manifest
from rag.settings import Settings
from rag.store import PaperStore


def should_stream(files: list[Path], settings: Settings) -> bool:
    """Whether the JSONL among ``files`` are too large to read whole."""
    size = sum(f.stat().st_size for f in files if f.suffix.lower() == ".jsonl")
    return size > settings.stream_over_mb * 2**20


def _slices(papers: Iterator[Paper], size: int) -> Iterator[list[Paper]]:
    while batch := list(islice(papers, size)):
        yield batch


def ingest_streamed(
    files: list[Path],
    settings: Settings,
    prune: bool = False,
    progress: bool = True,
    skipped: list[str] | None = None,
    notes: list[str] | None = None,
) -> IngestReport:
    """Index ``files`` a slice at a time (see module docstring)."""
    total = 0
    for file in files:  # validation pass: any bad record fails here, before indexing
        for batch in _slices(stream_papers(file, skipped, notes), settings.stream_papers):
            total += len(within_limits(batch, settings, skipped))
    if not total:
        raise RagError("no abstracts found in " + ", ".join(map(str, files)))
    with writer_lock(settings):  # held over every slice (see rag/lock.py)
        refuse_if_damaged(settings, PaperStore.open(settings, create=True).count())
        report = IngestReport()
        seen: set[str] = set()
        for file in files:
            in_file: set[str] = set()
            for batch in _slices(stream_papers(file, []), settings.stream_papers):
                batch = within_limits(batch, settings, [])  # listed by the validation pass
                batch = deduplicate([p for p in batch if p.doc_id not in in_file])
                part = ingest_papers(batch, settings, files=[file], progress=progress,
                                     new_files=True, keyword=False)  # fmt: skip
                in_file.update(p.doc_id for p in batch)
                report.added += part.added
                report.updated += part.updated
                report.unchanged += part.unchanged
                report.removed += part.removed
                report.notes += part.notes
            removed, updated = _drop_left(settings, str(file.resolve()), in_file)
            report.removed += removed
            report.updated += updated
            seen |= in_file
        if prune:
            report.removed += _drop_left(settings, None, seen)[0]
        store = PaperStore.open(settings, create=True)
        rebuild_keyword_index(store, settings)
        report.chunks = store.count()
        sources = dict(store.paper_sources())  # read after the writes, under the lock
        report.total_papers = len(sources)
        held = sorted({f for found in sources.values() for f in found})
        write_manifest(settings, Manifest(settings.collection, len(sources), report.chunks, held))
    return report


def _drop_left(settings: Settings, file: str | None, seen: set[str]) -> tuple[int, int]:
    """Papers ``file`` no longer holds (every unseen paper when ``file`` is None): removed,
    or rewritten without that file when another still holds them. Returns the counts."""
    store = PaperStore.open(settings, create=True)
    mark_writing(settings)  # fewer chunks than the last slice's manifest is not damage
    invalidate_keyword_index(settings.keyword_dir)
    gone, shrunk = [], []
    for doc_id, sources in store.paper_sources():
        if doc_id in seen or (file is not None and file not in sources):
            continue
        remaining = [s for s in sources if s != file]
        (shrunk if file is not None and remaining else gone).append(doc_id)
    stored = store.stored_papers(gone + shrunk)
    shrinking = set(shrunk)
    if shrunk:
        kept = [
            Paper(old.abstract, old.title, [s for s in old.sources if s != file],
                  title_is_derived=old.title_is_derived, meta=old.meta, aliases=old.aliases)
            for doc_id, old in stored.items() if doc_id in shrinking
        ]  # fmt: skip
        write_papers(kept, stored, store, settings, progress=False)
    store.delete_chunks([cid for doc_id in gone for cid in stored[doc_id].chunk_ids])
    return len(gone), len(shrunk)
