"""Loading: the shipped corpus's three layouts, users' formats, and bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from rag.documents import document_id
from rag.errors import RagError
from rag.loaders import (
    DEFAULT_CORPUS,
    load_default_corpus,
    load_file,
    load_papers,
    parse_text_layout,
)

ABSTRACT_A = (
    "We study a new method for compressing transformer language models with structured "
    "pruning. Our approach removes whole attention heads and feed-forward blocks, and we "
    "show it keeps 98% of accuracy on GLUE while halving the parameters."
)
ABSTRACT_B = (
    "Retrieval-augmented generation lets a model consult documents at answer time. We "
    "measure how citation accuracy depends on the retriever and find hybrid retrieval "
    "reduces unsupported claims by a third across four question answering benchmarks."
)


def test_default_corpus_has_exactly_79_unique_abstracts() -> None:
    papers = load_default_corpus()
    assert len(papers) == 79
    assert len({p.doc_id for p in papers}) == 79


def test_default_corpus_covers_all_five_files_and_merges_duplicates() -> None:
    papers = load_default_corpus()
    files = {Path(s).name for p in papers for s in p.sources}
    assert files == {p.name for p in DEFAULT_CORPUS.glob("*.txt")}
    shared = [p for p in papers if len(p.sources) > 1]
    assert shared, "the corpus repeats abstracts across files"


def test_listing_page_gives_real_titles_and_skips_page_chrome() -> None:
    papers = load_file(DEFAULT_CORPUS / "004_7c54520c5a061811.txt")
    titles = [p.title for p in papers]
    assert "GeDi: Generative Discriminator Guided Sequence Generation" in titles
    assert not any(t in {"Subscribe", "new", "Mar 11"} for t in titles)
    assert all(not p.title_is_derived for p in papers)
    assert len(papers) == 48


def test_abstract_prefix_and_bare_layouts() -> None:
    marked = parse_text_layout(f"Abstract:{ABSTRACT_A}\nAbstract: {ABSTRACT_B}\n", "x.txt")
    bare = parse_text_layout(f"{ABSTRACT_A}\n{ABSTRACT_B}\n", "y.txt")
    assert [p.text for p in marked] == [p.text for p in bare] == [ABSTRACT_A, ABSTRACT_B]
    assert all(p.title_is_derived for p in marked)


def test_single_wrapped_abstract_with_title_line() -> None:
    wrapped = "\n".join(textwrap.wrap(ABSTRACT_A, 70))
    papers = parse_text_layout(f"Structured Pruning at Scale\n\n{wrapped}\n", "z.txt")
    assert len(papers) == 1
    assert papers[0].title == "Structured Pruning at Scale"
    assert papers[0].doc_id == document_id(ABSTRACT_A)


def test_same_abstract_in_two_formats_is_one_document(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "Pruning", "abstract": ABSTRACT_A}))
    (tmp_path / "b.csv").write_text(f'title,abstract\n"Pruning","{ABSTRACT_A.upper()}"\n')
    (tmp_path / "c.txt").write_text(f"Abstract: {ABSTRACT_A}\n")
    papers = load_papers([tmp_path])
    assert len(papers) == 1
    assert papers[0].title == "Pruning"  # a real title beats a derived one
    assert len(papers[0].sources) == 3


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"abstract": ABSTRACT_A}) + "\n{not json\n")
    with pytest.raises(RagError, match=r"bad\.jsonl:2: malformed JSON"):
        load_file(path)


def test_jsonl_without_text_field(tmp_path: Path) -> None:
    path = tmp_path / "notext.jsonl"
    path.write_text(json.dumps({"title": "only a title"}) + "\n")
    with pytest.raises(RagError, match=r":1: no text field"):
        load_file(path)


def test_csv_without_text_column_and_ragged_row(tmp_path: Path) -> None:
    no_col = tmp_path / "nocol.csv"
    no_col.write_text("name,year\nx,2020\n")
    with pytest.raises(RagError, match="no text column"):
        load_file(no_col)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(f"title,abstract\nok,{ABSTRACT_B.replace(',', '')}\nbad,one,two\n")
    with pytest.raises(RagError, match=r"ragged\.csv:3: row has more cells"):
        load_file(ragged)


def test_binary_non_utf8_unknown_and_missing_files(tmp_path: Path) -> None:
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(RagError, match="binary"):
        load_file(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("first line\ncaf\xe9 abstract".encode("latin-1"))
    with pytest.raises(RagError, match=r"latin\.txt:2: not UTF-8"):
        load_file(latin)
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(RagError, match=r"unsupported file type '\.pdf'"):
        load_file(pdf)
    with pytest.raises(RagError, match="no such file"):
        load_papers([tmp_path / "missing.jsonl"])


def test_latex_markup_in_abstracts_is_unwrapped() -> None:
    papers = parse_text_layout(
        r"Abstract: We propose LANDeRMT, a \textbf{L}anguage-\textbf{A}ware framework that "
        r"improves translation by 53.4\% on average; code at \url{https://example.org/x}. "
        + ABSTRACT_B,
        "latex.txt",
    )
    assert papers[0].text.startswith("We propose LANDeRMT, a Language-Aware framework")
    assert "53.4%" in papers[0].text and "\\" not in papers[0].text
