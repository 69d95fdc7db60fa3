"""Names for titleless papers (rag.naming), on made-up abstracts."""

from __future__ import annotations

import pytest

from rag.naming import paper_name


@pytest.mark.parametrize(
    ("abstract", "name"),
    [
        ("Speech models are large. We propose QuillNet, a sparse adapter. QuillNet is fast.",
         "QuillNet"),
        ("Large language models (LLMs) forget. We introduce HARROW-2 to keep LLMs stable.",
         "HARROW-2"),
        ("LLMs and NLP systems use GPUs. LLMs are big. LLMs are costly.", None),
        ("We survey MLLMs. MLLMs are many. MLLMs differ.", None),  # a plural is a kind
        ("Results beat BERT on SpindleBench.", None),  # said once, not introduced
    ],
)  # fmt: skip
def test_paper_name(abstract: str, name: str | None) -> None:
    assert paper_name(abstract) == name
