"""BM25 keyword index over the same chunks, built at ingest time and persisted beside Chroma.

Built from the Chroma collection (the source of truth), so it can always be rebuilt;
a manifest records the chunk and paper counts it was built from. A chunk count that no
longer matches the store, a change to the store that was cut short, or a manifest from an
older format triggers a rebuild. Chunks written by an upload since the build are searched
in a side index (rag/keyword_delta.py) until the next full build.

Loading memory-maps the saved index rather than reading it: at 100k papers, reading
parsed every chunk's JSON (about 1 s of the app's start and 370 MB), where a search only
ever looks at its own hits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from rag.chunking import keyword_node
from rag.keyword_delta import (
    DELTA,
    PENDING,
    KeywordDelta,
    MainStats,
    read_delta,
    tokenize,
    write_delta,
)
from rag.store import PaperStore, paper_of
from rag.types import aliases_of

MANIFEST = "rag_manifest.json"
CHUNK_IDS = "rag_chunk_ids.json"  # the main index's chunk ids in its order (for filters)
AUTHORS = "rag_authors.json"  # the collection's distinct author names (for author filters)


@dataclass
class KeywordIndex:
    """A loaded BM25 index (with its side index of recent chunks) and its paper count."""

    retriever: object  # llama_index.retrievers.bm25.BM25Retriever, imported lazily
    papers: int
    build: str = ""  # names the full build loaded: a refresh reuses it while it is current
    stats: MainStats | None = None
    delta: KeywordDelta | None = None
    folder: Path | None = None
    _chunk_ids: list[str] | None = None

    def retrieve(self, query: str, papers: set[str] | None = None) -> list:
        """The best-scoring chunks for ``query`` (llama-index ``NodeWithScore`` objects),
        searched without the words that ask for papers (:func:`keyword_query`); none for a
        question of stop-words alone. ``papers``: only chunks of these doc ids (a filter),
        ranked among themselves."""
        query = keyword_query(query)
        if papers is not None:
            hits = self._retrieve_within(query, papers)
        else:
            try:
                hits = self.retriever.retrieve(query)
            except (ValueError, IndexError):  # no query term is in the main index
                hits = []
        if not self.delta or self.stats is None:
            return hits
        # A side chunk replaces the main index's version of it; a stale one is dropped.
        merged = {h.node.node_id: h for h in hits if h.node.node_id not in self.delta.stale}
        for cid, score in self.delta.score(tokenize([query])[0], self.stats).items():
            if papers is None or paper_of(cid) in papers:
                merged[cid] = _hit(cid, score)
        ranked = sorted(merged.values(), key=lambda h: h.score, reverse=True)
        return ranked[: self.retriever.similarity_top_k]

    def _retrieve_within(self, query: str, papers: set[str]) -> list:
        """Main-index hits among ``papers`` only: every chunk is scored, the others masked
        out, then the top k taken (bm25s ranks within a weight mask)."""
        import numpy as np

        terms = tokenize([query])[0]
        if not terms or not papers:
            return []
        ids = self.chunk_ids()
        mask = np.fromiter((paper_of(c) in papers for c in ids), dtype=np.float32, count=len(ids))
        scores = self.retriever.bm25.get_scores(terms, weight_mask=mask)
        k = min(self.retriever.similarity_top_k, int((scores > 0).sum()))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [_hit(ids[i], float(scores[i])) for i in top]

    def chunk_ids(self) -> list[str]:
        """The main index's chunk ids in its own order (read once, on first need)."""
        if self._chunk_ids is None:
            path = self.folder / CHUNK_IDS if self.folder else None
            if path is not None and path.exists():
                self._chunk_ids = json.loads(path.read_text())
            else:
                self._chunk_ids = [doc["node_id"] for doc in self.retriever.corpus]
        return self._chunk_ids


def _hit(chunk: str, score: float):
    from llama_index.core.schema import NodeWithScore, TextNode

    return NodeWithScore(node=TextNode(id_=chunk, text=""), score=score)


# Words a question uses to ask for papers ("Which papers ...?", "Is there work on ...?",
# "in this collection"). Abstracts use them too ("This paper surveys ..."), so as keyword
# terms they favour the papers that say "this paper" over the ones asked about. Not
# "corpus": in a question it is more often the thing asked about ("its pretraining corpus").
_FRAMING = re.compile(
    r"\b(?:papers?|works?|stud(?:y|ies)|articles?|publications?|abstracts?|collection|"
    r"here)\b",
    re.IGNORECASE,
)


def keyword_query(question: str) -> str:
    """``question`` without the words that ask for papers; unchanged if nothing else is left."""
    stripped = " ".join(_FRAMING.sub(" ", question).split())
    return stripped if stripped.strip(" ?.!,") else question


