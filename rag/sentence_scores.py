"""A chunk's dense score from its best-matching sentence as well as from the chunk as a whole.

A chunk's single MiniLM vector averages everything an abstract says, so a question about
one thing the paper does ("is there work on X?", "which papers do X?") matches it weakly
when X is one sentence of several. Adding the cosine of the chunk's closest sentence to
the chunk's own cosine ranks such papers higher, while a question about the paper as a
whole (its name, its topic) still ranks by the chunk vector. Measured on the dev split:
gold papers of several-paper questions in the top 5 went 36 -> 44 of 55, all dev gold
papers 168 -> 180 of 198; the fact, comparison, yes/no and superlative calibration sets
lost at most one gold paper's rank (eval/results/README.md, "Sentence scores").

Sentences are embedded when a chunk is first a candidate and kept in memory (a process
answering many questions embeds each chunk's sentences once), not at ingest: that keeps
the index format and the ingest time unchanged, and costs about a quarter of a second for
the sentences of a question's first candidates on 2 cores.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from rag.terms import split_sentences

EmbedMany = Callable[[list[str]], np.ndarray]


class SentenceScorer:
    """Best sentence cosine of each chunk against a question, with a bounded cache."""

    def __init__(self, embed: EmbedMany, cache_chunks: int = 20_000) -> None:
        self._embed = embed
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._cache_chunks = cache_chunks
        # The UI may search from several threads; the cache's order is shared state.
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget cached vectors (after an ingest, chunk texts may have changed)."""
        with self._lock:
            self._cache.clear()

    def best(self, query_vector: np.ndarray, chunks: dict[str, str]) -> dict[str, float]:
        """Chunk id -> the highest cosine of one of its sentences with ``query_vector``
        (vectors are unit length, so a dot product). A chunk with no sentence gets none."""
        with self._lock:
            vectors = self._vectors(chunks)
        return {cid: float(np.max(v @ query_vector)) for cid, v in vectors.items() if len(v)}

    def _vectors(self, chunks: dict[str, str]) -> dict[str, np.ndarray]:
        keys = {cid: (cid, hash(text)) for cid, text in chunks.items()}
        todo = [cid for cid, key in keys.items() if key not in self._cache]
        sentences = {cid: split_sentences(chunks[cid]) for cid in todo}
        flat = [s for cid in todo for s in sentences[cid]]
        embedded = np.asarray(self._embed(flat), dtype=np.float32) if flat else None
        start = 0
        for cid in todo:
            count = len(sentences[cid])
            self._cache[keys[cid]] = (
                embedded[start : start + count] if count else np.zeros((0, 1), np.float32)
            )
            start += count
        out = {}
        for cid, key in keys.items():
            self._cache.move_to_end(key)
            out[cid] = self._cache[key]
        while len(self._cache) > self._cache_chunks:
            self._cache.popitem(last=False)
        return out
