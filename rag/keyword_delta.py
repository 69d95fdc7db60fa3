"""The keyword index's side index: chunks written since BM25 was last built whole.

Rebuilding BM25 reads every stored chunk (about a minute and a half at 100k papers), so
an upload of a few papers instead records their chunks here, and searches score them
beside the main index until the next full build (`rag ingest`, or a side index grown past
``keyword_delta_papers``) folds them in.

Why scored by hand: bm25s scores only the corpus it was built from and cannot add to it.
A side chunk is scored with the *main* index's statistics (number of chunks, each term's
chunk frequency, mean chunk length) and the same Lucene BM25 formula and parameters, so
its score is on the main index's scale and the two hit lists merge by score. The side
index is small next to the main one (bounded by the setting), so leaving its own chunks
out of those statistics changes little; a word only the new papers use gets the highest
weight, as it would after the rebuild.

The side index is one small JSON file, replaced atomically, holding each chunk's stemmed
terms (tokenized when written, with the main index's tokenizer), the ids of chunks that
were replaced or removed since the build (their main-index hits are stale), and the store
size it matches.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

DELTA = "rag_delta.json"
PENDING = "rag_pending"  # present while the store is changing: the saved index is not trusted

# bm25s.BM25's defaults, which the main index is built with (rag/keyword.py).
K1, B = 1.5, 0.75


def tokenize(texts: list[str]) -> list[list[str]]:
    """Stemmed terms of each text, as the main index tokenizes its chunks."""
    import bm25s
    import Stemmer

    tokens = bm25s.tokenize(
        texts,
        stopwords="en",
        stemmer=Stemmer.Stemmer("english"),
        return_ids=False,
        show_progress=False,
    )
    return [list(t) for t in tokens]


@dataclass
class MainStats:
    """What a side chunk's score needs from the main index."""

    chunks: int
    mean_length: float
    vocab: dict[str, int]  # term -> column in the score matrix
    indptr: object  # numpy array: a term's chunk frequency is indptr[col + 1] - indptr[col]

    def frequency(self, term: str) -> int:
        """How many main-index chunks hold ``term``."""
        col = self.vocab.get(term)
        if col is None:
            return 0
        return int(self.indptr[col + 1] - self.indptr[col])

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf, as bm25s computes it."""
        df = self.frequency(term)
        return math.log(1 + (self.chunks - df + 0.5) / (df + 0.5))


@dataclass
class KeywordDelta:
    """Chunks written since the last full build, and chunks they made stale."""

    chunks: dict[str, list[str]] = field(default_factory=dict)  # chunk id -> stemmed terms
    stale: set[str] = field(default_factory=set)  # main-index chunk ids no longer current
    papers_written: int = 0  # papers added, changed or removed since the build
    store_chunks: int = 0  # the store's size when this was written
    papers: int = 0  # papers in the store when this was written

    def add(self, chunk_ids: list[str], texts: list[str], removed: list[str]) -> None:
        """Record written chunks (with their keyword texts) and removed chunk ids."""
        for cid in removed:
            self.chunks.pop(cid, None)
            self.stale.add(cid)
        for cid, terms in zip(chunk_ids, tokenize(texts), strict=True):
            self.chunks[cid] = terms
            self.stale.add(cid)  # a main-index chunk of that id is an older version

    def score(self, query_terms: list[str], stats: MainStats) -> dict[str, float]:
        """BM25 score of every side chunk holding a query term (a repeated term counts
        again, as in bm25s)."""
        wanted = Counter(query_terms)
        scores: dict[str, float] = {}
        idf = {term: stats.idf(term) for term in wanted}
        for cid, terms in self.chunks.items():
            counts = Counter(t for t in terms if t in wanted)
            if not counts:
                continue
            norm = K1 * ((1 - B) + B * len(terms) / stats.mean_length)
            scores[cid] = sum(wanted[t] * idf[t] * tf / (norm + tf) for t, tf in counts.items())
        return scores


def read_delta(folder: Path) -> KeywordDelta | None:
    """The saved side index, or None when there is none."""
    path = folder / DELTA
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    return KeywordDelta(
        chunks=raw["chunks"],
        stale=set(raw["stale"]),
        papers_written=raw["papers_written"],
        store_chunks=raw["store_chunks"],
        papers=raw["papers"],
    )


def write_delta(folder: Path, delta: KeywordDelta) -> None:
    """Save the side index atomically (a reader sees the old file or the new one)."""
    tmp = folder / (DELTA + ".partial")
    tmp.write_text(
        json.dumps(
            {
                "chunks": delta.chunks,
                "stale": sorted(delta.stale),
                "papers_written": delta.papers_written,
                "store_chunks": delta.store_chunks,
                "papers": delta.papers,
            }
        )
    )
    os.replace(tmp, folder / DELTA)
