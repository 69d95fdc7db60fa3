"""Incremental ingest: embed only new or changed papers, replace changed ones, drop removed ones.

A re-run syncs the files it is given: a paper that vanished from those files is removed
(unless another indexed file still holds it); ``prune`` also drops papers from files not
named this time. Chunk ids are deterministic, so an ingest killed half way is finished
by the next run with no duplicates.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from rag.chunking import chunk_papers, make_splitter
from rag.documents import Paper
from rag.embedding import embedder_for
from rag.keyword import MANIFEST, build_keyword_index, invalidate_keyword_index
from rag.settings import Settings
from rag.store import PaperStore, StoredPaper

BATCH_PAPERS = 64  # papers embedded and written per step: bounds what a crash can lose


@dataclass
class IngestReport:
    """What one ingest did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    total_papers: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed; "
            f"index holds {self.total_papers} papers in {self.chunks} chunks"
        )


def _merge_with_stored(paper: Paper, stored: StoredPaper | None, files: set[str]) -> Paper:
    """Keep what other (not re-read) files contribute: their source names and a real title."""
    if stored is None:
        return paper
    kept = [s for s in stored.sources if s not in files]
    merged = Paper(
        text=paper.text,
        title=paper.title,
        sources=list(dict.fromkeys(paper.sources + kept)),
        title_is_derived=paper.title_is_derived,
    )
    if kept and paper.title_is_derived and not stored.title_is_derived:
        merged.title, merged.title_is_derived = stored.title, False
    return merged


def plan_ingest(
    papers: list[Paper],
    stored: dict[str, StoredPaper],
    files: set[str],
    prune: bool,
    chunking: str = "",
) -> tuple[list[Paper], list[Paper], int, list[str]]:
    """Decide (to_add, to_update, unchanged_count, doc_ids_to_remove).

    ``chunking`` names the chunk settings: papers chunked otherwise are redone.
    """
    to_add: list[Paper] = []
    to_update: list[Paper] = []
    unchanged = 0
    incoming = {p.doc_id: p for p in papers}
    for doc_id, paper in incoming.items():
        old = stored.get(doc_id)
        merged = _merge_with_stored(paper, old, files)
        if old is None:
            to_add.append(merged)
        elif (
            old.complete
            and old.chunking == chunking
            and old.content_hash == merged.content_hash
            and sorted(old.sources) == sorted(merged.sources)
        ):
            unchanged += 1
        else:
            to_update.append(merged)
    to_remove: list[str] = []
    for doc_id, old in stored.items():
        if doc_id in incoming:
            continue
        remaining = [s for s in old.sources if s not in files]
        if prune or not remaining:
            to_remove.append(doc_id)
        elif len(remaining) != len(old.sources):
            # Still held by a file not read this time: keep it, minus the file it left.
            to_update.append(
                Paper(old.abstract, old.title, remaining, title_is_derived=old.title_is_derived)
            )
    return to_add, to_update, unchanged, to_remove


def ingest_papers(
    papers: list[Paper],
    settings: Settings,
    files: list[Path] | None = None,
    prune: bool = False,
    progress: bool = True,
) -> IngestReport:
    """Bring the index in line with ``papers`` read from ``files`` (see module docstring)."""
    store = PaperStore.open(settings, create=True)
    stored = store.stored_papers()
    file_keys = {str(Path(f).resolve()) for f in (files or [])}
    to_add, to_update, unchanged, to_remove = plan_ingest(
        papers, stored, file_keys, prune, settings.chunking_key
    )

    report = IngestReport(
        added=len(to_add), updated=len(to_update), unchanged=unchanged, removed=len(to_remove)
    )
    work = to_update + to_add
    if work or to_remove or not (settings.keyword_dir / MANIFEST).exists():
        invalidate_keyword_index(settings.keyword_dir)
        if work:
            _write_papers(work, stored, store, settings, progress)
        # Removals last: a crash before this point loses nothing.
        store.delete_chunks([cid for doc_id in to_remove for cid in stored[doc_id].chunk_ids])
        if store.count():
            build_keyword_index(store, settings.keyword_dir, settings.candidate_k)
        else:
            shutil.rmtree(settings.keyword_dir, ignore_errors=True)
    report.chunks = store.count()
    report.total_papers = len(stored) + len(to_add) - len(to_remove)
    return report


def ensure_index(settings: Settings, progress: bool = True) -> IngestReport | None:
    """Index the shipped corpus when the index is missing or empty (an app's first start)."""
    from rag.loaders import DEFAULT_CORPUS, expand_paths, load_papers

    if PaperStore.open(settings, create=True).count():
        return None
    files = expand_paths([DEFAULT_CORPUS])
    return ingest_papers(load_papers(files), settings, files=files, progress=progress)


def _write_papers(
    papers: list[Paper],
    stored: dict[str, StoredPaper],
    store: PaperStore,
    settings: Settings,
    progress: bool,
) -> None:
    embedder = embedder_for(settings)
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, embedder.tokenize)
    bar = tqdm(total=len(papers), unit="paper", desc="Embedding", disable=not progress)
    for start in range(0, len(papers), BATCH_PAPERS):
        batch = papers[start : start + BATCH_PAPERS]
        nodes = chunk_papers(batch, splitter, settings.chunking_key)
        texts = [node.get_content(metadata_mode="embed") for node in nodes]
        for node, vector in zip(nodes, embedder.embed(texts), strict=True):
            node.embedding = vector
        new_ids = {node.node_id for node in nodes}
        stale = [
            cid
            for paper in batch
            if paper.doc_id in stored
            for cid in stored[paper.doc_id].chunk_ids
            if cid not in new_ids
        ]
        store.upsert_nodes(nodes)
        store.delete_chunks(stale)
        bar.update(len(batch))
    bar.close()
