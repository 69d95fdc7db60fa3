"""`rag eval` on a user's own data: a question file's errors, a user corpus, and a BEIR-layout
benchmark (made up here, tiny, but run through the real index, embedder and BM25)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.beir import mrr_at, ndcg_at, read_qrels, recall_at
from eval.dataset import load_questions
from rag.documents import make_paper
from rag.errors import RagError
from tests.conftest import ROOT, subprocess_env

# Made-up papers: a distinctive method per topic, so each query has one right answer.
TOPICS = [
    ("Quill", "compresses embedding tables with learned hashing of rows"),
    ("Harrow", "prunes attention heads of speech recognisers during training"),
    ("Spindle", "schedules GPU kernels for sparse mixture layers"),
    ("Loom", "weaves retrieval results into long-context prompts"),
    ("Tessel", "tiles images into patches for document layout parsing"),
    ("Orrery", "simulates planetary motion to test physical reasoning of chatbots"),
    ("Kiln", "bakes synthetic dialogues for training customer-support agents"),
    ("Sextant", "measures how well language models navigate maps described in text"),
]


def _papers():
    return [
        make_paper(f"{name} {what}. We evaluate {name} on three benchmarks.", f"{name}", "t")
        for name, what in TOPICS
    ]


def _write(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "malformed JSON"),
        ({"id": "a", "type": "fact", "gold": ["Quill"]}, 'no "question"'),
        ({"question": "Q?", "type": "trivia", "gold": ["Quill"]}, "\"type\" 'trivia'"),
        ({"question": "Q?", "type": "fact", "gold": []}, 'needs "gold"'),
        ({"question": "Q?", "gold": ["Nothing like it"], "facts": ["x"]}, "matches 0 papers"),
        (
            {"question": "Q?", "type": "multi", "gold": ["Quill", "Harrow"], "facts": ["x"]},
            "one fact per gold paper",
        ),
        ({"question": "Q?", "type": "yesno", "gold": ["Quill"], "facts": ["x"]}, '"label"'),
        ({"question": "Q?", "gold": ["Quill"], "history": [{"role": "bot"}]}, '"history"'),
    ],
)
def test_a_malformed_question_line_is_a_one_line_error(
    tmp_path: Path, line: object, message: str
) -> None:
    good = {"id": "ok", "question": "What does Quill compress?", "gold": ["Quill"],
            "facts": ["embedding tables"]}  # fmt: skip
    path = _write(tmp_path / "q.jsonl", [good, line])
    with pytest.raises(RagError) as error:
        load_questions(path, _papers())
    text = str(error.value)
    assert f"{path}:2" in text and message in text and "\n" not in text


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    q = {"id": "same", "question": "What does Quill compress?", "gold": ["Quill"]}
    with pytest.raises(RagError, match="used twice"):
        load_questions(_write(tmp_path / "q.jsonl", [q, q]), _papers())


def test_beir_metrics_on_hand_made_rankings(tmp_path: Path) -> None:
    qrel = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "x"], qrel) == pytest.approx(1.0)
    assert ndcg_at(["b", "a"], qrel) < 1.0  # graded: the better document should come first
    assert ndcg_at(["x", "y"], qrel) == 0.0
    assert recall_at(["a", "x"], qrel, 10) == 0.5 and mrr_at(["x", "b"], qrel) == 0.5
    qrels = _write(tmp_path / "test.tsv", ["query-id\tcorpus-id\tscore", "q1\ta\t2", "q1\tb\t1"])
    assert read_qrels(qrels) == {"q1": {"a": 2, "b": 1}}
    _write(qrels, ["q1\ta"])
    with pytest.raises(RagError, match=r"test\.tsv:1"):
        read_qrels(qrels)


def make_beir(folder: Path) -> Path:
    """A BEIR-layout folder: corpus, queries (one without qrels) and graded test qrels."""
    (folder / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": f"d{i}", "title": name, "text": f"{name} {what}. Results on three benchmarks."}
        for i, (name, what) in enumerate(TOPICS)
    ]
    corpus.append({"_id": "dup", "title": "Quill", "text": corpus[0]["text"]})  # same text
    corpus.append({"_id": "empty", "title": "Nothing", "text": ""})
    queries = [
        {"_id": "q0", "text": "learned hashing to shrink embedding tables"},
        {"_id": "q1", "text": "removing attention heads from speech recognition models"},
        {"_id": "q2", "text": "testing chatbots' physical reasoning with planets"},
        {"_id": "q3", "text": "synthetic conversations for support agents"},
        {"_id": "unjudged", "text": "anything"},
    ]
    qrels = ["query-id\tcorpus-id\tscore", "q0\td0\t2", "q0\tdup\t1", "q1\td1\t1",
             "q2\td5\t1", "q3\td6\t1"]  # fmt: skip
    _write(folder / "corpus.jsonl", corpus)
    _write(folder / "queries.jsonl", queries)
    _write(folder / "qrels" / "test.tsv", qrels)
    return folder


def _rag_eval(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", "eval", *args],
        cwd=ROOT, env=subprocess_env(RAG_DATA_DIR=str(data_dir)),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_beir_benchmark_end_to_end(tmp_path: Path) -> None:
    folder = make_beir(tmp_path / "tiny-beir")
    out = tmp_path / "beir.json"
    result = _rag_eval(["--beir", str(folder), "--out", str(out)], tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    for label in ("fused (default)", "BM25 only", "dense only"):
        assert label in result.stdout
    results = json.loads(out.read_text())
    assert results["documents"] == 8 and results["queries"] == 4  # dup merged, empty skipped
    assert results["embedded"] == 8
    for mode, row in results["modes"].items():
        assert 0.0 <= row["ndcg@10"] <= 1.0 and row["recall@100"] == 1.0, mode
        assert row["p95_ms"] > 0
    # Eight clearly different topics: every mode puts the right paper first for most queries.
    assert results["modes"]["dense"]["mrr@10"] >= 0.75
    # A second run reuses the benchmark's collection: nothing is embedded again.
    again = _rag_eval(["--beir", str(folder), "--out", str(out)], tmp_path / "data")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(out.read_text())["embedded"] == 0


def test_beir_folder_without_qrels_is_a_one_line_error(tmp_path: Path) -> None:
    folder = make_beir(tmp_path / "broken")
    (folder / "qrels" / "test.tsv").unlink()
    result = _rag_eval(["--beir", str(folder)], tmp_path / "data")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "test.tsv" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_own_corpus_and_questions(tmp_path: Path) -> None:
    corpus = _write(
        tmp_path / "papers.jsonl",
        [{"title": name, "abstract": f"{name} {what}."} for name, what in TOPICS],
    )
    questions = _write(
        tmp_path / "questions.jsonl",
        [
            {
                "id": "one",
                "question": "Which method shrinks embedding tables by hashing?",
                "gold": ["Quill"],
                "facts": ["Quill"],
            },
            {
                "id": "two",
                "question": "Is there work on pruning heads in speech models?",
                "type": "paraphrase",
                "gold": ["Harrow"],
                "facts": ["Harrow"],
            },
        ],
    )
    args = ["--corpus", str(corpus), "--questions", str(questions), "--retrieval-only"]
    out = tmp_path / "run.json"
    result = _rag_eval([*args, "--out", str(out)], tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = json.loads(out.read_text())
    assert run["summary"]["questions"] == 2 and run["summary"]["recall@5"] == 1.0
    assert run["settings"]["collection"].startswith("eval-papers-")
    _write(questions, ['{"id": "bad", "question": "Q?", "gold": ["Nobody"]}'])
    bad = _rag_eval(args, tmp_path / "data")
    assert bad.returncode == 2 and "questions.jsonl:1" in bad.stderr
    assert bad.stderr.strip().count("\n") == 0
