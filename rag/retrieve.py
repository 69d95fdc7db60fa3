"""Hybrid retrieval: dense (MiniLM in Chroma) + BM25, fused by reciprocal rank, grouped per paper.

Dense alone misses exact names and numbers; BM25 alone misses paraphrases. The dense
side ranks a chunk by its own cosine plus its best sentence's (rag/sentence_scores.py).
Fusion is done here rather than with llama-index's QueryFusionRetriever because we keep
each retriever's own score (the dense cosine drives the abstention floor) and group
chunks into papers.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import numpy as np

from rag.embedding import RememberedVectors, embedder_for
from rag.filters import chroma_where
from rag.keyword import author_names, load_keyword_index
from rag.sentence_scores import SentenceScorer
from rag.settings import Settings
from rag.store import PaperStore
from rag.types import PaperFilter, PaperMeta, Source, aliases_of


@dataclass
class _Candidate:
    meta: dict | None = None
    text: str | None = None
    dense_share: float = 0.0  # the dense ranking's reciprocal-rank share
    keyword_share: float = 0.0
    dense: float | None = None
    keyword: float | None = None
    sentence: float | None = None  # best sentence cosine, when sentences were scored

    @property
    def fused(self) -> float:
        return self.dense_share + self.keyword_share


class HybridRetriever:
    """Question -> ranked papers."""

    def __init__(self, settings: Settings, store: PaperStore | None = None) -> None:
        self.settings = settings
        self.store = store or PaperStore.open(settings)
        self.embedder = embedder_for(settings)
        self.keyword = None
        self._where: dict | None = None  # a filtered view's Chroma clause (with_filter)
        self._papers: set[str] | None = None
        self.short_vectors = RememberedVectors(self.embedder.embed_short)
        self.sentences = SentenceScorer(self.short_vectors)
        self.refresh()

    def with_filter(self, paper_filter: PaperFilter | None) -> HybridRetriever:
        """This retriever restricted to the papers ``paper_filter`` keeps (a copy sharing the
        loaded indexes, for one question); itself when the filter keeps everything."""
        if paper_filter is None or paper_filter.is_empty():
            return self
        names = author_names(self.settings.keyword_dir) if paper_filter.author.strip() else []
        view = copy.copy(self)
        view._where = chroma_where(paper_filter, names, self.settings.max_author_matches)
        view._papers = None
        return view

    def matching_papers(self) -> set[str] | None:
        """Doc ids the filter keeps (asked of Chroma once per view); None without a filter."""
        if self._where is None:
            return None
        if self._papers is None:
            self._papers = self.store.doc_ids_where(self._where)
        return self._papers

    def refresh(self) -> None:
        """Reload the keyword index after this process's ingest (its Chroma client sees
        its own new rows by itself)."""
        self.sentences.clear()
        self._chunks_seen = self.store.count()
        if self.settings.hybrid:
            # One assignment: a search running meanwhile keeps the index it started with.
            self.keyword = load_keyword_index(
                self.store, self.settings.keyword_dir, self.settings.candidate_k, self.keyword
            )

    def changed_elsewhere(self) -> tuple[int, int] | None:
        """(chunks when last loaded, chunks now) when another process (a `rag ingest` in
        another terminal) changed the index since, else None.

        This process's searches do not reach that process's papers until it restarts:
        its keyword index was built before them, and embedded Chroma loads a folder's
        vectors once per process (it reads the new rows' metadata, not their vectors).
        Counting is one SQL count, so it is asked before every question.
        """
        now = self.store.count()
        return (self._chunks_seen, now) if now != self._chunks_seen else None

    def count_papers(self) -> int:
        """Number of papers indexed.

        Read from the keyword index's manifest when there is one (written when it was
        built, which every ingest does): Chroma counts by a filtered read of the whole
        collection, about 1 s of an app's start at 100k papers.
        """
        if self.keyword is None:
            return self.store.count_papers()
        return self.keyword.papers

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed passages with the same model the index uses."""
        return self.embedder.embed(texts)

    def embed_short(self, texts: list[str]) -> list[list[float]]:
        """Embed many short texts (sentences) fast: same model and vectors as :meth:`embed`,
        in small length-sorted batches, so a long sentence does not pad all the others
        (~30% faster on 2 cores for an answer's ~25 source sentences); each text's vector
        is remembered, as the same sentences come back within an answer."""
        return self.short_vectors(texts).tolist()

    def search(
        self, question: str, top_k: int | None = None, mode: str = "hybrid",
        dense_hits: int | None = None,
    ) -> list[Source]:  # fmt: skip
        """The ``top_k`` best papers for ``question``.

        ``mode``: "hybrid" (both rankings fused, or dense alone when the settings turn BM25
        off), "dense" or "keyword" alone (benchmarks compare the three on one index).
        ``dense_hits``: chunks taken from the dense retriever (default ``candidate_k``):
        more when many papers are wanted. With ``sentence_scores`` (and no ``dense_hits``)
        the dense side ranks the candidates by chunk plus best sentence cosine.
        """
        if mode not in ("hybrid", "dense", "keyword"):
            raise ValueError(f"unknown retrieval mode {mode!r}")
        top_k = top_k or self.settings.top_k
        rrf_k = self.settings.rrf_k
        candidates: dict[str, _Candidate] = {}
        query_vector = None
        if mode != "keyword":
            query_vector = self._add_dense_hits(candidates, question, limit=dense_hits)

        keyword = self.keyword if mode != "dense" else None
        if mode == "keyword" and keyword is None:
            raise ValueError("keyword-only search needs the BM25 index (hybrid=true)")
        if keyword is not None:
            hits = self._keyword_hits(keyword, question, self.matching_papers())
            for rank, hit in enumerate(hits):
                cand = candidates.setdefault(hit.node.node_id, _Candidate())
                cand.keyword = float(hit.score)
                cand.keyword_share = 1.0 / (rrf_k + rank + 1)
            missing = [cid for cid, c in candidates.items() if c.meta is None]
            for cid, (meta, text) in self.store.get_chunks(missing).items():
                candidates[cid].meta, candidates[cid].text = meta, text
        # A wide search (``dense_hits``: the superlative scan's pool) is read whole, in no
        # order: embedding its hundreds of sentences would only cost time.
        if query_vector is not None and self.settings.sentence_scores and dense_hits is None:
            self._rank_dense_by_sentences(candidates, query_vector)
        return self._group_by_paper(candidates, top_k)

    def _rank_dense_by_sentences(
        self, candidates: dict[str, _Candidate], query_vector: list[float]
    ) -> None:
        """Re-rank the dense side over every candidate chunk (the keyword retriever's too)
        by the chunk's cosine plus its best sentence's (rag/sentence_scores.py). The
        reported ``dense`` score stays the chunk's own cosine (the relevance floors are
        calibrated on it); a chunk only BM25 found gets its cosine too, so that the floors
        judge it by the same measure as the rest."""
        query = np.asarray(query_vector, dtype=np.float32)
        texts = {cid: c.text for cid, c in candidates.items() if c.meta is not None and c.text}
        unseen = [cid for cid in texts if candidates[cid].dense is None]
        stored = self.store.embeddings(unseen)
        unstored = [cid for cid in unseen if cid not in stored]
        if unstored:  # Chroma could not read them: the same model, on the same text
            stored.update(zip(unstored, self.embed([texts[cid] for cid in unstored]), strict=True))
        for cid, vector in stored.items():
            candidates[cid].dense = float(np.asarray(vector, dtype=np.float32) @ query)
        best_sentence = self.sentences.best(query, texts)
        score = {cid: (candidates[cid].dense or 0.0) + best_sentence.get(cid, 0.0) for cid in texts}
        for cid, cosine in best_sentence.items():
            candidates[cid].sentence = cosine
        for cand in candidates.values():
            cand.dense_share = 0.0
        for rank, cid in enumerate(sorted(score, key=score.get, reverse=True)):
            candidates[cid].dense_share = 1.0 / (self.settings.rrf_k + rank + 1)

    def search_within(self, question: str, doc_ids: list[str]) -> list[Source]:
        """These papers (when indexed), scored against ``question`` by the dense retriever,
        in the order of ``doc_ids``: a follow-up's papers, named by the previous answer."""
        if not doc_ids:
            return []
        candidates: dict[str, _Candidate] = {}
        self._add_dense_hits(candidates, question, doc_ids)
        found = {s.doc_id: s for s in self._group_by_paper(candidates, len(doc_ids))}
        return [found[d] for d in doc_ids if d in found]

    def _add_dense_hits(
        self, candidates: dict[str, _Candidate], question: str,
        doc_ids: list[str] | None = None, limit: int | None = None,
    ) -> list[float]:  # fmt: skip
        """Add the dense retriever's chunks for ``question`` (of ``doc_ids`` only, if given)
        to ``candidates``, with their cosine and reciprocal-rank share; returns the
        question's vector."""
        query_vector = self.embedder.embed_query(question)
        hits = self.store.query(
            query_vector, limit or self.settings.candidate_k, doc_ids, self._where
        )
        for rank, (cid, cosine, meta, text) in enumerate(hits):
            cand = candidates.setdefault(cid, _Candidate())
            cand.meta, cand.text, cand.dense = meta, text, cosine
            cand.dense_share = 1.0 / (self.settings.rrf_k + rank + 1)
        return query_vector

    @staticmethod
    def _keyword_hits(keyword, question: str, papers: set[str] | None) -> list:
        return [hit for hit in keyword.retrieve(question, papers) if hit.score and hit.score > 0]

    def _group_by_paper(self, candidates: dict[str, _Candidate], top_k: int) -> list[Source]:
        best: dict[str, Source] = {}
        for cand in sorted(candidates.values(), key=lambda c: c.fused, reverse=True):
            if cand.meta is None:  # BM25 index older than the store; the hit is gone
                continue
            doc_id = cand.meta["doc_id"]
            source = best.get(doc_id)
            if source is None:
                best[doc_id] = Source(
                    rank=0,
                    doc_id=doc_id,
                    title=cand.meta["title"],
                    text=cand.meta.get("abstract", ""),  # the first chunk's; else below
                    score=cand.fused,
                    dense_score=cand.dense,
                    keyword_score=cand.keyword,
                    chunk=cand.text or "",
                    files=json.loads(cand.meta["sources"]),
                    title_is_derived=bool(cand.meta.get("title_is_derived", False)),
                    meta=PaperMeta.from_metadata(cand.meta),
                    aliases=aliases_of(cand.meta),
                    sentence_score=cand.sentence,
                )
                continue
            source.dense_score = _max(source.dense_score, cand.dense)
            source.keyword_score = _max(source.keyword_score, cand.keyword)
            source.sentence_score = _max(source.sentence_score, cand.sentence)
        ranked = list(best.values())[:top_k]
        # A paper's abstract is stored on its first chunk only (rag/chunking.py).
        missing = [s.doc_id for s in ranked if not s.text]
        abstracts = self.store.abstracts(missing) if missing else {}
        for rank, source in enumerate(ranked, start=1):
            source.rank = rank
            source.text = source.text or abstracts.get(source.doc_id, "")
        return ranked


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
