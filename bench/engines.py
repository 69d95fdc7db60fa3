"""Engine benchmark: the embedder's backends side by side, in one run, on the same inputs.

    .venv/bin/python -m bench.engines [--docs 1000] [--beir DIR] [--beir-limit 300]
                                      [--backends torch onnx onnx-int8]

1. **Ingest speed.** The same ``--docs`` synthetic abstract-like documents (bench/scale.py's
   generator) are ingested into a fresh index per backend: the whole ``rag ingest`` path
   (chunking, embedding, Chroma, BM25), timed after a warm-up that loads the model. Also
   the embedder alone on the same chunks, and each backend's rate as a multiple of torch's.
2. **Retrieval quality** (with ``--beir``): a BEIR-layout folder (``python -m eval.pubmedqa``
   writes one, ``OUT_DIR/beir``) is indexed by each backend and searched with each
   backend's query vectors, dense alone and fused with BM25: nDCG@10 for every pair of
   (index backend, query backend). The diagonal is a backend on its own; the rest shows
   whether an index built by one backend can be searched by another.

3. **Generator engines** (``--generator``): each engine in a fresh process on an index of the
   shipped corpus, as the app runs it: load time (the generator, and its fixed prompt's KV
   cache), prefill and decode tokens/s on the calibration prompt (``rag.engine_choice``),
   one whole answer, the process's peak memory (``VmHWM``), and the disk its weights take.
   Then the calibration that ``generator_engine=auto`` uses on this machine.

Prints Markdown tables; ``--out FILE`` also writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.embedding import BACKENDS


def ingest_speed(backends: list[str], docs: int, folder: Path) -> list[dict]:
    """Docs/s of a full ingest and of the embedder alone, per backend, same documents."""
    from bench.scale import make_documents
    from rag.chunking import chunk_papers, make_splitter
    from rag.documents import Paper
    from rag.embedding import embedder_for
    from rag.ingest import ingest_papers
    from rag.settings import Settings

    papers = [Paper(d["abstract"], d["title"], ["bench"]) for d in make_documents(docs)]
    rows = []
    for backend in backends:
        settings = Settings.load(data_dir=folder / backend, embed_backend=backend)
        embedder = embedder_for(settings)
        embedder.embed([p.text for p in papers[:16]])  # warm-up: load, first-run allocations
        splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, embedder.tokenize)
        texts = [n.get_content(metadata_mode="embed")
                 for n in chunk_papers(papers, splitter, settings.chunking_key)]  # fmt: skip
        start = time.perf_counter()
        embedder.embed(texts)
        embed_s = time.perf_counter() - start
        start = time.perf_counter()
        ingest_papers(papers, settings, files=None, progress=False)
        ingest_s = time.perf_counter() - start
        rows.append({"backend": backend, "docs": docs, "chunks": len(texts),
                     "embed_docs_per_s": docs / embed_s,
                     "ingest_docs_per_s": docs / ingest_s})  # fmt: skip
        print(f"{backend}: ingest {docs / ingest_s:.1f} docs/s", file=sys.stderr, flush=True)
    return rows


def retrieval_quality(backends: list[str], beir: Path, limit: int, folder: Path) -> list[dict]:
    """nDCG@10 (dense, fused) for each (index backend, query backend) pair."""
    from eval.beir import evaluate

    rows = []
    for built_by in backends:
        for queried_by in [built_by] + [b for b in backends if b != built_by]:
            # The first call builds the index with ``built_by``; the others find every paper
            # already there (ingest is by content), embed nothing and only query.
            overrides = {"data_dir": folder / f"beir-{built_by}", "embed_backend": queried_by}
            result = evaluate(beir, limit=limit, overrides=overrides, log=lambda _: None)
            rows.append({"index": built_by, "query": queried_by,
                         "embedded": result["embedded"], "queries": result["queries"],
                         **{f"{mode}_ndcg@10": result["modes"][mode]["ndcg@10"]
                            for mode in ("dense", "hybrid")}})  # fmt: skip
            print(f"index {built_by}, query {queried_by}: dense nDCG@10 "
                  f"{rows[-1]['dense_ndcg@10']:.4f}", file=sys.stderr, flush=True)  # fmt: skip
    return rows


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def probe_engine(engine: str, data_dir: Path) -> dict:
    """In this (fresh) process: load the app's parts with ``engine``, time them, answer once."""
    from rag.engine_choice import time_engine
    from rag.loaders import load_default_corpus
    from rag.pipeline import Assistant
    from rag.settings import Settings

    settings = Settings.load(data_dir=data_dir, generator_engine=engine)
    assistant = Assistant(settings)
    start = time.perf_counter()
    generator = assistant.generator  # loads it
    load_s = time.perf_counter() - start
    assistant.warm_up()  # the fixed prompt's KV cache
    warm_s = time.perf_counter() - start - load_s
    rates = time_engine(generator)
    # A question the shipped corpus answers, whatever it holds: about its first paper.
    title = load_default_corpus()[0].title
    start = time.perf_counter()
    answer = assistant.ask(f"What does the paper '{title}' propose?")
    answer_s = time.perf_counter() - start
    return {"engine": engine, "load_s": load_s, "warm_up_s": warm_s, **rates,
            "answer_s": answer_s, "answered": not answer.abstained,
            "peak_mb": _peak_mb()}  # fmt: skip


