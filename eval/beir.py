"""``rag eval --beir DIR``: the retriever on any BEIR-layout benchmark.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl``
(``{"_id", "text"}``) and ``qrels/test.tsv`` (``query-id  corpus-id  score``, graded). The
corpus goes into a collection of its own (``beir-NAME`` in the configured data directory;
a second run reuses it, so only the first pays for embedding), then every query with
qrels is searched three ways on that one index: fused (the product's default), BM25 alone
and dense alone. Reported per mode: nDCG@10 (graded gains, as BEIR's own scorer),
recall@10, recall@100, MRR@10 and search latency.

Papers with the same text are one paper in the index (ids are content hashes); such a
paper stands for every BEIR id that carries its text.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from eval.metrics import percentile
from rag.documents import Paper, make_paper
from rag.errors import RagError
from rag.loaders import iter_jsonl

MODES = ("hybrid", "keyword", "dense")
DEPTH = 100  # papers ranked per query: recall@100 needs them


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise RagError(f"{path} is missing: a BEIR folder has corpus.jsonl, queries.jsonl, "
                       "qrels/test.tsv")  # fmt: skip
    rows = []
    for number, raw in iter_jsonl(path.read_text(encoding="utf-8"), str(path)):
        if not isinstance(raw, dict) or "_id" not in raw:
            raise RagError(f'{path}:{number}: each line needs an "_id"')
        rows.append((number, raw))
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {corpus id: graded relevance}; a header line is skipped."""
    if not path.is_file():
        raise RagError(f"{path} is missing (qrels/NAME.tsv; pick NAME with --beir-split)")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or (number == 1 and row[0].strip().lower() == "query-id"):
                continue  # blank, or BEIR's header line
            try:
                score = int(float(row[2]))
            except (IndexError, ValueError):
                raise RagError(
                    f"{path}:{number}: expected query-id<TAB>corpus-id<TAB>score"
                ) from None
            qrels[row[0].strip()][row[1].strip()] = score
    if not qrels:
        raise RagError(f"{path} has no judged queries")
    return dict(qrels)


def read_beir(folder: Path, split: str = "test"):
    """(papers, BEIR ids per paper doc id, queries with qrels, qrels) of a BEIR folder."""
    if not folder.is_dir():
        raise RagError(f"--beir {folder}: not a folder")
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    papers: dict[str, Paper] = {}
    ids_of: dict[str, list[str]] = defaultdict(list)
    corpus = folder / "corpus.jsonl"
    source = str(corpus.resolve())  # as ingest keys files: a re-run finds its papers
    seen_ids: set[str] = set()
    for number, raw in _read_jsonl(corpus):
        if str(raw["_id"]) in seen_ids:
            raise RagError(f"{corpus}:{number}: _id {raw['_id']!r} is used twice")
        seen_ids.add(str(raw["_id"]))
        text = str(raw.get("text") or "").strip()
        if not text:
            continue  # BEIR corpora hold a few empty documents; nothing to index
        paper = make_paper(text, str(raw.get("title") or ""), source)
        papers.setdefault(paper.doc_id, paper)
        ids_of[paper.doc_id].append(str(raw["_id"]))
    queries = {
        str(raw["_id"]): str(raw.get("text", ""))
        for _, raw in _read_jsonl(folder / "queries.jsonl")
        if str(raw["_id"]) in qrels
    }
    missing = set(qrels) - set(queries)
    if missing:
        raise RagError(f"{len(missing)} qrels queries are not in queries.jsonl "
                       f"(e.g. {sorted(missing)[0]!r})")  # fmt: skip
    return list(papers.values()), dict(ids_of), queries, qrels


