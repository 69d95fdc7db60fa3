"""Ingest of an arXiv metadata dump: speed against the embedder's own, and peak memory.

    .venv/bin/python -m bench.arxiv_ingest --lines 50000 [--slice 2000]

Writes a made-up file in arXiv's metadata layout (one JSON object per line: id,
submitter, authors, title, comments, journal-ref, doi, categories, abstract, versions,
update_date, authors_parsed), abstracts recombined from the shipped corpus's sentences,
then runs `rag ingest FILE` as a child process on a fresh data folder (streamed: the file
is above ``RAG_STREAM_OVER_MB``) and reports its wall time, papers/s, the embedder's own
papers/s on a sample of the same abstracts, and the child's peak memory. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = 256


def write_dump(path: Path, lines: int, seed: int = 0) -> None:
    """``lines`` made-up arXiv metadata records."""
    from bench.scale import make_documents

    rng = random.Random(seed)
    names = ["Lima", "Wei", "Okafor", "Müller", "Ørsted", "Tal", "Quénby", "Novak"]
    with path.open("w", encoding="utf-8") as out:
        for i, doc in enumerate(make_documents(lines, seed)):
            people = rng.sample(names, 3)
            year = 2007 + i % 18
            record = {
                "id": f"{year % 100:02d}{1 + i % 12:02d}.{i:05d}",
                "submitter": people[0],
                "authors": ", ".join(f"A. {p}" for p in people[:-1]) + f" and B. {people[-1]}",
                "title": doc["title"],
                "comments": f"{rng.randint(4, 30)} pages",
                "journal-ref": None,
                "doi": f"10.5555/made.up.{i}" if i % 3 == 0 else None,
                "categories": rng.choice(["cs.CL", "cs.CL cs.LG", "cs.IR", "stat.ML cs.LG"]),
                "abstract": "  " + doc["abstract"].replace(". ", ".\n  "),
                "versions": [{"version": "v1", "created": f"Mon, 1 Jan {year} 10:00:00 GMT"}],
                "update_date": f"{year}-01-01",
                "authors_parsed": [[p, "A.", ""] for p in people],
            }
            out.write(json.dumps(record) + "\n")


def embedder_rate(path: Path) -> float:
    """Papers/s of the embedder alone on the first abstracts of the file, chunked as ingest
    chunks them."""
    from rag.chunking import chunk_papers, make_splitter
    from rag.embedding import embedder_for
    from rag.loaders import stream_papers
    from rag.settings import Settings

    settings = Settings.load()
    papers = []
    for paper in stream_papers(path):
        papers.append(paper)
        if len(papers) == SAMPLE:
            break
    embedder = embedder_for(settings)
    splitter = make_splitter(settings.chunk_size, settings.chunk_overlap, embedder.tokenize)
    embedder.embed([p.text for p in papers[:32]])  # warm-up, untimed
    start = time.perf_counter()
    nodes = chunk_papers(papers, splitter, settings.chunking_key)
    embedder.embed([n.get_content(metadata_mode="embed") for n in nodes])
    return len(papers) / (time.perf_counter() - start)


def main() -> int:
    """Write the dump, ingest it in a child process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50000)
    parser.add_argument("--slice", type=int, default=2000, help="papers per streamed slice")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "arxiv-metadata.jsonl"
        write_dump(dump, args.lines)
        size_mb = dump.stat().st_size / 2**20
        env = dict(os.environ, RAG_DATA_DIR=str(Path(tmp) / "data"), RAG_STREAM_OVER_MB="1",
                   RAG_STREAM_PAPERS=str(args.slice))  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rag.cli", "ingest", str(dump), "--quiet"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        # Read before this process loads the embedder: a child started later would inherit
        # this process's peak in ru_maxrss (bench/scale.py, peak_mb).
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rate = embedder_rate(dump)
    print(done.stdout.strip().splitlines()[-1], file=sys.stderr)
    header = ("lines", "file MB", "slice", "ingest s", "ingest papers/s", "embedder papers/s",
              "ratio", "peak MB")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    cells = [args.lines, f"{size_mb:.0f}", args.slice, f"{wall:.0f}", f"{args.lines / wall:.1f}",
             f"{rate:.1f}", f"{args.lines / wall / rate:.2f}", f"{peak_mb:.0f}"]  # fmt: skip
    print("| " + " | ".join(map(str, cells)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
