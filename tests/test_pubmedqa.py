"""eval/pubmedqa.py on a tiny made-up file shaped like PubMedQA's ori_pqal.json (invented
entries, no PubMedQA text): the outputs load with the project's loader and question
reader, and maybe-labelled and non-test items are never drawn. No model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dataset import load_questions
from eval.pubmedqa import convert, main
from rag.errors import RagError
from rag.loaders import load_papers


def _entry(question: str, context: str, conclusion: str, label: str) -> dict:
    return {
        "QUESTION": question,
        # U+2029 (in one real entry) is a line break to str.splitlines: it must be escaped.
        "CONTEXTS": [
            f"{context} We enrolled volunteers at two clinics.",
            "Outcomes were\u2029timed.",
        ],
        "LABELS": ["BACKGROUND", "METHODS"],
        "MESHES": ["Humans"],
        "YEAR": "2001",
        "reasoning_required_pred": label,
        "reasoning_free_pred": label,
        "final_decision": label,
        "LONG_ANSWER": conclusion,
    }


# Invented studies. 1234567 is a prefix of 12345678: gold must still find the right one.
ENTRIES = {
    "1234567": _entry(
        "Does humming shorten hiccups?",
        "Hiccups are a nuisance.",
        "Humming shortened hiccup episodes.",
        "yes",
    ),
    "12345678": _entry(
        "Do blue socks improve sprint times?",
        "Sock colour is debated.",
        "Sock colour made no difference to sprint times.",
        "no",
    ),
    "2222222": _entry(
        "Does whistling calm parrots?",
        "Parrots are easily startled.",
        "Effects of whistling on parrots were unclear.",
        "maybe",
    ),
    "3333333": _entry(
        "Does tea prevent yawning?",
        "Yawning is contagious.",
        "Tea drinkers yawned as often as others.",
        "no",
    ),
}
TEST_SPLIT = {"1234567": "yes", "12345678": "no", "2222222": "maybe"}  # 3333333: not test


@pytest.fixture
def source(tmp_path: Path) -> Path:
    data = tmp_path / "pubmedqa" / "data"
    data.mkdir(parents=True)
    (data / "test_ground_truth.json").write_text(json.dumps(TEST_SPLIT))
    path = data / "ori_pqal.json"
    path.write_text(json.dumps(ENTRIES))
    return path


def test_outputs_load_with_the_project_readers(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = convert(source, out, count=2, seed=1)
    assert result["drawn"] == {"yes": 1, "no": 1}
    assert result["test_split"] == {"yes": 1, "no": 1, "maybe": 1}

    papers = load_papers([out / "corpus.jsonl"])
    assert len(papers) == len(ENTRIES)  # every entry is a paper, test or not
    by_title = {p.title: p for p in papers}
    humming = by_title["PubMed 1234567"]
    # Contexts first, then the conclusion; the question is not the title.
    assert humming.text.startswith("Hiccups are a nuisance.")
    assert humming.text.endswith("Humming shortened hiccup episodes.")

    questions = load_questions(out / "questions.jsonl", papers)
    assert {q.id for q in questions} == {"pubmedqa-1234567", "pubmedqa-12345678"}
    for q in questions:
        pmid = q.id.removeprefix("pubmedqa-")
        assert q.type == "yesno" and q.answerable and q.facts == []
        assert q.label == ENTRIES[pmid]["final_decision"]
        assert q.gold == [by_title[f"PubMed {pmid}"].doc_id]
        assert q.reference == ENTRIES[pmid]["LONG_ANSWER"]

    raw = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert set(raw[0]) == {"id", "type", "question", "answerable", "gold", "reference",
                           "facts", "label"}  # fmt: skip

    # The BEIR layout: every entry a document and a query judged relevant to it alone.
    from eval.beir import read_beir

    beir_papers, _, queries, qrels = read_beir(out / "beir")
    assert len(beir_papers) == len(ENTRIES) and set(queries) == set(ENTRIES)
    assert all(qrels[pmid] == {pmid: 1} for pmid in ENTRIES)
    assert queries["1234567"] == ENTRIES["1234567"]["QUESTION"].strip()
    assert {p.text for p in beir_papers} == {p.text for p in papers}


def test_maybe_and_non_test_items_are_never_drawn(source: Path, tmp_path: Path) -> None:
    with pytest.raises(RagError, match="pool has 2 yes/no questions"):
        convert(source, tmp_path / "out", count=3)


def test_the_dev_pool_holds_only_entries_outside_the_test_split(
    source: Path, tmp_path: Path
) -> None:
    convert(source, tmp_path / "dev", count=1, pool="dev")
    lines = (tmp_path / "dev" / "questions.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["pubmedqa-3333333"]
    with pytest.raises(RagError, match="has 1 yes/no questions"):
        convert(source, tmp_path / "dev2", count=2, pool="dev")


def test_the_draw_is_seeded_and_a_larger_draw_keeps_the_smaller(
    source: Path, tmp_path: Path
) -> None:
    def ids(count: int, seed: int, name: str) -> list[str]:
        convert(source, tmp_path / name, count=count, seed=seed)
        lines = (tmp_path / name / "questions.jsonl").read_text().splitlines()
        return [json.loads(line)["id"] for line in lines]

    one = ids(1, 5, "a")
    assert ids(1, 5, "b") == one
    assert ids(2, 5, "c")[:1] == one


def test_a_wrong_file_is_a_one_line_error(source: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"1": {"QUESTION": "Q?"}}))
    assert main([str(bad), str(tmp_path / "out")]) == 2
    assert '"CONTEXTS" must be a list' in capsys.readouterr().err
    assert main([str(source), str(tmp_path / "out"), "--test-ids", str(bad)]) == 2
    assert "not in the source file" in capsys.readouterr().err
