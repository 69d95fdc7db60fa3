"""BM25 keyword index over the same chunks, built at ingest time and persisted beside Chroma.

Built from the Chroma collection (the source of truth), so it can always be rebuilt;
a manifest records the chunk count it was built from, and a mismatch triggers a rebuild.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rag.chunking import keyword_node
from rag.store import PaperStore

MANIFEST = "rag_manifest.json"


def build_keyword_index(store: PaperStore, folder: Path, top_k: int):
    """Build BM25 over every stored chunk and persist it atomically into ``folder``."""
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = [
        keyword_node(chunk_id, meta["title"], text)
        for chunk_id, meta, text in store.iter_rows(["metadatas", "documents"])
    ]
    retriever = BM25Retriever(
        nodes=nodes, stemmer=Stemmer.Stemmer("english"), language="en", similarity_top_k=top_k
    )
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    retriever.persist(str(tmp), show_progress=False)
    (tmp / MANIFEST).write_text(json.dumps({"chunks": len(nodes)}))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return retriever


def invalidate_keyword_index(folder: Path) -> None:
    """Mark the saved index stale before the store changes: a crash can't leave it trusted."""
    (folder / MANIFEST).unlink(missing_ok=True)


def load_keyword_index(store: PaperStore, folder: Path, top_k: int):
    """Load the persisted index, rebuilding it if it is missing or was built from other data."""
    from llama_index.retrievers.bm25 import BM25Retriever

    manifest = folder / MANIFEST
    if manifest.exists():
        built_from = json.loads(manifest.read_text()).get("chunks")
        if built_from == store.count():
            retriever = BM25Retriever.from_persist_dir(str(folder), show_progress=False)
            retriever.similarity_top_k = min(top_k, built_from)
            return retriever
    return build_keyword_index(store, folder, top_k)
