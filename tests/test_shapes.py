"""Question shapes (rag.shapes) and how a comparison's two sides are read (rag.selection)."""

from __future__ import annotations

import json

import pytest

from rag.checks.sides import other_side_names, own_and_other_side, without_other_side
from rag.prompt import UNSETTLED, drop_closing_verdict
from rag.selection import comparison_sides
from rag.shapes import asks_existence_yes, question_shape
from rag.types import Shape, Source
from tests.conftest import ROOT

# Questions about made-up papers, in the many ways people type them (written for this
# test, never from the evaluation questions); what the rules still read wrong is marked
# ``known_miss`` and expected to fail, so a fix shows up. A second set written apart
# from the code is only measured (eval/shape_accuracy.py), never tuned on.
CASES = ROOT / "tests" / "data" / "shape_cases.jsonl"


def _cases() -> list:
    params = []
    for line in CASES.read_text().splitlines():
        row = json.loads(line)
        miss = row.get("known_miss")
        marks = [pytest.mark.xfail(strict=True, reason=miss)] if miss else []
        params.append(pytest.param(row["question"], Shape(row["shape"]), marks=marks))
    return params


@pytest.mark.parametrize(("question", "shape"), _cases())
def test_question_shape_in_chat_wording(question: str, shape: Shape) -> None:
    assert question_shape(question) is shape


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("How many languages does Quill cover?", Shape.FACT),
        ("What does Harrow learn from?", Shape.FACT),
        ("What method does Spindle use to score heads?", Shape.FACT),
        ("Why does Quill freeze the encoder?", Shape.FACT),
        ("Does Spindle slow down decoding?", Shape.YESNO),
        ("Can Harrow tokens replace phone labels?", Shape.YESNO),
        ("Is Quill trained on every weight?", Shape.YESNO),
        # Titles turned into questions: what is asked follows the colon or dash.
        ("Sparse adapters for speech: do they help rare languages?", Shape.YESNO),
        ("Spindle pruning in speech models - a safe default?", Shape.YESNO),
        ("Spindle on noisy audio: are there accent differences?", Shape.YESNO),
        # An "or" inside a yes/no question, or after "whether", is not a choice.
        ("Does pruning or distilling Quill speed up decoding on phones?", Shape.YESNO),
        ("Does accuracy change depending on whether Quill or Harrow labels it?", Shape.YESNO),
        # A choice between named papers compares them.
        ("Is the word error rate lower for Quill or Harrow?", Shape.COMPARISON),
        ("Harrow tokens: which languages do they cover?", Shape.FACT),
        ("Quill and Harrow: key differences?", Shape.COMPARISON),
        ("Quill: number of adapter layers?", Shape.FACT),
        ("Is there work on speech models that need no transcripts?", Shape.EXISTENCE),
        ("Has anyone pruned attention heads in speech models?", Shape.EXISTENCE),
        ("Which paper prunes attention heads?", Shape.EXISTENCE),
        ("What benchmark tests recipe step ordering?", Shape.EXISTENCE),
        ("I'm looking for a paper about image tiling.", Shape.EXISTENCE),
        ("Looking for research where audio tokens replace phone labels.", Shape.EXISTENCE),
        ("I remember a study that pruned speech transformers - which one?", Shape.EXISTENCE),
        ("Which papers prune speech recognisers, and how do they differ?", Shape.SEVERAL),
        ("Are there studies that make speech models smaller?", Shape.SEVERAL),
        ("List the papers about audio tokens.", Shape.SEVERAL),
        ("How does Quill differ from Harrow?", Shape.COMPARISON),
        ("Compare Spindle and the structured pruning paper.", Shape.COMPARISON),
        ("What is the difference between Quill and Harrow?", Shape.COMPARISON),
        ("Which model decodes the fastest?", Shape.SUPERLATIVE),
        ("Which of the papers uses the most languages?", Shape.SUPERLATIVE),
        # Wordings the first rules missed (tests/data/shape_cases_heldout.jsonl's misses).
        ("Would you mind telling me which optimiser Quill uses?", Shape.FACT),
        ("According to the paper, does Quill's adapter help on noisy audio?", Shape.YESNO),
        ("paper on pruning speech recognisers?", Shape.EXISTENCE),
        ("know of any study that compares audio tokenisers?", Shape.EXISTENCE),
        ("Does the collection include a paper on bird-call parsing?", Shape.EXISTENCE),
        ("Did anyone publish a paper on tiling images for Spindle?", Shape.EXISTENCE),
        ("What work exists on audio tokens, and how do the approaches differ?", Shape.SEVERAL),
        ("Quill and Harrow both prune. How do they differ?", Shape.COMPARISON),
        ("i want papers on speech pruning", Shape.SEVERAL),
        ("papers using sparse adapters?", Shape.SEVERAL),
        ("Show me every study that evaluates on the Marrow benchmark.", Shape.SEVERAL),
        ("Which models in the collection were distilled?", Shape.SEVERAL),
        ("overview of work on bird-call parsing pls", Shape.SEVERAL),
        ("Between Quill and Harrow-2B, which reports lower error?", Shape.COMPARISON),
        ("quill or harrow, which one handles accents better", Shape.COMPARISON),
        ("I narrowed it down to two. Which of the two decodes faster, Quill's?", Shape.COMPARISON),
        ("oldest paper you have?", Shape.SUPERLATIVE),
        ("Of all the speech models described, which has the lowest error?", Shape.SUPERLATIVE),
        # Then tests/data/shape_cases_heldout2.jsonl's misses.
        ("Can you remind me which corpus Quill trains on?", Shape.FACT),
        ("quill uses sparse adapters, right?", Shape.YESNO),
        ("Harrow claims robustness to accents. Does that hold in its ablations?", Shape.YESNO),
        ("There was a paper about tiling images. Do you know which one that was?", Shape.EXISTENCE),
        (
            "I vaguely recall a method that prunes speech models. What paper was that?",
            Shape.EXISTENCE,
        ),
        (
            "Someone mentioned a paper on bird calls - is that one in the collection?",
            Shape.EXISTENCE,
        ),
        ("Do we have a paper on parsing bird song?", Shape.EXISTENCE),
        ("Could you round up the work on audio tokens and group it by method?", Shape.SEVERAL),
        ("overview of sparse speech adapter papers in the index", Shape.SEVERAL),
        ("Show me the studies that prune speech models.", Shape.SEVERAL),
        ("Quill vs Harrow - memory footprint?", Shape.COMPARISON),
        ("How do Quill's and Harrow's error rates line up against each other?", Shape.COMPARISON),
        ("Could you tell me which study used the most Quill data?", Shape.SUPERLATIVE),
        (
            "Of the speech systems in the collection, which gets the top accuracy?",
            Shape.SUPERLATIVE,
        ),
        ("newest paper overall?", Shape.SUPERLATIVE),
        ("Does Quill do best overall?", Shape.YESNO),
        (
            "I remember a study that prunes most heads of a speech model - which one?",
            Shape.EXISTENCE,
        ),
        ("Quill and Harrow both skip transcripts. Which data does each use?", Shape.COMPARISON),
        (
            "The sparse adapter paper and Harrow both cut compute. Which of them needs labels?",
            Shape.COMPARISON,
        ),
        ("How many speakers read each sentence in the Quill corpus?", Shape.FACT),
        ("Which papers use Quill and Harrow, and which result does each report?", Shape.SEVERAL),
        # Titles in quotes name papers as capitalised words do.
        (
            "Both 'Sparse adapters for speech' and 'Tokens without transcripts' skip labels. "
            "At what stage does each one help?",
            Shape.COMPARISON,
        ),
        ("Both Quill and the Harrow paper report on noise; what does each find?", Shape.COMPARISON),
        # A phrase that sets the scene before the comma (tests/data/shape_cases_heldout3.jsonl's
        # misses): the question proper starts after it.
        ("In the Spindle paper, did pruning slow down decoding?", Shape.YESNO),
        ("According to Harrow, is transcribed speech needed at all?", Shape.YESNO),
        ("For the speech papers here, is there one on pruning?", Shape.EXISTENCE),
        ("In the Quill paper, which corpus is used?", Shape.FACT),
        # Asks what a paper says, not for a paper.
        ("What does the paper on Spindle report about decoding speed?", Shape.FACT),
    ],
)
def test_question_shape(question: str, shape: Shape) -> None:
    assert question_shape(question) is shape


