"""The `rag` command as a user runs it: a subprocess, real index, real small generator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from rag.pipeline import ABSTAIN_TEXT
from rag.settings import Settings
from rag.weights import get_spec, part_paths

from .conftest import SMALL_GENERATOR

REQUIRED_KEYS = {"question", "answer", "abstained", "citations", "sources", "timings"}

# `rag` as main() runs it, with every file Python opens recorded by an audit hook (then
# written to argv[1]): whether a run read the generator's files is a fact of the process,
# not of what it prints. Both engines read the model's config and tokenizer from
# model_cache_dir/KEY/hf with Python's open, whatever else they read natively.
WATCHED_RAG = """
import json, os, sys
opened = []
def record(event, args):
    if event == "open" and isinstance(args[0], (str, os.PathLike)):
        opened.append(os.fspath(args[0]))
sys.addaudithook(record)
from rag.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump(opened, out)
raise SystemExit(code)
"""
# A log line as logging's default handler writes one, below WARNING.
LOW_LOG_LINE = re.compile(r"^(DEBUG|INFO):", re.MULTILINE)


def rag(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=600,
    )  # fmt: skip


def watched_rag(opened: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run ``rag ARGS``; its result and the paths of the files it opened."""
    result = subprocess.run(
        [sys.executable, "-c", WATCHED_RAG, str(opened), *args],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return result, json.loads(opened.read_text()) if opened.exists() else []


def generator_files(settings: Settings, key: str) -> list[str]:
    """Where the files of generator ``key`` are: its cache folder and its packaged GGUF."""
    return [str(settings.model_cache_dir / key), *map(str, part_paths(get_spec(key)))]


def read_any(opened: list[str], places: list[str]) -> bool:
    return any(path.startswith(place) for path in opened for place in places)


def _one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and pattern in lines[0], lines


def test_ingest_then_search_a_users_file(tmp_path: Path) -> None:
    data = tmp_path / "mine.csv"
    data.write_text(
        "title,abstract\n"
        '"Sparse Mixture Routing","We route tokens to sparse experts with a learned gate '
        'and show that 64 experts halve training cost at equal perplexity on web text."\n'
    )
    index = tmp_path / "index"
    ingest = rag("ingest", str(data), "--data-dir", str(index), "--quiet")
    assert ingest.returncode == 0, ingest.stderr
    assert "1 added" in ingest.stdout
    search = rag("search", "how many experts halve the cost?", "--data-dir", str(index), "--json")
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)[0]["title"] == "Sparse Mixture Routing"


def test_batch_ask_prints_one_json_object_per_question(
    corpus_settings: Settings, tmp_path: Path
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"question": "What is DCIS?"}) + "\n"
        + json.dumps({"question": "What is the capital of Australia?"}) + "\n"
        + json.dumps({"question": "How big is its search space?", "history": [
            {"role": "user", "content": "What is DCIS?"},
            {"role": "assistant", "content": "A search algorithm for RoPE scaling factors [1]."},
        ]}) + "\n"
    )  # fmt: skip
    result, opened = watched_rag(tmp_path / "opened.json", "ask", "--json", "--file",
                                 str(questions), "--generator", SMALL_GENERATOR,
                                 "--data-dir", str(corpus_settings.data_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Two questions need the model: it is loaded once (and the audit hook sees it read).
    assert result.stderr.count(f"loading {SMALL_GENERATOR}") == 1, result.stderr
    assert read_any(opened, generator_files(corpus_settings, SMALL_GENERATOR))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    for record in records:
        assert record.keys() >= REQUIRED_KEYS
        assert set(record["timings"]) >= {"retrieve_s", "generate_s", "first_token_s", "total_s"}
        for source in record["sources"]:
            assert {"rank", "doc_id", "title", "text", "score"} <= source.keys()
        ranks = {s["rank"] for s in record["sources"]}
        assert all(c["n"] in ranks and c["text"] for c in record["citations"])
    assert records[1]["abstained"] is True
    assert "Divide-and-Conquer" in records[2]["sources"][0]["text"]


def test_user_errors_are_one_line_with_exit_code_2(
    corpus_settings: Settings, tmp_path: Path
) -> None:
    index = str(corpus_settings.data_dir)
    _one_line_error(rag("ask", "What is DCIS?", "--data-dir", str(tmp_path / "none")),
                    "run `rag ingest` first")  # fmt: skip
    _one_line_error(rag("ask", "   ", "--data-dir", index), "empty question")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{"question": \n')
    _one_line_error(rag("ask", "--json", "--file", str(bad), "--data-dir", index), "bad.jsonl:2")
    odd = tmp_path / "notes.docx"
    odd.write_text("x")
    _one_line_error(rag("ingest", str(odd), "--data-dir", str(tmp_path / "i")), "unsupported")
    _one_line_error(rag("ask", "x", "--generator", "gpt-5", "--data-dir", index),
                    "unknown generator")  # fmt: skip


def test_ask_that_retrieval_abstains_on_never_loads_the_model(
    corpus_settings: Settings, tmp_path: Path
) -> None:
    """Issue #17: "?!.,;:" took 79 s, all of it loading a model the answer never used."""
    index = str(corpus_settings.data_dir)
    model = generator_files(corpus_settings, SMALL_GENERATOR)
    result, opened = watched_rag(tmp_path / "one.json", "ask", "?!.,;:",
                                 "--generator", SMALL_GENERATOR, "--data-dir", index)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{ABSTAIN_TEXT} (no indexed abstract is close enough" in result.stdout
    assert "Closest papers found:\n" in result.stdout and "[1] " in result.stdout
    assert "loading" not in result.stderr
    assert not LOW_LOG_LINE.search(result.stderr), result.stderr  # bm25s wrote INFO lines
    assert any(path.startswith(index) for path in opened)  # the hook does see the reads
    assert not read_any(opened, model), [p for p in opened if read_any([p], model)]

    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"question": "?!.,;:"}) + "\n"
        + json.dumps({"question": "What is the capital of a made-up country Zorbia?"}) + "\n"
    )  # fmt: skip
    result, opened = watched_rag(tmp_path / "batch.json", "ask", "--format", "json", "--file",
                                 str(questions), "--generator", SMALL_GENERATOR,
                                 "--data-dir", index)  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["abstained"], r["abstain_check"], r["answer"]) for r in records] == [
        (True, "relevance", ABSTAIN_TEXT)
    ] * 2
    assert all(r["sources"] and r["timings"]["generate_s"] == 0 for r in records)
    assert "loading" not in result.stderr and not LOW_LOG_LINE.search(result.stderr)
    assert not read_any(opened, model)
