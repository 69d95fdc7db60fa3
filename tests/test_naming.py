"""Names for papers (rag.naming) and how a list line names its paper, on made-up abstracts."""

from __future__ import annotations

import pytest

from rag.naming import paper_name
from rag.pipeline import scaffold_for
from rag.types import Source


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
        # A name written like an ordinary word, introduced by the verb and used again.
        ("Models lag on Welsh. We introduce Marrow, a family of Welsh models. Marrow wins.",
         "Marrow"),
        # Introduced but never used again: a capitalised word, not a name.
        ("We introduce Bayesian pruning for adapters, which is fast.", None),
        # Capitalised words the verb does not introduce directly (a language) name nothing.
        ("We release models for Tamil. Tamil speakers judged Tamil outputs.", None),
        # A LaTeX macro left in an exported abstract is not a name.
        (r"This work introduces \QuillSet, a corpus. \QuillSet has 5 tasks. \QuillSet grows.",
         None),
        ("We propose new ICL methods. ICL templates are simplified. ICL helps.", None),
        # Named in apposition after the kind of thing it is, far from the verb.
        ("Parsers fail on noisy audio. We construct a multi-speaker speech perturbation "
         "evaluation dataset, "
         "Quill-Noise, with nine kinds of noise.", "Quill-Noise"),
        # A comma after the kind of thing, then an ordinary word: no name.
        ("We evaluate the model, Bayesian decoding and pruning on SpindleBench.", None),
    ],
)  # fmt: skip
def test_paper_name(abstract: str, name: str | None) -> None:
    assert paper_name(abstract) == name


def test_only_introduced_names_count_for_titled_papers() -> None:
    # Repeated three times but built upon, not introduced: no name for a titled paper.
    repeated = "We fine-tune MarlowLM. MarlowLM is strong. Our adapters beat MarlowLM."
    assert paper_name(repeated) == "MarlowLM"
    assert paper_name(repeated, introduced_only=True) is None


def _source(title: str, text: str, derived: bool = False) -> Source:
    return Source(rank=2, doc_id="d", title=title, text=text, score=1.0, dense_score=0.5,
                  keyword_score=1.0, chunk=text, title_is_derived=derived)  # fmt: skip


def test_a_line_names_the_method_its_title_lacks() -> None:
    text = ("Adapters are costly. We propose a method called Sparse Quill Adapters (SQA), "
            "which trains 3% of weights. SQA beats full tuning.")  # fmt: skip
    assert scaffold_for(_source("Cheaper Speech Recognisers", text)) == (
        "Cheaper Speech Recognisers (SQA) [2]"
    )
    # Already in the title: not repeated.
    assert scaffold_for(_source("SQA: Cheaper Speech Recognisers", text)) == (
        "SQA: Cheaper Speech Recognisers [2]"
    )
    # No title in the file: the name stands for it, else "Paper".
    assert scaffold_for(_source("Adapters are costly", text, derived=True)) == "SQA [2]"
    assert scaffold_for(_source("Adapters are costly", "Adapters are costly.", True)) == (
        "Paper [2]"
    )