def test_existence_questions_are_answered_yes_which_paper_ones_by_name() -> None:
    assert asks_existence_yes("Is there work on pruning speech models?")
    assert not asks_existence_yes("Which paper prunes attention heads?")


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("How does Quill differ from Harrow?", ("Quill", "Harrow")),
        ("What is the difference between Quill and the Harrow tokens?",
         ("Quill", "the Harrow tokens")),
        ("Compare Spindle and Marrow.", ("Spindle", "Marrow")),
        ("Quill and Harrow both avoid labels. How do they differ?", ("Quill", "Harrow")),
        ("How does Spindle compare to Tessellate?", ("Spindle", "Tessellate")),
        ("Quill vs Harrow: which needs less data?", ("Quill", "Harrow")),
        ("What do Quill and Harrow have in common?", ("Quill", "Harrow")),
        ("Is Quill or Harrow better for rare languages?", ("Quill", "Harrow")),
        ("Which wins on noise: Quill, Harrow or Spindle?", ("Quill", "Harrow")),
        ("Could you compare Spindle and Marrow?", ("Spindle", "Marrow")),
        ("How do their methods differ?", None),
        ("Quill and Harrow both compete against Spindle. Which data does each use?",
         ("Quill", "Harrow")),
        ("Both 'Sparse adapters for speech' and 'Tokens without transcripts' skip labels. "
         "At what stage does each one help?",
         ("'Sparse adapters for speech'", "'Tokens without transcripts'")),
        ("Both Quill and the Harrow paper report on noise; what does each find?",
         ("Quill", "Harrow")),
    ],
)  # fmt: skip
def test_comparison_sides(question: str, sides: tuple[str, str] | None) -> None:
    assert comparison_sides(question) == sides


