"""Citation checks: markers out of range, mapping to papers, re-attribution by evidence."""

from __future__ import annotations

from rag.checks.citations import check_citations, reattribute
from rag.markers import cited_numbers
from rag.types import Source


def _source(rank: int, title: str, text: str) -> Source:
    return Source(rank, f"doc{rank}", title, text, 1.0 / rank, 0.5, None, text)


MEGATRON_TEXT = (
    "MT-NLG has 530 billion parameters and was trained by Microsoft and NVIDIA with DeepSpeed."
)
YI_TEXT = "Yi is pretrained on 3.1 trillion tokens of English and Chinese corpora."
SOURCES = [
    _source(1, "Megatron-Turing NLG 530B", MEGATRON_TEXT),
    _source(2, "Yi: Open Foundation Models", YI_TEXT),
]


def test_marker_forms_are_parsed() -> None:
    assert cited_numbers("a [1] b [2, 3] c [4-5] d [1]") == [1, 2, 3, 4, 5]


def test_out_of_range_markers_are_dropped_and_reported() -> None:
    checked = check_citations("MT-NLG has 530 billion parameters [1][7].", SOURCES)
    assert checked.text == "MT-NLG has 530 billion parameters [1]."
    assert checked.invalid == [7]
    assert [(c.n, c.doc_id) for c in checked.citations] == [(1, "doc1")]


def test_wrong_marker_is_repointed_to_the_source_holding_the_claim() -> None:
    fixed = reattribute("Megatron-Turing NLG has 530 billion parameters [2].", SOURCES)
    assert fixed.text == "Megatron-Turing NLG has 530 billion parameters [1]."
    assert fixed.changes


def test_uncited_claim_gets_a_marker_and_right_ones_are_kept() -> None:
    added = reattribute("Yi is pretrained on 3.1 trillion tokens.", SOURCES)
    assert added.text == "Yi is pretrained on 3.1 trillion tokens [2]."
    both = "MT-NLG has 530 billion parameters [1] and Yi uses 3.1 trillion tokens [2]."
    kept = reattribute(both, SOURCES)
    assert kept.text == both and not kept.changes
