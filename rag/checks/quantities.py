"""Does the number in an answer measure what the question asked for?

The small model, asked for a detail the abstract does not state, fills the gap with a
number the abstract does state about something else ("the training cost in dollars was
4.2T tokens", "the context length is 9,120 questions"). Such a number passes the
plain grounding check: it *is* in the sources. So each number the answer adds is traced
back to where the sources state it, and the answer is kept only if

- the question asks for a unit ("how many layers", "in dollars") and one of the answer's
  numbers stands next to that unit in a source, and
- one of the answer's numbers comes from a source sentence that shares a word (not a
  stop-word) with the question (the number is about what was asked, not about a neighbouring fact).

These two rules match words, and a question in the researcher's own words names the unit
or the topic differently from the abstract ("how many songs" for "1,204 tracks"). So a
draft that fails them is not withheld on words alone: :func:`number_sentences` gives the
source sentences that hold its numbers, and the check (``rag.checks.grounding``) asks the
model whether those sentences state the answer.

Libraries have no such check (it is specific to grounding short numeric answers), hence
this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.settings import CheckSettings
from rag.terms import (
    leading_number,
    numbers_in,
    quantities_in,
    spelled_to_digits,
    split_sentences,
    strip_citations,
    topic_terms,
    word_stems,
)
from rag.types import Source

_HOW_MANY = re.compile(
    r"\bhow many\s+((?:[\w-]+\s+){0,3}?[\w-]+?)"
    r"(?=\s+(?:did|does|do|is|are|was|were|has|have|had|of|in|on|for|to|from|with|can|could"
    r"|would|will|should|may|might|must|it|they|the|a|an)\b|\s*[?.,;]|\s*$)",
    re.IGNORECASE,
)
_IN_UNIT = re.compile(r"\b(?:in|of) (dollars|usd|euros?|\$)", re.IGNORECASE)
_CURRENCY = {"dollars", "usd", "euro", "euros", "$"}
_CURRENCY_MARK = re.compile(r"[$€]|\b(?:usd|dollars?|euros?)\b", re.IGNORECASE)
_TOKEN = re.compile(r"[$€]|[\w.,+%-]+")


def asked_unit(question: str) -> str | None:
    """The unit the question asks to count or measure in, if it names one.

    "How many GPU hours of finetuning ..." -> "hours"; "... cost in dollars" -> "dollars".
    "How much ..." names none: its noun ("data", "time") is rarely the unit stated.
    """
    found = _IN_UNIT.search(question)
    if found:
        return found.group(1).lower()
    found = _HOW_MANY.search(question)
    if not found:
        return None
    # The phrase runs to the next function word, which may come after a verb ("how many
    # layers made it ..." -> "layers made", "how many people took part" -> "people took
    # part"): the counted noun is its first plural word, else its first word.
    words = found.group(1).lower().split()
    plural = [w for w in words if w.endswith("s") and not w.endswith("ss")]
    return (plural or words)[0]


def _near_unit(tokens: list[str], index: int, unit: str, window: tuple[int, int]) -> bool:
    before, after = window
    window_tokens = tokens[max(0, index - before) : index + after + 1]
    text = " ".join(window_tokens)
    if unit in _CURRENCY:
        return bool(_CURRENCY_MARK.search(text))
    return bool(word_stems(unit) & word_stems(text.replace("-", " ")))  # "GPU-hours"


def quantity_problem(
    answer: str,
    question: str,
    sources: list[Source],
    query: str | None = None,
    window: tuple[int, int] | None = None,
) -> str | None:
    """Why the answer's numbers do not answer the question, or None if they may.

    ``query``: the question as searched (a follow-up condensed with its history), whose
    words say what the question is about. ``window``: words searched before and after a
    number for its unit ("318 real-world Quills", "TPU hours: 96K"); by default the
    ``settings.checks`` defaults.
    """
    if window is None:
        defaults = CheckSettings()
        window = (defaults.unit_window_before, defaults.unit_window_after)
    new_numbers = _new_numbers(answer, question)
    if not new_numbers:
        return None
    unit = asked_unit(question)
    asked = topic_terms(query or question)
    unit_found = on_topic = False
    for _, sentence, tokens, hits in _number_hits(new_numbers, sources):
        on_topic = on_topic or bool(asked & topic_terms(sentence))
        near = any(_near_unit(tokens, i, unit, window) for i in hits if unit)
        unit_found = unit_found or near
    if unit and not unit_found:
        return f"no source gives its number in {unit}"
    if not on_topic:
        return "its numbers come from passages about something else"
    return None


def number_sentences(answer: str, question: str, sources: list[Source]) -> dict[int, list[str]]:
    """Per source (by position in ``sources``), its sentences that state a number the answer
    adds to the question: what the model is asked about when the word rules fail."""
    found: dict[int, list[str]] = {}
    for index, sentence, _, _ in _number_hits(_new_numbers(answer, question), sources):
        found.setdefault(index, []).append(sentence)
    return found


def _new_numbers(answer: str, question: str) -> set[str]:
    return quantities_in(strip_citations(answer)) - numbers_in(question)


def _number_hits(
    numbers: set[str], sources: list[Source]
) -> Iterator[tuple[int, str, list[str], list[int]]]:
    """Each source sentence (title first) stating one of ``numbers``: the source's position,
    the sentence, its tokens and the positions of those numbers among them."""
    if not numbers:
        return
    for index, source in enumerate(sources):
        for sentence in [source.title, *split_sentences(source.text)]:
            tokens = _TOKEN.findall(spelled_to_digits(sentence))
            hits = [i for i, t in enumerate(tokens) if leading_number(t) in numbers]
            if hits:
                yield index, sentence, tokens, hits
