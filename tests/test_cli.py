"""The `rag` command as a user runs it: a subprocess, real index, real small generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rag.settings import Settings

from .conftest import SMALL_GENERATOR

REQUIRED_KEYS = {"question", "answer", "abstained", "citations", "sources", "timings"}


def rag(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=600,
    )  # fmt: skip


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
    result = rag("ask", "--json", "--file", str(questions), "--generator", SMALL_GENERATOR,
                 "--data-dir", str(corpus_settings.data_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
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
