"""BM25 keyword index over the same chunks, built at ingest time and persisted beside Chroma.

Built from the Chroma collection (the source of truth), so it can always be rebuilt;
a manifest records the chunk and paper counts it was built from. A chunk count that no
longer matches the store, or a manifest without those counts (an older format), triggers
a rebuild.

Loading memory-maps the saved index rather than reading it: at 100k papers, reading
parsed every chunk's JSON (about 1 s of the app's start and 370 MB), where a search only
ever looks at its own hits.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.chunking import keyword_node
from rag.store import PaperStore

MANIFEST = "rag_manifest.json"


@dataclass
class KeywordIndex:
    """A loaded BM25 retriever and the number of papers it was built from."""

    retriever: object  # llama_index.retrievers.bm25.BM25Retriever, imported lazily
    papers: int

    def retrieve(self, query: str) -> list:
        """The best-scoring chunks for ``query`` (llama-index ``NodeWithScore`` objects),
        searched without the words that ask for papers (:func:`keyword_query`)."""
        return self.retriever.retrieve(keyword_query(query))


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
    """Build BM25 over every stored chunk and persist it atomically into ``folder``."""
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes, papers = [], 0
    for chunk_id, meta, text in store.iter_rows(["metadatas", "documents"]):
        nodes.append(keyword_node(chunk_id, meta["title"], text))
        papers += meta["chunk"] == 0  # a paper's first chunk, as PaperStore.count_papers counts
    retriever = BM25Retriever(
        nodes=nodes, stemmer=Stemmer.Stemmer("english"), language="en", similarity_top_k=top_k
    )
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    retriever.persist(str(tmp), show_progress=False)
    (tmp / MANIFEST).write_text(json.dumps({"chunks": len(nodes), "papers": papers}))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        # A running app may have the old files memory-mapped: on Linux they stay readable
        # to it after removal, until it loads the new index.
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return KeywordIndex(retriever, papers)


def invalidate_keyword_index(folder: Path) -> None:
    """Mark the saved index stale before the store changes: a crash can't leave it trusted."""
    (folder / MANIFEST).unlink(missing_ok=True)


def load_keyword_index(store: PaperStore, folder: Path, top_k: int) -> KeywordIndex:
    """Load the persisted index, rebuilding it if it is missing or was built from other data."""
    from llama_index.retrievers.bm25 import BM25Retriever

    manifest = folder / MANIFEST
    if manifest.exists():
        built = json.loads(manifest.read_text())
        chunks, papers = built.get("chunks"), built.get("papers")
        if chunks == store.count() and papers is not None:
            retriever = BM25Retriever.from_persist_dir(str(folder), show_progress=False, mmap=True)
            retriever.similarity_top_k = min(top_k, chunks)
            return KeywordIndex(retriever, papers)
    return build_keyword_index(store, folder, top_k)
