"""The Chroma collection holding chunks, embeddings and per-paper metadata.

Nodes are serialised the llama-index way (so llama-index's ChromaVectorStore can read the
collection) but written with Chroma's ``upsert`` and read with the collection directly: we
need replace-on-write, the raw cosine distance (for the abstention floor) and batched
``get`` by id (for BM25 hits), which the llama-index wrapper does not offer.
Chroma is the single source of truth for what is indexed: no side docstore to drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rag.errors import RagError
from rag.filters import combine, search_keys
from rag.manifest import refuse_if_damaged
from rag.settings import Settings
from rag.types import PaperMeta, aliases_of

PAGE = 5000  # rows per Chroma get(), keeps memory flat on large collections
FILTER_IDS = 400  # paper ids per filtered get(): bounds the size of Chroma's SQL query


@dataclass
class StoredPaper:
    """What the index holds for one paper."""

    content_hash: str
    sources: list[str]
    title: str
    abstract: str
    title_is_derived: bool
    n_chunks: int
    chunking: str = ""
    chunk_ids: list[str] = field(default_factory=list)
    meta: PaperMeta = field(default_factory=PaperMeta)
    aliases: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """All its chunks made it in (false after an ingest killed half way)."""
        return len(self.chunk_ids) == self.n_chunks


def open_client(settings: Settings):
    """Embedded persistent Chroma, or a Chroma server when ``chroma_host`` is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}"
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise RagError(
                f"cannot reach the Chroma server at {where} ({type(exc).__name__}); start it "
                "(docker compose up chroma, or chroma run) or unset RAG_CHROMA_HOST"
            ) from None
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        raise RagError(
            f"cannot open the index at {settings.chroma_dir} ({exc}); "
            "move that folder aside and run `rag ingest` to rebuild it"
        ) from None


