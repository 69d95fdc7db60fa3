"""Fuzzing (hypothesis) with a bounded budget: the loaders and the citation parser must take
any input without crashing: a file is either parsed or refused with a RagError naming it,
and citation checking never invents a source.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.checks.citations import check_citations, reattribute, supporting_passages
from rag.errors import RagError
from rag.loaders import parse_csv, parse_jsonl, parse_text_layout
from rag.markers import cited_numbers
from rag.types import Source

BUDGET = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SOURCES = [
    Source(
        rank=i,
        doc_id=f"d{i}",
        title=f"Paper {i}",
        text=text,
        score=0.1,
        dense_score=0.5,
        keyword_score=None,
        chunk=text,
    )
    for i, text in enumerate(
        [
            "Megatron-Turing NLG has 530 billion parameters. It was trained with DeepSpeed.",
            "FineMath has 17 categories of math word problems. It is a dataset.",
            "GeDi guides generation with small class-conditional models. It is fast.",
        ],
        start=1,
    )
]

# Text with the characters that matter to the parsers: brackets, digits, commas, quotes.
answers = st.text(
    alphabet=st.sampled_from(list("[]0123456789,-– .abcMNLG\n\"'")) | st.characters(),
    max_size=200,
)


@BUDGET
@given(st.text(max_size=2000))
def test_text_layout_never_crashes(text: str) -> None:
    papers = parse_text_layout(text, "fuzz.txt")
    assert all(p.text.strip() and p.sources == ["fuzz.txt"] for p in papers)


@BUDGET
@given(
    st.lists(
        st.one_of(
            st.text(max_size=80),
            st.dictionaries(
                st.sampled_from(["title", "abstract", "text", "x"]),
                st.one_of(st.text(max_size=80), st.integers(), st.none()),
            ).map(json.dumps),
        ),
        max_size=8,
    )
)
def test_jsonl_is_parsed_or_refused_with_its_line(lines: list[str]) -> None:
    text = "\n".join(line.replace("\n", " ") for line in lines)
    try:
        papers = parse_jsonl(text, "fuzz.jsonl")
    except RagError as exc:
        assert str(exc).startswith("fuzz.jsonl:")
        skipped: list[str] = []
        kept = parse_jsonl(text, "fuzz.jsonl", skipped)  # skipping mode never raises
        assert skipped and all(s.startswith("fuzz.jsonl:") for s in skipped)
        assert len(kept) < len([ln for ln in text.splitlines() if ln.strip()])
    else:
        assert all(p.text.strip() for p in papers)


@BUDGET
@given(st.text(max_size=1000))
def test_csv_is_parsed_or_refused(text: str) -> None:
    try:
        papers = parse_csv("title,abstract\n" + text, "fuzz.csv")
    except RagError as exc:
        assert str(exc).startswith("fuzz.csv:")
    else:
        assert all(p.text.strip() for p in papers)


@BUDGET
@given(answers)
def test_citation_checks_never_point_outside_the_sources(answer: str) -> None:
    ranks = {s.rank for s in SOURCES}
    numbers = cited_numbers(answer)
    assert all(isinstance(n, int) and n >= 0 for n in numbers)
    checked = check_citations(answer, SOURCES)
    assert {c.n for c in checked.citations} <= ranks
    assert all(c.doc_id == f"d{c.n}" for c in checked.citations)
    moved = reattribute(answer, SOURCES)
    assert set(cited_numbers(moved.text)) - set(numbers) <= ranks
    for source in SOURCES:
        assert all(p in source.text for p in supporting_passages(answer, source))