def build_keyword_index(store: PaperStore, folder: Path, top_k: int) -> KeywordIndex:
    """Build BM25 over every stored chunk and persist it atomically into ``folder``.

    Tokenized here rather than by ``BM25Retriever(nodes=...)`` (which does the same:
    bm25s with the English stemmer and stop-words) because the side index needs the mean
    chunk length, which bm25s computes but does not keep.
    """
    import bm25s
    import Stemmer
    from llama_index.core.vector_stores.utils import node_to_metadata_dict
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes, papers, authors = [], 0, set()
    for chunk_id, meta, text in store.iter_rows(["metadatas", "documents"]):
        nodes.append(keyword_node(chunk_id, meta["title"], text, aliases_of(meta)))
        if meta["chunk"] == 0:  # a paper's first chunk, as PaperStore.count_papers counts
            papers += 1
            authors.update(meta.get("author_names") or [])  # a list: Chroma keeps lists
    stemmer = Stemmer.Stemmer("english")
    tokens = bm25s.tokenize(
        [node.get_content() for node in nodes],
        stopwords="en",
        stemmer=stemmer,
        show_progress=False,
    )
    mean_length = sum(map(len, tokens.ids)) / max(len(nodes), 1)
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    bm25.corpus = [node_to_metadata_dict(n) | {"node_id": n.node_id} for n in nodes]
    retriever = BM25Retriever(
        existing_bm25=bm25, stemmer=stemmer, language="en", similarity_top_k=top_k
    )
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    retriever.persist(str(tmp), show_progress=False)
    build = uuid.uuid4().hex
    manifest = {"chunks": len(nodes), "papers": papers, "mean_length": mean_length, "build": build}
    (tmp / CHUNK_IDS).write_text(json.dumps([n.node_id for n in nodes]))
    (tmp / AUTHORS).write_text(json.dumps(sorted(authors)))
    (tmp / MANIFEST).write_text(json.dumps(manifest))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        # A running app may have the old files memory-mapped: on Linux they stay readable
        # to it after removal, until it loads the new index.
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return KeywordIndex(retriever, papers, build, _main_stats(retriever, manifest), None, folder)


def invalidate_keyword_index(folder: Path) -> None:
    """Mark the saved index untrusted before the store changes: a crash can't leave it
    trusted. A full build (a fresh folder) or a side-index update clears the mark."""
    if folder.exists():
        (folder / PENDING).touch()


def open_delta(store: PaperStore, folder: Path) -> KeywordDelta | None:
    """The side index to extend, when the saved keyword index matches the store (an empty
    one if there is none yet); None when only a full build will do."""
    current = _current(store, folder)
    if current is None:
        return None
    built, delta = current
    return delta or KeywordDelta(store_chunks=built["chunks"], papers=built["papers"])


def author_names(folder: Path) -> list[str]:
    """The collection's distinct author names as filters compare them (none if unknown)."""
    path = folder / AUTHORS
    return json.loads(path.read_text()) if path.exists() else []


def save_delta(folder: Path, delta: KeywordDelta, authors: list[str] = ()) -> None:
    """Save the extended side index (and the author names its papers add), and trust the
    saved index again."""
    known = author_names(folder)
    if set(authors) - set(known):
        tmp = folder / (AUTHORS + ".partial")
        tmp.write_text(json.dumps(sorted(set(known) | set(authors))))
        os.replace(tmp, folder / AUTHORS)
    write_delta(folder, delta)
    (folder / PENDING).unlink(missing_ok=True)


def indexed_papers(store: PaperStore, folder: Path) -> int:
    """Papers in the store: as the saved keyword index counted them when it is current
    (free), else counted in Chroma (a filtered read, about 1 s at 100k papers)."""
    current = _current(store, folder)
    if current is None:
        return store.count_papers()
    built, delta = current
    return delta.papers if delta else built["papers"]


def keyword_index_trusted(folder: Path) -> bool:
    """Whether the saved index was fully written and is of the current format."""
    return _trusted_manifest(folder) is not None


def has_delta(folder: Path) -> bool:
    """Whether chunks wait in the side index for a full build to fold them in."""
    return (folder / DELTA).exists()


def load_keyword_index(
    store: PaperStore, folder: Path, top_k: int, loaded: KeywordIndex | None = None
) -> KeywordIndex:
    """Load the persisted index, rebuilding it if it is missing or was built from other data.

    ``loaded``: the index loaded before; its main part is reused while it is the current
    build, so a refresh after an upload reads only the side index.
    """
    from llama_index.retrievers.bm25 import BM25Retriever

    current = _current(store, folder)
    if current is None:
        return build_keyword_index(store, folder, top_k)
    built, delta = current
    reuse = loaded is not None and loaded.build == built["build"]
    if reuse:
        retriever, stats = loaded.retriever, loaded.stats
    else:
        retriever = BM25Retriever.from_persist_dir(str(folder), show_progress=False, mmap=True)
        retriever.similarity_top_k = min(top_k, built["chunks"])
        stats = _main_stats(retriever, built)
    papers = delta.papers if delta else built["papers"]
    index = KeywordIndex(retriever, papers, built["build"], stats, delta, folder)
    if reuse:
        index._chunk_ids = loaded._chunk_ids
    return index


def _current(store: PaperStore, folder: Path) -> tuple[dict, KeywordDelta | None] | None:
    """The saved build's manifest and side index, when together they match the store."""
    built = _trusted_manifest(folder)
    if built is None:
        return None
    delta = read_delta(folder)
    if (delta.store_chunks if delta else built["chunks"]) != store.count():
        return None
    return built, delta


def _trusted_manifest(folder: Path) -> dict | None:
    """The saved build's manifest, unless a change was cut short or it is an older format."""
    manifest = folder / MANIFEST
    if (folder / PENDING).exists() or not manifest.exists():
        return None
    built = json.loads(manifest.read_text())
    if any(built.get(key) is None for key in ("chunks", "papers", "mean_length", "build")):
        return None
    return built


def _main_stats(retriever, built: dict) -> MainStats:
    bm25 = retriever.bm25
    return MainStats(
        chunks=int(bm25.scores["num_docs"]),
        mean_length=float(built["mean_length"]),
        vocab=bm25.vocab_dict,
        indptr=bm25.scores["indptr"],
    )
