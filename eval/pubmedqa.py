"""Turn PubMedQA's expert-labelled set (PQA-L) into a corpus and a question file for ``rag eval``.

    python -m eval.pubmedqa SOURCE_JSON OUT_DIR [--questions N] [--seed S] [--test-ids PATH]
                                                [--pool test|dev]

``SOURCE_JSON`` is ``data/ori_pqal.json`` of https://github.com/pubmedqa/pubmedqa (MIT
licence; ``git clone`` it). Nothing of PubMedQA is kept in this repository: the converter
writes into ``OUT_DIR``, and ``eval/README.md`` ("PubMedQA") gives the commands.

``OUT_DIR/corpus.jsonl``: all 1,000 entries, one paper a line, in the JSONL layout that
``rag.loaders.parse_jsonl`` reads: ``{"title", "abstract", "pmid"}``.

- ``title`` is a neutral ``PubMed <PMID>``. PubMedQA has no titles, and its question is
  (nearly always) the paper's title turned into a question: as a title it would repeat the
  question word for word, which makes retrieval trivial and says nothing of the abstract.
- ``abstract`` is the ``CONTEXTS`` (the abstract without its conclusion), then the
  ``LONG_ANSWER`` (the conclusion), joined by spaces without section labels. The yes/no
  evidence is mostly in the conclusion, so this is PubMedQA's "reasoning-free" setting
  (the paper's "reasoning-required" setting hides the conclusion): scores are not
  comparable with the published reasoning-required numbers.
- ``pmid`` is for people; the loader ignores it.

``OUT_DIR/beir/``: the same 1,000 papers and all 1,000 labelled questions (each judged
relevant to its own paper) in BEIR's layout, for ``rag eval --beir`` and
``bench/engines.py``: a retrieval set to compare runtimes or retrievers on, not to tune
answers on.

``OUT_DIR/questions.jsonl``: ``N`` questions (default 60) in the record format of
``eval/questions/dev.jsonl``, drawn from the official test split only (the 500 PMIDs of
``data/test_ground_truth.json``, found beside ``SOURCE_JSON`` unless ``--test-ids`` names
it; ``--pool dev`` draws from the other 500 labelled entries instead, to tune on), and
only those labelled ``yes`` or ``no``: ``maybe`` items are skipped, because our
``yesno`` kind and its grader (``eval/grading.py``: the answer must open with the label's
word) know only those two labels. Each record:

- ``id``: ``pubmedqa-<PMID>``; ``type``: ``yesno``; ``answerable``: true;
- ``question``: PubMedQA's ``QUESTION``; ``label``: its ``final_decision``;
- ``gold``: the paper's doc id, computed by ``rag.documents.make_paper`` exactly as the
  loader will (a title such as ``PubMed 1234567`` would also be a prefix of
  ``PubMed 12345678``, and gold titles match by prefix);
- ``reference``: the ``LONG_ANSWER`` (for token F1 and for people);
- ``facts``: empty. A yes/no question is graded on its label, its citations and its facts;
  PubMedQA has no short facts, and a phrase picked from the conclusion would grade the
  wording of an answer, not whether it is right. So ``facts_present`` is only "answered".

The draw is seeded and reproducible: the eligible PMIDs, sorted, are shuffled with
``random.Random(seed)`` and the first ``N`` taken, so a larger ``N`` with the same seed
keeps the smaller set. After writing, both files are read back with the project's own
loader and ``eval.dataset.load_questions`` (what ``rag eval --corpus`` does first), so a
file that the harness would reject is an error here.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from eval.dataset import load_questions
from rag.documents import make_paper
from rag.errors import RagError
from rag.loaders import load_papers

DEFAULT_QUESTIONS = 60
DEFAULT_SEED = 0
LABELS = ("yes", "no")  # the labels our yesno grader knows; "maybe" is skipped
ALL_LABELS = (*LABELS, "maybe")
TEST_IDS_NAME = "test_ground_truth.json"  # the official test split, beside ori_pqal.json
POOLS = ("test", "dev")  # dev: the labelled entries outside the official test split


def _read_json(path: Path, what: str) -> object:
    """Parsed JSON, or a one-line error that says what the file should be."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagError(f"{path}: no such file ({what})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RagError(f"{path}: cannot read {what}: {exc}") from None


