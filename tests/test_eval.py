"""The evaluation harness: its metrics on hand-made cases, and `rag eval` run for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.metrics import ndcg_at_k, recall_at_k, reciprocal_rank, token_f1
from eval.support import SupportCheck, supports_lexical
from rag.settings import Settings
from tests.conftest import ROOT, subprocess_env

QUILL = (
    "Training Quill, a 530B Language Model",
    "We present the training of Quill, a language model with 530 billion parameters. "
    "It was trained by combining the Spool and Loom parallelism libraries. "
    "Quill reaches state-of-the-art zero-shot accuracy on reading comprehension.",
)


def test_ranking_metrics() -> None:
    ranked = ["x", "gold", "y", "gold2"]
    assert recall_at_k(ranked, ["gold"], 1) == 0 and recall_at_k(ranked, ["gold"], 2) == 1
    assert reciprocal_rank(ranked, ["gold"]) == 0.5
    assert reciprocal_rank(ranked, ["missing"]) == 0
    assert ndcg_at_k(["gold", "x"], ["gold"]) == 1.0
    assert 0 < ndcg_at_k(ranked, ["gold", "gold2"]) < 1


def test_answer_metrics() -> None:
    assert token_f1("530 billion parameters [1]", "530 billion parameters") == 1.0
    assert token_f1("nothing alike", "530 billion parameters") == 0.0


@pytest.fixture(scope="module")
def support_check() -> SupportCheck:
    from rag.embedding import load_embedder

    model = load_embedder("cpu", 16, "torch")
    return SupportCheck(lambda texts: model.encode(texts, 32))


def test_independent_support_check(support_check: SupportCheck) -> None:
    assert support_check.supports("Quill has 530 billion parameters [1].", *QUILL)
    assert not support_check.supports("Quill has 175 billion parameters.", *QUILL)  # number
    assert not support_check.supports("Harrow-7B has 530 billion parameters.", *QUILL)  # name
    assert not support_check.supports("It was trained on croissant photographs by bakers.", *QUILL)
    assert support_check.supports("Yes [1].", *QUILL)  # nothing checkable
    # A paraphrase with few shared words: the word-overlap check misses it, this one does not.
    paraphrase = "The model was built by combining two pipeline-parallel software stacks."
    assert support_check.supports(paraphrase, *QUILL)
    assert not supports_lexical(paraphrase, *QUILL)


def _run_eval(args: list[str], settings: Settings, tmp_path: Path) -> subprocess.CompletedProcess:
    env = subprocess_env(RAG_DATA_DIR=str(settings.data_dir), RAG_GENERATOR=settings.generator)
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", "eval", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def test_retrieval_only_compare_writes_table_and_report(
    corpus_settings: Settings, tmp_path: Path
) -> None:
    report = tmp_path / "report"
    out = tmp_path / "runs.json"
    result = _run_eval(
        ["--retrieval-only", "--quiet", "--compare", "hybrid=false", "default",
         "--report", str(report), "--out", str(out)],
        corpus_settings, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "hybrid=false" in result.stdout and "B - A" in result.stdout
    runs = json.loads(out.read_text())
    assert [r["label"] for r in runs] == ["hybrid=false", "default"]
    assert runs[0]["settings"]["hybrid"] is False and runs[1]["settings"]["hybrid"] is True
    for run in runs:
        assert run["summary"]["questions"] >= 60
        assert 0.9 <= run["summary"]["recall@5"] <= 1.0
    assert {"report.md", "report.html", "per_type.png", "latency.png"} <= {
        p.name for p in report.iterdir()
    }
    assert "Failed questions" in (report / "report.md").read_text()


def test_full_eval_on_a_few_questions_lists_what_failed(
    corpus_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    result = _run_eval(
        ["--only", "f01,n01,x08", "--quiet", "--out", str(out), "--report", str(tmp_path)],
        corpus_settings, tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = json.loads(out.read_text())
    summary = run["summary"]
    for metric in (
        "correct",
        "token_f1",
        "citation_precision",
        "citation_recall",
        "abstain_precision",
        "abstain_recall",
        "first_token_p95_s",
        "peak_memory_mb",
    ):
        assert metric in summary  # fmt: skip
    assert summary["questions"] == 3
    assert summary["peak_memory_mb"] > 100
    by_id = {r["id"]: r for r in run["records"]}
    assert by_id["n01"]["abstained"]  # off-topic: declined before generating


def test_bad_setting_is_one_line_error(corpus_settings: Settings, tmp_path: Path) -> None:
    result = _run_eval(["--retrieval-only", "--set", "top_k"], corpus_settings, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "name=value" in result.stderr


@pytest.mark.parametrize("setting", ["top_k=0", "nonsense=1"])
def test_invalid_values_are_one_line_errors(
    setting: str, corpus_settings: Settings, tmp_path: Path
) -> None:
    result = _run_eval(["--retrieval-only", "--set", setting], corpus_settings, tmp_path)
    assert result.returncode == 2, result.stderr[-500:]
    assert result.stderr.strip().count("\n") == 0


def test_rescore_reproduces_the_old_baseline_under_v1(tmp_path: Path) -> None:
    """The old grader, given the question file of its day, gives the recorded number."""
    baseline = ROOT / "eval" / "results" / "baseline"
    out = tmp_path / "rescored.json"
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "eval", "--rescore", str(baseline / "runs.json"),
         "--grader", f"v1={baseline / 'questions.jsonl'},v2", "--out", str(out)],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    recorded = json.loads((baseline / "runs.json").read_text())[0]["summary"]["correct"]
    v1, v2 = json.loads(out.read_text())
    assert v1["grader"] == "v1" and v1["summary"]["correct"] == pytest.approx(recorded)
    assert v2["grader"] == "v2" and v2["summary"]["correct"] < v1["summary"]["correct"]


def test_both_splits_are_reported_side_by_side(corpus_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "runs.json"
    result = _run_eval(["--retrieval-only", "--quiet", "--split", "both", "--out", str(out)],
                       corpus_settings, tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[dev]" in result.stdout and "[test]" in result.stdout and "test - dev" in result.stdout
    (run,) = json.loads(out.read_text())
    assert set(run["splits"]) == {"dev", "test"}
    assert run["splits"]["dev"]["questions"] + run["splits"]["test"]["questions"] == len(
        run["records"]
    )