@pytest.mark.parametrize(
    ("reply", "finding"),
    [
        ("Harrow needs no transcripts [2]. So: No.", "Harrow needs no transcripts [2]."),
        ("Harrow needs no transcripts [2]. So, no", "Harrow needs no transcripts [2]."),
        ("Harrow needs no transcripts [2].", "Harrow needs no transcripts [2]."),
    ],
)
def test_a_findings_own_closing_verdict_is_dropped(reply: str, finding: str) -> None:
    assert drop_closing_verdict(reply) == finding


@pytest.mark.parametrize(
    ("finding", "unsettled"),
    [
        ("The abstracts do not settle it", True),
        ("So: the abstracts do not settle it", True),
        ("Harrow needs no transcripts", False),
        ("The abstracts do not settle it for Quill, but Harrow needs none", False),
    ],
)
def test_a_finding_that_only_says_it_cannot_decide_is_told_apart(
    finding: str, unsettled: bool
) -> None:
    # Such a finding is the model's refusal: no verdict is put before it (rag.pipeline).
    assert bool(UNSETTLED.fullmatch(finding)) is unsettled


def _paper(title: str, text: str) -> Source:
    return Source(rank=1, doc_id=title, title=title, text=text, score=0.0, dense_score=0.5,
                  keyword_score=None, chunk="")  # fmt: skip


def test_a_comparison_line_keeps_to_its_own_paper() -> None:
    quill = _paper("Quill: Sparse Adapters for Speech", "Quill adds sparse adapters to an encoder.")
    own, other = own_and_other_side(quill, ("the Harrow tokens", "Quill"))
    assert (own, other) == ("Quill", "the Harrow tokens")
    names = other_side_names(own, other, quill)
    assert names == {"Harrow"}
    assert without_other_side(" adds adapters, while Harrow learns tokens.", names) == (
        " adds adapters."
    )
    assert without_other_side(" is compared with Harrow. It is small.", names) == ""
    assert without_other_side(" adds adapters. It trains 3% of weights.", names) == (
        " adds adapters. It trains 3% of weights."
    )


def test_a_name_both_papers_use_is_not_the_other_side() -> None:
    quill = _paper("Quill", "Quill is compared with Harrow on eleven languages.")
    assert other_side_names("Quill", "Harrow", quill) == set()