def ndcg_at(ranked: list[str], qrel: dict[str, int], k: int = 10) -> float:
    """Graded nDCG@k with linear gains (BEIR's scorer, pytrec_eval's ndcg_cut)."""
    dcg = sum(qrel.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal_gains = sorted((g for g in qrel.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], qrel: dict[str, int], k: int) -> float:
    """Share of the relevant documents (score > 0) in the top ``k``."""
    relevant = {doc for doc, g in qrel.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], qrel: dict[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant document in the top ``k`` (0 if none)."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if qrel.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def collection_name(folder: Path) -> str:
    """A Chroma collection name for the benchmark folder."""
    resolved = folder.resolve()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", resolved.name).strip("-")[:40] or "set"
    return f"beir-{slug}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


def evaluate(folder: Path, split: str = "test", limit: int | None = None,
             overrides: dict | None = None, log=print) -> dict:  # fmt: skip
    """Index the corpus (or reuse its collection), run every mode; returns the results."""
    from rag.ingest import ingest_papers
    from rag.retrieve import HybridRetriever
    from rag.settings import Settings

    papers, ids_of, queries, qrels = read_beir(folder, split)
    if limit:
        queries = dict(list(queries.items())[:limit])
    values = {"collection": collection_name(folder), "hybrid": True, **(overrides or {})}
    # Each retriever ranks chunks: 3 per paper lets every mode reach DEPTH papers for
    # recall@100 (an abstract is 1 to 3 chunks of 256 tokens).
    values["candidate_k"] = max(int(values.get("candidate_k", 0) or 0), 3 * DEPTH)
    settings = Settings.load(**values)
    if not settings.hybrid:
        raise RagError("--beir compares fused, BM25 and dense retrieval: leave hybrid on")
    log(f"{folder}: {len(papers)} documents, {len(queries)} queries with qrels ({split})")
    started = time.perf_counter()
    report = ingest_papers(papers, settings, files=[folder / "corpus.jsonl"], prune=True)
    ingest_s = time.perf_counter() - started
    log(f"ingest: {report.summary()} in {ingest_s:.0f} s")
    retriever = HybridRetriever(settings)
    results = {
        "folder": str(folder), "split": split, "documents": len(papers),
        "queries": len(queries), "embedded": report.added + report.updated,
        "ingest_s": round(ingest_s, 1), "settings": settings.model_dump(mode="json"),
        "modes": {},
    }  # fmt: skip
    for mode in MODES:
        scores: dict[str, list[float]] = defaultdict(list)
        latencies = []
        for qid, text in queries.items():
            t0 = time.perf_counter()
            sources = retriever.search(text, top_k=DEPTH, mode=mode)
            latencies.append(time.perf_counter() - t0)
            ranked = [beir_id for s in sources for beir_id in ids_of.get(s.doc_id, [])]
            ranked = list(dict.fromkeys(ranked))
            qrel = qrels[qid]
            scores["ndcg@10"].append(ndcg_at(ranked, qrel, 10))
            scores["recall@10"].append(recall_at(ranked, qrel, 10))
            scores["recall@100"].append(recall_at(ranked, qrel, 100))
            scores["mrr@10"].append(mrr_at(ranked, qrel, 10))
        row = {name: sum(v) / len(v) for name, v in scores.items()}
        row["p50_ms"] = statistics.median(latencies) * 1000
        row["p95_ms"] = percentile(latencies, 95) * 1000
        results["modes"][mode] = row
    return results


def format_results(results: dict) -> str:
    """The three modes side by side, as a Markdown table."""
    names = ["ndcg@10", "recall@10", "recall@100", "mrr@10", "p50_ms", "p95_ms"]
    lines = ["| mode | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for mode, row in results["modes"].items():
        cells = [f"{row[n]:.1f}" if n.endswith("_ms") else f"{row[n]:.3f}" for n in names]
        label = {"hybrid": "fused (default)", "keyword": "BM25 only", "dense": "dense only"}
        lines.append(f"| {label[mode]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """``rag eval --beir DIR [--beir-split test] [--beir-limit N] [--set ...] [--out F]``."""
    from eval.harness import parse_overrides

    started = time.perf_counter()
    results = evaluate(args.beir, args.beir_split, args.beir_limit,
                       parse_overrides(args.set or []),
                       log=lambda line: print(line, file=sys.stderr, flush=True))  # fmt: skip
    results["total_s"] = round(time.perf_counter() - started, 1)
    print(format_results(results))
    print(f"{results['documents']} documents ({results['embedded']} embedded now, "
          f"{results['ingest_s']:.0f} s), {results['queries']} queries, "
          f"{results['total_s']:.0f} s in all")  # fmt: skip
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    return 0
