"""When to say "the sources do not hold the answer" instead of answering.

The small generators answer from memory ("Canberra") when asked off-corpus, so the model
is never trusted alone. Three signals, checked in order:

1. retrieval relevance, before generating: dense cosine of the best paper plus a bonus for
   how many of the question's content words it contains (acronyms embed poorly but match
   exactly). Below ``min_relevance`` nothing is generated.
2. the model's own refusal (it is shown how to refuse in the prompt).
3. grounding, after generating: numbers the answer adds must occur in its sources, and
   most of the new content words too. This catches details invented from memory. A number
   must also measure what was asked (``rag.quantities``): a near-miss question gets a
   number the abstract states about something else.

Thresholds are calibrated by ``eval/calibrate_abstention.py`` on the dev split
(``eval/questions/dev.jsonl``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.prompt import REFUSAL
from rag.quantities import quantity_problem
from rag.retrieve import Source
from rag.terms import (
    NUMBER,
    content_terms,
    has_quantity,
    numbers_in,
    spelled_to_digits,
    strip_citations,
)

COVERAGE_WEIGHT = 0.25


def relevance(query: str, source: Source) -> float:
    """Dense cosine plus a bonus for the share of query terms the paper contains."""
    terms = content_terms(query)
    coverage = len(terms & content_terms(f"{source.title} {source.text}")) / max(1, len(terms))
    return (source.dense_score or 0.0) + COVERAGE_WEIGHT * coverage


def is_refusal(answer: str) -> bool:
    """Did the model say it cannot answer from the sources?"""
    lowered = answer.strip().lower()
    cues = (REFUSAL.lower().rstrip("."), "do not contain", "does not contain", "not mentioned",
            "no information", "not provided", "does not say", "do not mention",
            "does not mention", "not specified", "does not specify", "do not specify")  # fmt: skip
    return any(cue in lowered for cue in cues)


# "Is there work on X?" is answered by pointing at a paper, even in the question's words.
EXISTENCE_QUESTION = re.compile(r"^\s*(is|are) there\b|^\s*(does|do) any\b", re.IGNORECASE)
_QUANTITY_QUESTION = re.compile(
    r"^\s*(how (many|much|large|big|long|fast|old)|what (percentage|share|fraction|number)|"
    r"in (what|which) year|when\b|by how much)",
    re.IGNORECASE,
)


@dataclass
class Grounding:
    """How much of what the answer adds can be found in its sources."""

    score: float
    missing_numbers: list[str]
    missing_terms: list[str]
    adds_nothing: bool  # the answer only restates the question
    lacks_number: bool  # a how-many/how-much question answered without a number
    off_quantity: str | None = None  # its number measures something else (rag/quantities.py)

    @property
    def problem(self) -> str | None:
        """Why the draft should be withheld, or None if it is grounded."""
        if self.missing_numbers:
            return f"its numbers are not in the sources ({', '.join(self.missing_numbers)})"
        if self.off_quantity:
            return self.off_quantity
        if self.adds_nothing:
            return "it only restates the question"
        if self.lacks_number:
            return "the question asks for a quantity and the draft gives none"
        return None


def grounding(
    answer: str, question: str, sources: list[Source], query: str | None = None
) -> Grounding:
    """Share of the answer's new content terms (not copied from the question) found in sources.

    ``query``: the question as searched (condensed with the chat history), if different.
    """
    text = " ".join(f"{s.title} {s.text}" for s in sources)
    answer = spelled_to_digits(strip_citations(answer))  # "two hundred" is a number, not words
    source_numbers = numbers_in(text)
    new_numbers = numbers_in(answer) - numbers_in(question)
    missing_numbers = sorted(n for n in new_numbers if n not in source_numbers)
    new_terms = content_terms(answer) - content_terms(question)
    new_terms = {t for t in new_terms if not NUMBER.fullmatch(t)}
    found = new_terms & content_terms(text)
    score = len(found) / len(new_terms) if new_terms else 1.0  # nothing new, nothing unsupported
    return Grounding(
        score=score,
        missing_numbers=missing_numbers,
        missing_terms=sorted(new_terms - found),
        adds_nothing=not new_terms and not new_numbers and not EXISTENCE_QUESTION.search(question),
        lacks_number=bool(_QUANTITY_QUESTION.search(question))
        and not (new_numbers and has_quantity(answer)),
        off_quantity=quantity_problem(answer, question, sources, query),
    )
