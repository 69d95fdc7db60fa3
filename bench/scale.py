"""Scale benchmark: ingest and retrieval at 1k / 10k / 100k abstract-like documents.

    .venv/bin/python -m bench.scale --sizes 1000 10000 100000 [--server HOST:PORT]

For each size, in a fresh process and a fresh index (so memory peaks are per size):
ingest throughput (docs/s) and peak memory, embedder-only throughput on a sample of the
same chunks (and the ratio: how close ingest gets to the embedder's own speed), index size
on disk, retrieval latency p50/p95 for dense, BM25 and fused search, start-up time
and peak memory of the app with the built index (what `rag-ui` does before serving, but
for the generator's load, which `rag eval` reports as model_load_s), and how long the
UI's upload of a one-abstract file takes on that index, with searches running meanwhile
and a check that the new paper is found after it (then undone). Prints one table.

Documents are synthetic but abstract-like: sentences of the shipped corpus recombined,
with made-up method names and numbers, so every document is unique and of realistic length.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile

QUERIES = 100
EMBED_SAMPLE = 256  # documents embedded without storing, for the embedder-only rate
STARTS = 5  # start-up is timed this many times; median and slowest reported


def make_documents(n: int, seed: int = 0) -> list[dict]:
    """``n`` unique abstract-like {"title", "abstract"} records."""
    from rag.loaders import load_default_corpus
    from rag.terms import split_sentences

    sentences = [s for p in load_default_corpus() for s in split_sentences(p.text)]
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        name = "".join(rng.choice("BCDFGKLMNPRSTVZ") for _ in range(3)) + f"-{i}"
        body = " ".join(rng.sample(sentences, rng.randint(5, 9)))
        score, tasks = f"{rng.randint(10, 99)}.{rng.randint(0, 9)}", rng.randint(2, 60)
        body += f" {name} reaches {score}% on {tasks} tasks."
        docs.append({"title": f"{name}: {sentences[i % len(sentences)][:60]}", "abstract": body})
    return docs


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _latencies(fn, queries: list[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), percentile(times, 95)


def time_upload(settings, retriever, folder: Path, size: int) -> dict:
    """Time the UI's upload of a one-abstract file on this index, with searches running
    meanwhile; check the new paper is found after it; then undo it.

    What the upload button runs: ``add_file`` (parse, keep the file, ingest planned from
    the incoming paper alone, its chunks added to BM25's side index) and the retriever's
    refresh. The undo ingests the kept file as holding nothing, which removes its paper
    (and rebuilds BM25 whole, untimed).
    """
    import threading

    from rag.ingest import ingest_papers
    from rag.uploads import add_file, kept_path

    doc = make_documents(1, seed=size + 1)[0]
    path = folder / "bench-upload.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    done, searches, errors = threading.Event(), [0], []

    def search_meanwhile() -> None:
        while not done.is_set():
            try:
                retriever.search(doc["abstract"][:80])
                searches[0] += 1
            except Exception as exc:  # reported in the table, not raised
                errors.append(repr(exc))

    searcher = threading.Thread(target=search_meanwhile)
    searcher.start()
    start = time.perf_counter()
    report = add_file(path, path.name, settings)
    retriever.refresh()
    elapsed = time.perf_counter() - start
    done.set()
    searcher.join()
    if report.added != 1:
        raise RuntimeError(f"upload probe added {report.added} papers, expected 1")
    found = [
        retriever.search(doc["abstract"], top_k=1, mode=mode)[0].title == doc["title"]
        for mode in ("hybrid", "keyword")
    ]
    kept = kept_path(path.name, settings)
    ingest_papers([], settings, files=[kept], progress=False)
    kept.unlink()
    retriever.refresh()
    return {
        "upload_s": elapsed,
        "searches_during": searches[0],
        "search_errors": len(errors),
        "found_after": all(found),
    }


def measure(size: int, server: str | None, index_dir: Path | None = None) -> dict:
    """Build an index of ``size`` documents and measure it (runs in its own process).

    ``index_dir``: build there and keep it, instead of in a temporary folder. Ingest is
    incremental, so a build that was stopped resumes where it stopped; the ingest rate then
    counts only the documents this run embedded.
    """
    from rag.chunking import chunk_papers, make_splitter
    from rag.documents import Paper
    from rag.embedding import embedder_for
    from rag.ingest import ingest_papers
    from rag.settings import Settings

    docs = make_documents(size)
    papers = [Paper(d["abstract"], d["title"], ["bench"]) for d in docs]
    with tempfile.TemporaryDirectory() as tmp:
        folder = index_dir / str(size) if index_dir else Path(tmp)
        overrides: dict = {"data_dir": folder, "collection": f"bench{size}"}
        if server:
            host, _, port = server.partition(":")
            overrides.update(chroma_host=host, chroma_port=int(port or 8000))
        settings = Settings.load(**overrides)
        embedder = embedder_for(settings)
        splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, embedder.tokenize)
        sample = papers[: min(EMBED_SAMPLE, size)]
        embedder.embed([p.text for p in sample[:32]])  # warm-up, untimed
        start = time.perf_counter()
        nodes = chunk_papers(sample, splitter, settings.chunking_key)
        embedder.embed([n.get_content(metadata_mode="embed") for n in nodes])
        embed_rate = len(sample) / (time.perf_counter() - start)

        start = time.perf_counter()
        report = ingest_papers(papers, settings, progress=index_dir is not None)
        ingest_s = time.perf_counter() - start
        disk = _du(folder)

        start_cmd = [sys.executable, "-m", "bench.scale", "--start-probe", json.dumps(
            {k: str(v) for k, v in overrides.items()})]  # fmt: skip
        starts, app_mb = [], 0.0
        for _ in range(STARTS):
            # Until the probe is ready, not until it exits: tearing down torch and Chroma
            # takes seconds that a serving app never spends.
            started = time.time()
            out = subprocess.run(start_cmd, check=True, stdout=subprocess.PIPE, text=True)
            ready, peak = map(float, out.stdout.strip().splitlines()[-1].split())
            starts.append(ready - started)
            app_mb = max(app_mb, peak)

        from rag.retrieve import HybridRetriever

        retriever = HybridRetriever(settings)
        rng = random.Random(1)
        queries = [
            " ".join(rng.sample(d["abstract"].split(), 8))
            for d in rng.sample(docs, min(QUERIES, size))
        ]
        dense = _latencies(
            lambda q: retriever.store.query(
                retriever.embedder.embed_query(q), settings.candidate_k
            ),
            queries,
        )
        keyword = _latencies(lambda q: retriever.keyword.retrieve(q), queries)
        fused = _latencies(retriever.search, queries)
        upload = time_upload(settings, retriever, Path(tmp), size)
    return {
        "docs": size,
        "chunks": retriever.store.count(),
        "embedded_now": report.added + report.updated,
        "ingest_docs_per_s": (report.added + report.updated) / ingest_s,
        "embed_docs_per_s": embed_rate,
        "peak_mb": peak_mb(),
        "disk_mb": disk / 2**20,
        "start_s": statistics.median(starts),
        "start_max_s": max(starts),
        "app_mb": app_mb,
        "dense_ms": dense,
        "bm25_ms": keyword,
        "fused_ms": fused,
        **upload,
    }


def start_probe(overrides: dict) -> None:
    """What `rag-ui` does at start, but for loading the generator and opening the port;
    prints the time it is ready.

    Check the index exists, open Chroma, load BM25 and the embedder, build the Gradio app
    (which counts the papers), answer one search. The generator's load does not depend on
    the index; `rag eval` reports it (model_load_s).
    """
    from rag.settings import Settings
    from ui.app import prepare_app

    assistant, _ = prepare_app(Settings.load(**overrides), load_generator=False)
    assistant.search("warm up")
    # For the parent: the wall-clock moment it is ready, and its peak memory.
    print(time.time(), peak_mb(), flush=True)


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    From /proc rather than getrusage: a child started by ``subprocess`` (vfork, then exec)
    inherits its parent's peak in ru_maxrss, so a probe started by a 3 GB ingest process
    reported 3 GB whatever it used itself.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ingest_cell(row: dict) -> str:
    if row["embedded_now"] == row["docs"]:
        return f"{row['ingest_docs_per_s']:.1f}"
    if row["embedded_now"] == 0:
        return "(built earlier)"
    return f"{row['ingest_docs_per_s']:.1f} (last {row['embedded_now']} docs)"


def main() -> int:
    """Run each size in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--server", help="HOST:PORT of a Chroma server (default: embedded)")
    parser.add_argument(
        "--index-dir",
        type=Path,
        help="keep each size's index in DIR/SIZE; a stopped build resumes there (default: "
        "a temporary folder per size)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.start_probe:
        start_probe(json.loads(args.start_probe))
        return 0
    if args.one:
        print(json.dumps(measure(args.one, args.server, args.index_dir)))
        return 0
    rows = []
    for size in args.sizes:
        cmd = [sys.executable, "-m", "bench.scale", "--one", str(size)]
        cmd += ["--server", args.server] if args.server else []
        cmd += ["--index-dir", str(args.index_dir)] if args.index_dir else []
        # stderr passes through: a long build's progress bar stays visible.
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"done {size}", file=sys.stderr, flush=True)
    header = ("docs", "chunks", "ingest doc/s", "embed doc/s", "ratio", "peak MB", "disk MB",
              "start s median (max)", "app MB", "dense p50/p95 ms", "BM25 p50/p95 ms",
              "fused p50/p95 ms", "upload s", "searches during (errors)",
              "found after")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = [
            r["docs"], r["chunks"], _ingest_cell(r), f"{r['embed_docs_per_s']:.1f}",
            f"{r['ingest_docs_per_s'] / r['embed_docs_per_s']:.2f}" if r["embedded_now"] else "-",
            f"{r['peak_mb']:.0f}",
            f"{r['disk_mb']:.0f}",
            f"{r['start_s']:.1f} ({r['start_max_s']:.1f})", f"{r['app_mb']:.0f}",
            *(f"{r[k][0]:.0f} / {r[k][1]:.0f}" for k in ("dense_ms", "bm25_ms", "fused_ms")),
            f"{r['upload_s']:.1f}",
            f"{r.get('searches_during', '-')} ({r.get('search_errors', '-')})",
            {True: "yes", False: "NO"}.get(r.get("found_after"), "-"),
        ]  # fmt: skip
        print("| " + " | ".join(map(str, cells)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