class PaperStore:
    """One Chroma collection of paper chunks."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    @classmethod
    def open(cls, settings: Settings, create: bool = False) -> PaperStore:
        """Open the collection; with ``create=False`` a missing, empty or damaged index
        (fewer chunks than its manifest, rag/manifest.py) is a user error."""
        client = open_client(settings)
        if create:
            collection = client.get_or_create_collection(
                settings.collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            return cls(collection)
        try:
            collection = client.get_collection(settings.collection, embedding_function=None)
        except Exception:
            collection = None
        store = cls(collection) if collection is not None else None
        chunks = store.count() if store is not None else 0
        refuse_if_damaged(settings, chunks)  # lost rows are damage, never a first start
        if store is None:
            raise RagError(
                f"no index named '{settings.collection}' in {_where(settings)}; "
                "run `rag ingest` first"
            )
        if chunks == 0:
            raise RagError(f"the index in {_where(settings)} is empty; run `rag ingest` first")
        return store

    def count(self) -> int:
        """Number of chunks stored."""
        return self.collection.count()

    def count_papers(self) -> int:
        """Number of papers stored: their first chunks, counted by id alone.

        Cheaper than ``len(stored_papers())``, which reads every chunk's metadata. An app
        with BM25 loaded reads the count saved with it (``HybridRetriever.count_papers``).
        """
        return len(self.collection.get(where={"chunk": 0}, include=[])["ids"])

    def upsert_nodes(self, nodes: list) -> None:
        """Write embedded llama-index nodes, replacing any stored under the same ids.

        Serialised exactly as llama-index's ChromaVectorStore does, but with Chroma's
        ``upsert``: that store's ``add`` silently keeps the old row when an id exists,
        which would leave a changed paper's old title and sources in place.
        """
        for start in range(0, len(nodes), PAGE):
            batch = nodes[start : start + PAGE]
            self.collection.upsert(
                ids=[n.node_id for n in batch],
                embeddings=[n.get_embedding() for n in batch],
                metadatas=[chunk_metadata(n) for n in batch],
                documents=[n.get_content() for n in batch],
            )

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        """Remove chunks by id."""
        for start in range(0, len(chunk_ids), PAGE):
            self.collection.delete(ids=chunk_ids[start : start + PAGE])

    def iter_rows(self, include: list[str]):
        """Yield (id, metadata, document) over the whole collection, a page at a time."""
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            metas = page.get("metadatas") or [None] * len(ids)
            docs = page.get("documents") or [None] * len(ids)
            yield from zip(ids, metas, docs, strict=True)
            offset += len(ids)

    def stored_papers(self, doc_ids: list[str] | None = None) -> dict[str, StoredPaper]:
        """doc_id -> what the index holds for it: every paper, or those of ``doc_ids``.

        The whole collection is read a page at a time; named papers by a metadata filter,
        so their cost does not grow with the index.
        """
        if doc_ids is None:
            rows = self.iter_rows(["metadatas"])
        else:
            rows = self._rows_of_papers(list(dict.fromkeys(doc_ids)))
        papers: dict[str, StoredPaper] = {}
        for chunk_id, meta, _ in rows:
            doc_id = meta["doc_id"]
            paper = papers.get(doc_id)
            if paper is None:
                paper = papers[doc_id] = StoredPaper(
                    content_hash=meta["content_hash"],
                    sources=json.loads(meta["sources"]),
                    title=meta["title"],
                    abstract="",
                    title_is_derived=bool(meta.get("title_is_derived", False)),
                    n_chunks=int(meta["n_chunks"]),
                    chunking=str(meta.get("chunking", "")),
                    meta=PaperMeta.from_metadata(meta),
                    aliases=aliases_of(meta),
                )
            # On the first chunk only (on every chunk in indexes built before).
            paper.abstract = paper.abstract or meta.get("abstract", "")
            paper.chunk_ids.append(chunk_id)
        return papers

    def papers_with_identifiers(self, dois: list[str], arxiv_ids: list[str]) -> list[str]:
        """Doc ids of stored papers with one of these DOIs or arXiv ids."""
        found: set[str] = set()
        for key, values in (("doi", sorted(set(dois))), ("arxiv_id", sorted(set(arxiv_ids)))):
            for start in range(0, len(values), FILTER_IDS):
                where = {"$and": [{"chunk": 0}, {key: {"$in": values[start : start + FILTER_IDS]}}]}
                rows = self.collection.get(where=where, include=[])["ids"]
                found.update(paper_of(cid) for cid in rows)
        return sorted(found)

    def paper_sources(self):
        """Yield (doc_id, source files) of every stored paper, a page at a time."""
        offset = 0
        while True:
            page = self.collection.get(
                where={"chunk": 0}, include=["metadatas"], limit=PAGE, offset=offset
            )
            if not page["ids"]:
                return
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                yield paper_of(cid), json.loads(meta["sources"])
            offset += len(page["ids"])

    def _rows_of_papers(self, doc_ids: list[str]):
        for start in range(0, len(doc_ids), FILTER_IDS):
            batch = doc_ids[start : start + FILTER_IDS]
            page = self.collection.get(where={"doc_id": {"$in": batch}}, include=["metadatas"])
            yield from zip(page["ids"], page["metadatas"], [None] * len(page["ids"]), strict=True)

    def get_chunks(self, chunk_ids: list[str]) -> dict[str, tuple[dict, str]]:
        """chunk_id -> (metadata, chunk text) for the ids that exist."""
        if not chunk_ids:
            return {}
        page = self.collection.get(ids=chunk_ids, include=["metadatas", "documents"])
        return {
            cid: (meta, doc)
            for cid, meta, doc in zip(
                page["ids"], page["metadatas"], page["documents"], strict=True
            )
        }

    def embeddings(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """Stored vectors of these chunks; {} when Chroma cannot read them (the caller
        embeds the texts instead)."""
        if not chunk_ids:
            return {}
        from chromadb.errors import InternalError

        try:
            page = self.collection.get(ids=chunk_ids, include=["embeddings"])
        except InternalError:
            # Embedded Chroma in a process that opened the folder before another process
            # (a `rag ingest` in another terminal) added rows: it reads their metadata from
            # SQLite but not their vectors ("Error finding id"; they are not in its dense
            # search either, until it restarts). A search must not fail on it.
            return {}
        return dict(zip(page["ids"], page["embeddings"], strict=True))

    def abstracts(self, doc_ids: list[str]) -> dict[str, str]:
        """doc_id -> abstract, read from each paper's first chunk (where it is stored)."""
        ids = [f"{d}:0" for d in dict.fromkeys(doc_ids)]
        found: dict[str, str] = {}
        for start in range(0, len(ids), FILTER_IDS):
            page = self.collection.get(ids=ids[start : start + FILTER_IDS], include=["metadatas"])
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                found[paper_of(cid)] = meta.get("abstract", "")
        return found

    def doc_ids_where(self, where: dict) -> set[str]:
        """The papers (doc ids) whose chunks match a metadata clause (rag/filters.py)."""
        ids = self.collection.get(where=combine(where, {"chunk": 0}), include=[])["ids"]
        return {paper_of(cid) for cid in ids}

    def query(
        self,
        embedding: list[float],
        k: int,
        doc_ids: list[str] | None = None,
        where: dict | None = None,
    ) -> list[tuple[str, float, dict, str]]:
        """Nearest chunks: (chunk_id, cosine similarity, metadata, chunk text).

        Fewer than ``k`` when the collection holds fewer: Chroma caps ``n_results`` itself,
        so no ``count()`` first; that one scans, ~0.07 ms per 1k chunks on every query.
        ``doc_ids``: only chunks of these papers; ``where``: only chunks matching it (a
        paper filter), so the k are the nearest within it.
        """
        if k <= 0:
            return []
        where = combine({"doc_id": {"$in": doc_ids}} if doc_ids else None, where)
        res = self.collection.query(
            query_embeddings=[embedding],
            n_results=k,
            where=where,
            include=["metadatas", "documents", "distances"],
        )
        return [
            (cid, 1.0 - float(dist), meta, doc)
            for cid, dist, meta, doc in zip(
                res["ids"][0],
                res["distances"][0],
                res["metadatas"][0],
                res["documents"][0],
                strict=True,
            )
        ]


