"""Superlatives over stated figures (rag/superlatives.py), on made-up abstracts."""

from __future__ import annotations

import pytest

from rag.superlatives import asked_measures, find_extreme, measurements
from rag.types import Source

ABSTRACTS = {
    "Nimbus": "We train Nimbus, a 70B model, on 2T tokens of filtered web text. Nimbus "
    "was built in 2023 by Nimbus Labs.",
    "Harrow-XL": "Harrow-XL has 340M parameters. We compare it with 12 language models on "
    "speech tasks and it wins on 9 of 14 tasks.",
    "Spindle": "We release Spindle models of 1B, 7B and 13B parameters, trained on text in "
    "31 languages. Spindle prunes 40% of the heads.",
    "Marrow": "Marrow is a benchmark of 9,000 recipes for 200K long-context models. "
    "Building it posed two challenges.",
}


def _sources() -> list[Source]:
    return [
        Source(rank, f"doc-{rank}", name, text, 1.0 / rank, 0.5, None, "")
        for rank, (name, text) in enumerate(ABSTRACTS.items(), start=1)
    ]


def _winner(question: str) -> tuple[str, str] | None:
    found = find_extreme(asked_measures(question), _sources())
    return (found[0].source.title, found[0].number) if found else None


def test_the_measure_is_the_noun_after_the_superlative() -> None:
    (asked,) = asked_measures("Which of these papers trains the biggest model?")
    assert (asked.largest, asked.noun, asked.counted) == (True, ["model"], False)
    (asked,) = asked_measures("Who evaluates on the fewest languages?")
    assert (asked.largest, asked.noun) == (False, ["languages"])
    (asked,) = asked_measures("Which abstract reports the largest number of models it ran?")
    assert asked.counted and asked.noun == ["models"]
    (asked,) = asked_measures("What is the smallest model here, and how many parameters has it?")
    assert "parameters" in asked.units
    assert asked_measures("Which method is best?") == []
    # "most" grading a quality ranks no stated figure
    assert asked_measures("Which are the most popular approaches here?") == []


@pytest.mark.parametrize(
    ("question", "winner"),
    [
        # a model's size is stated in parameters, or as "a 70B model"
        ("Which paper trains the largest model?", ("Nimbus", "70B")),
        ("What is the smallest model anyone here trains?", ("Harrow-XL", "340M")),
        ("Which work uses the most training tokens?", ("Nimbus", "2T")),
        # a count of models is not a model size
        ("Which paper reports on the largest number of language models?", ("Harrow-XL", "12")),
        # "7B ... parameters": the noun after a list of numbers measures each of them
        ("Which release has the most parameters?", ("Spindle", "13B")),
        ("Which release spans the most languages?", ("Spindle", "31")),
        ("Which benchmark has the most recipes?", ("Marrow", "9,000")),
    ],
)
def test_the_extreme_figure_is_found(question: str, winner: tuple[str, str]) -> None:
    assert _winner(question) == winner


def test_a_noun_that_starts_a_longer_name_is_not_the_measure() -> None:
    # "12 language models" counts models, not languages; "14 tasks" is no count of models
    found = measurements(asked_measures("Which release spans the most languages?")[0], _sources())
    assert {m.source.title for m in found} == {"Spindle"}


def test_years_shares_and_unstated_measures_are_not_figures() -> None:
    assert _winner("Which paper uses the most microphones?") is None
    # "built in 2023" is a date; "40% of the heads" a share: neither is a count of heads
    assert _winner("Which model has the fewest heads?") is None


def test_a_context_length_is_not_a_model_size() -> None:
    # "200K long-context models" states a context length, under any model's size
    assert _winner("Which paper has the smallest model?") == ("Harrow-XL", "340M")


def test_a_count_of_things_is_not_the_size_of_one() -> None:
    # "the biggest challenge" asks how big; "two challenges" says how many
    assert _winner("What is the biggest challenge any of these papers faced?") is None


def _src(*texts: str) -> list[Source]:
    return [Source(i, f"d{i}", f"Paper {i}", t, 1.0, 0.5, None, "") for i, t in enumerate(texts, 1)]


@pytest.mark.parametrize(
    ("question", "texts", "number"),
    [
        # a number with a thousands separator is no year
        (
            "Which corpus has the most speakers?",
            ["We recorded 2,000 speakers.", "We recorded 900 speakers."],
            "2,000",
        ),
        # a verb form after the noun does not make it a longer name
        (
            "Which paper covers the most dialects?",
            ["We cover 41 dialects spoken in Europe.", "We cover 12 dialects."],
            "41",
        ),
        (
            "Which paper has the most parameters?",
            ["We train a 70B parameter model.", "Our model has 7B parameters."],
            "70B",
        ),
        # "the total number of" is a count, not a size
        (
            "Which paper releases the largest total number of models?",
            ["We release 3 models of 70B parameters.", "We release 12 models of 1B parameters."],
            "12",
        ),
        # figures in different units are not compared as numbers: the unit most papers use
        (
            "Which system has the lowest latency?",
            ["Its latency is 80 ms.", "A latency of 95 ms.", "Its latency is 0.5 seconds."],
            "80",
        ),
    ],
)
def test_figures_are_read_as_written(question: str, texts: list[str], number: str) -> None:
    found = find_extreme(asked_measures(question), _src(*texts))
    assert found and found[0].number == number


def test_most_without_the_is_a_majority_not_a_superlative() -> None:
    assert asked_measures("Which benchmark do most speech papers here evaluate on?") == []
    assert asked_measures("Which paper evaluates on the most benchmarks?")
