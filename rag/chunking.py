"""Papers -> llama-index nodes: sentence-aware chunks, sized in the embedder's own tokens.

The title rides along with every chunk as embed metadata, so a chunk from the middle
of an abstract still says which paper it belongs to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, TextNode

from rag.documents import Paper
from rag.errors import RagError
from rag.types import META_FIELDS

# Keys stored with each chunk; only the title is embedded / shown to the splitter.
STORED_ONLY_KEYS = [
    "chunking",
    "doc_id",
    "content_hash",
    "sources",
    "abstract",
    "aliases",
    "title_is_derived",
    "chunk",
    "n_chunks",
    *META_FIELDS,
]


def chunk_id(doc_id: str, index: int) -> str:
    """Deterministic chunk id: re-ingesting the same paper overwrites, never duplicates.

    :func:`rag.store.paper_of` reads the doc id back."""
    return f"{doc_id}:{index}"


def make_splitter(
    chunk_size: int, chunk_overlap: int, tokenizer: Callable[[str], list]
) -> SentenceSplitter:
    """A sentence splitter that counts tokens the way the embedder does."""
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=tokenizer,
        id_func=lambda i, doc: chunk_id(doc.metadata["doc_id"], i),
        include_prev_next_rel=False,
    )


def paper_to_document(paper: Paper) -> Document:
    """One llama-index Document per paper, carrying everything the store keeps."""
    return Document(
        id_=paper.doc_id,
        text=paper.text,
        metadata={
            "title": paper.title,
            "doc_id": paper.doc_id,
            "content_hash": paper.content_hash,
            "sources": json.dumps(paper.sources),
            "title_is_derived": paper.title_is_derived,
            **({"aliases": json.dumps(paper.aliases)} if paper.aliases else {}),
            **paper.meta.to_metadata(),
        },
        excluded_embed_metadata_keys=list(STORED_ONLY_KEYS),
        excluded_llm_metadata_keys=list(STORED_ONLY_KEYS),
        metadata_template="{value}",
        text_template="{metadata_str}\n{content}",
    )


def chunk_papers(
    papers: list[Paper], splitter: SentenceSplitter, chunking: str, max_chunks: int | None = None
) -> list[BaseNode]:
    """Split papers into nodes; each node knows its index, its paper's chunk count, its settings.

    The whole abstract rides on the first chunk only (``PaperStore.abstracts`` reads it
    there): a copy on every chunk made the index grow with the square of its length.
    ``max_chunks``: a paper splitting into more is refused by name, before anything is
    written for it.
    """
    nodes: list[BaseNode] = []
    for paper in papers:
        pieces = splitter.get_nodes_from_documents([paper_to_document(paper)])
        if max_chunks is not None and len(pieces) > max_chunks:
            raise RagError(
                f"'{paper.title}' ({', '.join(paper.sources) or 'no file'}) splits into "
                f"{len(pieces)} chunks, over the limit of {max_chunks} "
                "(RAG_MAX_CHUNKS_PER_PAPER); shorten it, or raise the limit or chunk_size"
            )
        for index, node in enumerate(pieces):
            node.metadata["chunk"] = index
            node.metadata["n_chunks"] = len(pieces)
            node.metadata["chunking"] = chunking
            if index == 0:
                node.metadata["abstract"] = paper.text
            node.excluded_embed_metadata_keys = list(STORED_ONLY_KEYS)
            node.excluded_llm_metadata_keys = list(STORED_ONLY_KEYS)
        nodes.extend(pieces)
    return nodes


def keyword_node(node_id: str, title: str, text: str, aliases: Sequence[str] = ()) -> TextNode:
    """A slim node for the BM25 index: id plus searchable text (the title and the other
    titles the paper is known by, then the chunk), no stored payload."""
    return TextNode(id_=node_id, text="\n".join([title, *aliases, text]))
