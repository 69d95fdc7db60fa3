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

from rag.chunking import chunk_papers, keyword_node, make_splitter
from rag.documents import Paper, add_alias
from rag.embedding import embedder_for
from rag.filters import author_name
from rag.keyword import (
    build_keyword_index,
    has_delta,
    invalidate_keyword_index,
    keyword_index_trusted,
    open_delta,
    save_delta,
)
from rag.limits import within_limits
from rag.lock import writer_lock
from rag.manifest import (
    Manifest,
    mark_writing,
    read_manifest,
    refuse_if_damaged,
    write_manifest,
)
from rag.settings import Settings
from rag.store import PaperStore, StoredPaper
from rag.types import aliases_of

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
        # Fields the other files' records gave stay, unless this record knows more.
        meta=paper.meta.merged_with(stored.meta) if kept else paper.meta,
        aliases=list(paper.aliases),
    )
    if kept and paper.title_is_derived and not stored.title_is_derived:
        merged.title, merged.title_is_derived = stored.title, False
    elif kept:  # the other files' title stays known, as an alias
        for title in [*([] if stored.title_is_derived else [stored.title]), *stored.aliases]:
            add_alias(merged, title)
    return merged


def _keys(doi: str, arxiv_id: str) -> list[str]:
    return ([f"doi:{doi}"] if doi else []) + ([f"arxiv:{arxiv_id}"] if arxiv_id else [])


def merge_indexed_twins(
    papers: list[Paper], store: PaperStore, files: set[str]
) -> tuple[list[Paper], dict[str, StoredPaper], list[str]]:
    """Join records to the indexed paper with the same DOI or arXiv id but another text
    (another version of the abstract, from another source).

    The indexed version stays, gaining this record's file and any fields it lacks, unless
    this record knows more fields: then this record's version replaces it (keeping the
    indexed one's other files). Returns the papers to plan with, the replaced indexed
    papers (whose chunks go), and one note per join.
    """
    ids = {p.doc_id for p in papers}
    twins_ids = store.papers_with_identifiers(
        [p.meta.doi for p in papers if p.meta.doi],
        [p.meta.arxiv_id for p in papers if p.meta.arxiv_id],
    )
    twins = {d: t for d, t in store.stored_papers(twins_ids).items() if d not in ids}
    by_key = {k: d for d, t in twins.items() for k in _keys(t.meta.doi, t.meta.arxiv_id)}
    out: list[Paper] = []
    replaced: dict[str, StoredPaper] = {}
    notes: list[str] = []
    for paper in papers:
        found = [by_key[k] for k in _keys(paper.meta.doi, paper.meta.arxiv_id) if k in by_key]
        if not found or found[0] in replaced:
            out.append(paper)
            continue
        twin = twins[found[0]]
        others = [s for s in twin.sources if s not in files]
        if paper.meta.known() > twin.meta.known():
            replaced[found[0]] = twin
            paper.sources = list(dict.fromkeys(paper.sources + others))
            paper.meta = paper.meta.merged_with(twin.meta)
            out.append(paper)
            notes.append(f"'{paper.title}' replaces its indexed version (same DOI or arXiv id)")
        else:
            joined = Paper(
                twin.abstract,
                twin.title,
                paper.sources,
                title_is_derived=twin.title_is_derived,
                meta=twin.meta.merged_with(paper.meta),
                aliases=list(twin.aliases),
            )
            if not paper.title_is_derived:
                add_alias(joined, paper.title)
            out.append(joined)
            notes.append(f"'{paper.title}' joined to its indexed version '{twin.title}' "
                         "(same DOI or arXiv id)")  # fmt: skip
    return out, replaced, notes


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
                Paper(
                    old.abstract,
                    old.title,
                    remaining,
                    title_is_derived=old.title_is_derived,
                    meta=old.meta,
                    aliases=old.aliases,
                )
            )
    return to_add, to_update, unchanged, to_remove


def ingest_papers(
    papers: list[Paper],
    settings: Settings,
    files: list[Path] | None = None,
    prune: bool = False,
    progress: bool = True,
    new_files: bool = False,
    keyword_side: bool = False,
    keyword: bool = True,
    repairing: bool = False,
) -> IngestReport:
    """Bring the index in line with ``papers`` read from ``files`` (see module docstring).

    ``new_files``: no indexed paper came from ``files`` before (a first upload of a file),
    so nothing can have vanished from them: only the incoming papers' stored versions are
    read, not every stored paper's. ``keyword_side``: record the written chunks in the
    keyword index's side index when it has room, instead of rebuilding BM25 whole (an
    upload); otherwise, and always at a plain ingest, BM25 is rebuilt and any side index
    folded in. ``keyword=False``: leave BM25 marked stale for the caller to rebuild once
    (rag/ingest_stream.py, after many slices). A damaged index (rag/manifest.py) is
    refused unless ``repairing``: syncing some files into it would make the loss final.

    Runs under the data folder's writer lock (rag/lock.py), so its reads, writes and the
    totals it reports are not mixed with another ingest's.
    """
    papers = within_limits(papers, settings)  # callers with --skip-bad filtered already
    with writer_lock(settings):
        store = PaperStore.open(settings, create=True)
        if not repairing:
            refuse_if_damaged(settings, store.count())
        return _ingest(papers, store, settings, files, prune, progress, new_files,
                       keyword_side, keyword)  # fmt: skip