def engine_disk_gb(engine: str) -> float:
    """What the default generator takes on disk for ``engine``: the chunk packages set-up
    installs, the tokenizer folder, and the engine's own weights (the joined GGUF for
    llama.cpp, the int8 copy for transformers)."""
    from rag.quantize import int8_file
    from rag.settings import Settings
    from rag.weights import get_spec, part_paths

    settings = Settings.load()
    folder = settings.model_cache_dir / settings.generator
    parts = sum(p.stat().st_size for p in part_paths(get_spec(settings.generator)))
    hf = sum(p.stat().st_size for p in (folder / "hf").rglob("*") if p.is_file())
    weights = folder / "model.gguf" if engine == "llama.cpp" else int8_file(folder / "hf")
    return (parts + hf + weights.stat().st_size) / 2**30


def generator_engines(folder: Path) -> list[dict]:
    """Each engine probed in its own process, on one index of the shipped corpus."""
    from rag.ingest import ensure_index
    from rag.quantize import int8_file, load_int8
    from rag.settings import Settings
    from rag.weights import prepare_generator, prepare_gguf

    data_dir = folder / "app"
    settings = Settings.load(data_dir=data_dir)
    ensure_index(settings, progress=False)
    # Both engines' weights on disk first, so no load below includes building them
    # (``rag prepare`` keeps only the chosen engine's).
    gguf = prepare_gguf(settings.generator, settings.model_cache_dir)
    hf_dir = prepare_generator(settings.generator, settings.model_cache_dir)
    if not int8_file(hf_dir).exists():
        load_int8(hf_dir, gguf)
    rows = []
    for engine in ("transformers", "llama.cpp"):
        command = [sys.executable, "-m", "bench.engines", "--probe", engine,
                   "--probe-data", str(data_dir)]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["disk_gb"] = engine_disk_gb(engine)
        rows.append(row)
        print(f"{engine}: load {row['load_s']:.1f} s, peak {row['peak_mb']:.0f} MB",
              file=sys.stderr, flush=True)  # fmt: skip
    return rows


def format_engines(rows: list[dict]) -> str:
    """The generator engines side by side."""
    lines = ["| engine | load s | prefix KV s | prefill tok/s | decode tok/s | one answer s "
             "| app peak MB | disk GB |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        answer = f"{r['answer_s']:.1f}" + ("" if r["answered"] else " (abstained)")
        lines.append(f"| {r['engine']} | {r['load_s']:.1f} | {r['warm_up_s']:.1f} | "
                     f"{r['prefill_tok_s']:.0f} | {r['decode_tok_s']:.1f} | {answer} | "
                     f"{r['peak_mb']:.0f} | {r['disk_gb']:.2f} |")  # fmt: skip
    return "\n".join(lines)


def format_speed(rows: list[dict]) -> str:
    """The ingest table, rates relative to torch's when torch ran."""
    base = next((r for r in rows if r["backend"] == "torch"), None)
    lines = ["| backend | docs | chunks | embed docs/s | ingest docs/s | ingest x torch |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        ratio = f"{r['ingest_docs_per_s'] / base['ingest_docs_per_s']:.2f}" if base else "-"
        lines.append(
            f"| {r['backend']} | {r['docs']} | {r['chunks']} | "
            f"{r['embed_docs_per_s']:.1f} | {r['ingest_docs_per_s']:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def format_quality(rows: list[dict]) -> str:
    """nDCG@10 per (index, query) pair, and the change from torch on torch."""
    base = next((r for r in rows if r["index"] == r["query"] == "torch"), None)
    lines = ["| index built by | queried by | queries | dense nDCG@10 | fused nDCG@10 | "
             "dense vs torch | fused vs torch |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        deltas = [f"{r[k] - base[k]:+.4f}" if base else "-"
                  for k in ("dense_ndcg@10", "hybrid_ndcg@10")]  # fmt: skip
        lines.append(
            f"| {r['index']} | {r['query']} | {r['queries']} | "
            f"{r['dense_ndcg@10']:.4f} | {r['hybrid_ndcg@10']:.4f} | "
            f"{deltas[0]} | {deltas[1]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__)
    parser.add_argument("--docs", type=int, default=1000, help="documents ingested per backend")
    parser.add_argument("--beir", type=Path, help="BEIR-layout folder for retrieval quality")
    parser.add_argument("--beir-limit", type=int, default=300, help="queries used from it")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--generator", action="store_true", help="also the generator engines")
    parser.add_argument("--no-embedder", action="store_true", help="skip the embedder parts")
    parser.add_argument("--out", type=Path, help="also write the numbers here (JSON)")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # one engine, in a child process
    parser.add_argument("--probe-data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe_engine(args.probe, args.probe_data)))
        return 0

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        if args.generator:
            from rag.engine_choice import calibration, format_calibration, machine_key
            from rag.settings import Settings

            results["generator"] = generator_engines(Path(tmp))
            print("\n## Generator engines\n\n" + format_engines(results["generator"]))
            settings = Settings.load()
            results["calibration"] = calibration(settings)
            print(f"\n## Calibration on {machine_key(settings)}\n\n"
                  + format_calibration(results["calibration"]))  # fmt: skip
        if args.no_embedder:
            args.beir = None
        else:
            results["ingest"] = ingest_speed(args.backends, args.docs, Path(tmp))
            print("\n## Embedder: ingest speed\n\n" + format_speed(results["ingest"]))
        if args.beir:
            results["retrieval"] = retrieval_quality(args.backends, args.beir,
                                                     args.beir_limit, Path(tmp))  # fmt: skip
            print(f"\n## Embedder: retrieval quality ({args.beir.name})\n\n"
                  + format_quality(results["retrieval"]))  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