def read_source(path: Path) -> dict[str, dict]:
    """PMID -> entry of ``ori_pqal.json``, each entry checked for the fields used here."""
    data = _read_json(path, "PubMedQA's data/ori_pqal.json")
    if not isinstance(data, dict) or not data:
        raise RagError(f"{path}: expected PubMedQA's ori_pqal.json, an object of PMID -> entry")
    for pmid, entry in data.items():
        # Checked up front so a wrong file fails with its PMID, not a KeyError midway.
        where = f"{path}: entry {pmid!r}"
        if not isinstance(entry, dict):
            raise RagError(f"{where} is not an object")
        if not isinstance(entry.get("QUESTION"), str) or not entry["QUESTION"].strip():
            raise RagError(f'{where} has no "QUESTION" text')
        contexts = entry.get("CONTEXTS")
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise RagError(f'{where}: "CONTEXTS" must be a list of strings')
        if not isinstance(entry.get("LONG_ANSWER"), str):
            raise RagError(f'{where} has no "LONG_ANSWER" text')
        if entry.get("final_decision") not in ALL_LABELS:
            raise RagError(f'{where}: "final_decision" must be one of {", ".join(ALL_LABELS)}')
    return data


def read_test_ids(path: Path, source: dict[str, dict]) -> list[str]:
    """The official test split's PMIDs, checked against the source entries and labels."""
    truth = _read_json(path, "PubMedQA's data/test_ground_truth.json (PMID -> label)")
    if not isinstance(truth, dict) or not truth:
        raise RagError(f"{path}: expected an object of PMID -> yes/no/maybe")
    for pmid, label in truth.items():
        if pmid not in source:
            raise RagError(f"{path}: test PMID {pmid} is not in the source file")
        # A disagreement means the two files come from different releases.
        if source[pmid]["final_decision"] != label:
            raise RagError(f"{path}: PMID {pmid} is {label!r} here but "
                           f"{source[pmid]['final_decision']!r} in the source file")  # fmt: skip
    return sorted(truth)


def paper_record(pmid: str, entry: dict) -> dict[str, str]:
    """One corpus line: neutral title, abstract = contexts then the conclusion."""
    parts = [c.strip() for c in entry["CONTEXTS"]] + [entry["LONG_ANSWER"].strip()]
    return {"title": f"PubMed {pmid}", "abstract": " ".join(p for p in parts if p),
            "pmid": pmid}  # fmt: skip


def question_record(pmid: str, entry: dict, paper: dict[str, str]) -> dict:
    """One question line in the format of eval/questions/dev.jsonl (module docstring)."""
    # The same function the loader uses, so the id is the one the index will hold.
    doc_id = make_paper(paper["abstract"], paper["title"], "pubmedqa").doc_id
    return {
        "id": f"pubmedqa-{pmid}",
        "type": "yesno",
        "question": entry["QUESTION"].strip(),
        "answerable": True,
        "gold": [doc_id],
        "reference": entry["LONG_ANSWER"].strip(),
        "facts": [],
        "label": entry["final_decision"],
    }


def draw(pool: list[str], source: dict[str, dict], count: int, seed: int) -> list[str]:
    """``count`` yes/no-labelled PMIDs of ``pool``: a seeded shuffle of the sorted ids, then
    a prefix."""
    eligible = sorted(p for p in pool if source[p]["final_decision"] in LABELS)
    if not 1 <= count <= len(eligible):
        raise RagError(f"--questions {count}: the pool has {len(eligible)} yes/no "
                       "questions; ask for 1 to that many")  # fmt: skip
    random.Random(seed).shuffle(eligible)
    return eligible[:count]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    # ASCII escapes: the source holds U+2029, which str.splitlines (the loader's line
    # reader) would take for a line break inside a record.
    lines = (json.dumps(r) + "\n" for r in records)
    path.write_text("".join(lines), encoding="utf-8")