def paper_of(chunk: str) -> str:
    """The doc id in a chunk id (``rag.chunking.chunk_id`` writes "doc_id:index")."""
    return chunk.rsplit(":", 1)[0]


def chunk_metadata(node) -> dict:
    """The Chroma metadata of one chunk, with its paper's abstract stored once.

    llama-index's ``node_to_metadata_dict`` writes the abstract three times per chunk: as a
    flat field, inside the serialised node (``_node_content``) and inside that node's
    source-document link. Chroma stores every metadata string twice (table and index) and
    queues it once more, so the extra copies were about a fifth of the index on disk
    (bench/README.md). The flat field is what we read; the serialised node keeps the rest,
    so llama-index can still rebuild the node.
    """
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
    content = json.loads(meta["_node_content"])
    content["metadata"].pop("abstract", None)
    for link in content.get("relationships", {}).values():
        if isinstance(link, dict):  # a single link; chunks have no child lists
            link["metadata"] = {}
    meta["_node_content"] = json.dumps(content)
    # Words of authors, venue and categories as lists, for the paper filters; added after
    # llama-index's flattening, which allows no lists.
    meta.update(search_keys(PaperMeta.from_metadata(meta)))
    return meta


def collection_names(settings: Settings) -> list[str]:
    """The collections in the configured data folder or server, sorted."""
    found = open_client(settings).list_collections()
    return sorted(c if isinstance(c, str) else c.name for c in found)


def _where(settings: Settings) -> str:
    if settings.chroma_host:
        return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return str(settings.chroma_dir)