def _ingest(
    papers: list[Paper],
    store: PaperStore,
    settings: Settings,
    files: list[Path] | None,
    prune: bool,
    progress: bool,
    new_files: bool,
    keyword_side: bool,
    keyword: bool,
) -> IngestReport:
    scoped = new_files and not prune
    folder = settings.keyword_dir
    delta = open_delta(store, folder) if keyword_side else None
    if scoped:
        stored = store.stored_papers([p.doc_id for p in papers])
        papers_before = delta.papers if delta else store.count_papers()
    else:
        stored = store.stored_papers()
        papers_before = len(stored)
    file_keys = {str(Path(f).resolve()) for f in (files or [])}
    papers, superseded, notes = merge_indexed_twins(papers, store, file_keys)
    if scoped:  # the joined papers' stored versions, which the scoped read did not fetch
        stored.update(store.stored_papers([p.doc_id for p in papers if p.doc_id not in stored]))
    planned = {d: p for d, p in stored.items() if d not in superseded}
    to_add, to_update, unchanged, to_remove = plan_ingest(
        papers, planned, file_keys, prune, settings.chunking_key
    )
    to_remove += list(superseded)
    stored.update(superseded)

    report = IngestReport(
        added=len(to_add),
        updated=len(to_update),
        unchanged=unchanged,
        removed=len(to_remove),
        notes=notes,
    )
    report.total_papers = papers_before + len(to_add) - len(to_remove)
    work = to_update + to_add
    changed = len(work) + len(to_remove)
    if delta is not None and delta.papers_written + changed > settings.keyword_delta_papers:
        delta = None  # the side index would grow too large: rebuild whole
    stale_bm25 = not keyword_index_trusted(folder) or (delta is None and has_delta(folder))
    if changed or stale_bm25:
        mark_writing(settings)
        invalidate_keyword_index(folder)
        written, stale = write_papers(work, stored, store, settings, progress)
        # Removals last: a crash before this point loses nothing.
        removed = [cid for doc_id in to_remove for cid in stored[doc_id].chunk_ids]
        store.delete_chunks(removed)
        # With keyword=False the index stays marked stale: the caller rebuilds it once.
        if keyword and delta is not None and store.count():
            delta.add(list(written), list(written.values()), stale + removed)
            delta.papers_written += changed
            delta.store_chunks, delta.papers = store.count(), report.total_papers
            save_delta(folder, delta, [author_name(a) for p in work for a in p.meta.authors])
        elif keyword:
            rebuild_keyword_index(store, settings)
    report.chunks = store.count()
    # The files the index now draws on: every stored paper's, after this ingest's changes
    # (a scoped ingest saw only its own papers, so the earlier manifest's files stay).
    gone = set(to_remove)
    sources = {d: p.sources for d, p in stored.items() if d not in gone}
    sources.update({p.doc_id: p.sources for p in work})
    held = {s for found in sources.values() for s in found}
    earlier = read_manifest(settings) if scoped else None
    write_manifest(settings, Manifest(
        settings.collection, report.total_papers, report.chunks,
        sorted(held | set(earlier.files if earlier else [])),
    ))  # fmt: skip
    return report


def rebuild_keyword_index(store: PaperStore, settings: Settings) -> None:
    """Build BM25 over the whole store (none for an empty one), folding any side index."""
    if store.count():
        build_keyword_index(store, settings.keyword_dir, settings.candidate_k)
    else:
        shutil.rmtree(settings.keyword_dir, ignore_errors=True)


def ensure_index(settings: Settings, progress: bool = True) -> IngestReport | None:
    """Index the shipped corpus when the index is missing or empty (an app's first start)."""
    from rag.loaders import DEFAULT_CORPUS, expand_paths, load_papers

    with writer_lock(settings):  # two apps starting at once index it once
        chunks = PaperStore.open(settings, create=True).count()
        refuse_if_damaged(settings, chunks)  # an emptied index is damage, not a first start
        if chunks:
            return None
        files = expand_paths([DEFAULT_CORPUS])
        return ingest_papers(load_papers(files), settings, files=files, progress=progress)


def write_papers(
    papers: list[Paper],
    stored: dict[str, StoredPaper],
    store: PaperStore,
    settings: Settings,
    progress: bool,
) -> tuple[dict[str, str], list[str]]:
    """Chunk, embed and store ``papers``, replacing their stored versions.

    Returns the written chunks (id -> keyword text) and the ids of older chunks removed.
    """
    written: dict[str, str] = {}
    replaced: list[str] = []
    if not papers:
        return written, replaced
    embedder = embedder_for(settings)
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, embedder.tokenize)
    bar = tqdm(total=len(papers), unit="paper", desc="Embedding", disable=not progress)
    for start in range(0, len(papers), BATCH_PAPERS):
        batch = papers[start : start + BATCH_PAPERS]
        nodes = chunk_papers(batch, splitter, settings.chunking_key, settings.max_chunks_per_paper)
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
        for node in nodes:
            meta = node.metadata
            text = keyword_node(node.node_id, meta["title"], node.get_content(), aliases_of(meta))
            written[node.node_id] = text.get_content()
        replaced += stale
        bar.update(len(batch))
    bar.close()
    return written, replaced