def write_beir(source: dict[str, dict], papers: dict[str, dict], folder: Path) -> None:
    """``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv``: each question's own
    paper is its one relevant document."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    _write_jsonl(folder / "corpus.jsonl", [
        {"_id": pmid, "title": paper["title"], "text": paper["abstract"]}
        for pmid, paper in papers.items()
    ])  # fmt: skip
    _write_jsonl(folder / "queries.jsonl", [
        {"_id": pmid, "text": source[pmid]["QUESTION"].strip()} for pmid in papers
    ])  # fmt: skip
    rows = ["query-id\tcorpus-id\tscore"] + [f"{pmid}\t{pmid}\t1" for pmid in papers]
    (folder / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def convert(
    source_path: Path,
    out_dir: Path,
    count: int = DEFAULT_QUESTIONS,
    seed: int = DEFAULT_SEED,
    test_ids_path: Path | None = None,
    pool: str = "test",
) -> dict[str, object]:
    """Write ``corpus.jsonl`` and ``questions.jsonl`` into ``out_dir``, check them, and
    return counts (papers, questions, labels drawn, labels of the whole test split).

    ``pool``: "test" draws from the official test split (report on it); "dev" from the
    other 500 labelled entries (tune on it), so tuning never sees a test question.
    """
    if pool not in POOLS:
        raise RagError(f"--pool {pool!r}: choose one of {', '.join(POOLS)}")
    source = read_source(source_path)
    test_ids = read_test_ids(test_ids_path or source_path.parent / TEST_IDS_NAME, source)
    papers = {pmid: paper_record(pmid, source[pmid]) for pmid in sorted(source)}
    held_out = set(test_ids)
    ids = test_ids if pool == "test" else sorted(p for p in source if p not in held_out)
    drawn = draw(ids, source, count, seed)
    questions = [question_record(p, source[p], papers[p]) for p in drawn]

    out_dir.mkdir(parents=True, exist_ok=True)
    corpus_path, questions_path = out_dir / "corpus.jsonl", out_dir / "questions.jsonl"
    _write_jsonl(corpus_path, list(papers.values()))
    _write_jsonl(questions_path, questions)
    write_beir(source, papers, out_dir / "beir")

    # Read back as `rag eval --corpus ... --questions ...` will: a rejected file fails here.
    loaded = load_papers([corpus_path])
    if len(loaded) != len(papers):
        # Two entries with the same text would be one paper: a gold id could then stand
        # for either PMID, so say so rather than score it silently.
        raise RagError(f"{corpus_path}: {len(papers)} entries load as {len(loaded)} papers "
                       "(entries with identical text)")  # fmt: skip
    checked = load_questions(questions_path, loaded)
    return {
        "papers": len(loaded),
        "questions": len(checked),
        "drawn": dict(Counter(q.label for q in checked)),
        "test_split": dict(Counter(source[p]["final_decision"] for p in test_ids)),
        "corpus": str(corpus_path),
        "questions_file": str(questions_path),
    }


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m eval.pubmedqa``."""
    parser = argparse.ArgumentParser(
        prog="python -m eval.pubmedqa", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "source", type=Path, metavar="SOURCE_JSON", help="PubMedQA's data/ori_pqal.json"
    )
    parser.add_argument(
        "out_dir", type=Path, metavar="OUT_DIR", help="folder for corpus.jsonl and questions.jsonl"
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=DEFAULT_QUESTIONS,
        metavar="N",
        help=f"yes/no test questions to draw (default {DEFAULT_QUESTIONS})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="S",
        help=f"seed of the draw (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--test-ids",
        type=Path,
        metavar="PATH",
        help=f"the test split (default: {TEST_IDS_NAME} beside SOURCE_JSON)",
    )
    parser.add_argument(
        "--pool",
        choices=POOLS,
        default="test",
        help="draw from the official test split (default; report on it) or from the other "
        "500 labelled entries (dev: tune on it)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Convert, then print what was written."""
    args = build_parser().parse_args(argv)
    try:
        result = convert(args.source, args.out_dir, args.questions, args.seed, args.test_ids,
                         args.pool)  # fmt: skip
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{result['papers']} papers -> {result['corpus']}")
    print(f"{result['questions']} questions {result['drawn']} -> {result['questions_file']}")
    print(f"test split labels: {result['test_split']} (maybe skipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
