"""Is what the draft adds found in the sources it was written from?

The small generators answer from memory ("Canberra") when a question is off the
collection, and fill a gap with a number the abstract states about something else, so the
model's words are checked against its sources:

- ``restatement``: a reply must add something to the question and to its scaffold (a
  yes/no reply adds its verdict, but must still say the finding: "Yes: Yes." is
  withheld); a paper's line that only restates the question is
  replaced by the abstract's own closest sentence (``rag.pipeline``);
- ``numbers``: every number it adds occurs in a source;
- ``quantity``: a how-many question gets a number, measured in the unit asked, from a
  passage about what was asked (``rag.checks.quantities``);
- ``grounding``: most of its new content words occur in the sources.
"""

from __future__ import annotations

import re

from rag.checks.quantities import number_sentences, quantity_problem
from rag.prompt import ANSWERABLE_JOB, UNSETTLED_WORDS, format_sources
from rag.terms import (
    NUMBER,
    content_terms,
    has_quantity,
    numbers_in,
    percentages_in,
    spelled_to_digits,
    strip_citations,
)
from rag.types import Draft, Shape, Verdict

_QUANTITY_QUESTION = re.compile(
    r"^\s*(how (many|much|large|big|long|fast|old)|what (percentage|share|fraction|number)|"
    r"in (what|which) year|when\b|by how much)",
    re.IGNORECASE,
)
_VERDICT_OPENER = re.compile(r"^\W*(yes|no)\b|the abstracts do not settle", re.IGNORECASE)
# The verdict words a yes/no reply opens with (scored, rag.prompt.VERDICTS) or that the
# model may write itself: given, not added.
_VERDICT_WORDS = f"yes no {UNSETTLED_WORDS}"
_VERDICT_TERMS = content_terms(_VERDICT_WORDS)


def _words(draft: Draft) -> str:
    """The model's words, markers out, spelled-out numbers as digits ("two hundred": 200)."""
    return spelled_to_digits(strip_citations(draft.text))


def _source_text(draft: Draft) -> str:
    return " ".join(f"{s.title} {s.text}" for s in draft.sources)


def new_terms(draft: Draft) -> set[str]:
    """Content words of the draft that neither the question nor the scaffold gave."""
    verdicts = _VERDICT_WORDS if draft.shape is Shape.YESNO else ""
    given = content_terms(f"{draft.question} {draft.scaffold} {verdicts}")
    return {t for t in content_terms(_words(draft)) - given if not NUMBER.fullmatch(t)}


def new_numbers(draft: Draft) -> set[str]:
    """Numbers of the draft that neither the question nor the scaffold gave."""
    return numbers_in(_words(draft)) - numbers_in(f"{draft.question} {draft.scaffold}")


class RestatementCheck:
    """Withholds a reply that only restates the question (and its scaffold)."""

    name = "restatement"

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if draft.shape is Shape.YESNO and not content_terms(_words(draft)) - _VERDICT_TERMS:
            # "Yes: Yes." gives the verdict and no finding to check it by (nor to cite).
            return Verdict(self.name, "the draft answer was withheld: a verdict with no finding")
        if new_terms(draft) or new_numbers(draft):
            return None
        if draft.shape is Shape.YESNO and _VERDICT_OPENER.search(draft.text):
            return None
        return Verdict(self.name, "the draft answer was withheld: it only restates the question")


class NumbersCheck:
    """Withholds a draft whose numbers are not in its sources, or that gives as a share
    ("7% of the data") a number the sources state only as something else ("7B")."""

    name = "numbers"

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        sources = _source_text(draft)
        missing = sorted(n for n in new_numbers(draft) if n not in numbers_in(sources))
        given = f"{draft.question} {draft.scaffold}"
        shares = percentages_in(_words(draft)) - percentages_in(given)
        stated = numbers_in(sources) - percentages_in(sources)
        missing += sorted(f"{n}%" for n in shares & stated)
        if missing:
            return Verdict(
                self.name,
                f"the draft answer was withheld: its numbers are not in the sources "
                f"({', '.join(missing)})",
            )
        return None


class QuantityCheck:
    """Withholds a how-many reply without a number, or with one that measures something else.

    Whether a number measures what was asked is first judged on words (the unit asked next
    to it, a question word in its sentence: ``rag.checks.quantities``). A draft that fails
    them is then judged by the model, when it is at hand: asked over only the source
    sentences that hold the draft's numbers whether they state the answer, it keeps the
    draft when 'Yes' leads 'No' by ``min_lead`` (a paraphrased unit, "songs" for
    "tracks", fails the words but not the model). Records ``signals["quantity_lead"]``.
    """

    name = "quantity"

    def __init__(self, window: tuple[int, int], min_lead: float | None = None) -> None:
        self.window = window
        self.min_lead = min_lead

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if draft.scaffold:
            return None  # a listed paper's line describes it; it answers no how-many
        asks = bool(_QUANTITY_QUESTION.search(draft.question))
        if asks and not (new_numbers(draft) and has_quantity(_words(draft))):
            return Verdict(self.name, "the draft answer was withheld: the question asks for a "
                                      "quantity and the draft gives none")  # fmt: skip
        problem = quantity_problem(
            draft.text, draft.question, draft.sources, draft.query, self.window
        )
        if problem and self._model_finds_it(draft):
            return None
        if problem:
            return Verdict(self.name, f"the draft answer was withheld: {problem}")
        return None

    def _model_finds_it(self, draft: Draft) -> bool:
        if self.min_lead is None or draft.yes_lead is None:
            return False
        found = number_sentences(draft.text, draft.question, draft.sources)
        if not found:
            return False
        shown = [draft.sources[i] for i in found]
        titles = {s.title for s in shown}
        excerpts = [[x for x in found[i] if x not in titles] for i in found]
        lead = draft.yes_lead(ANSWERABLE_JOB, format_sources(shown, excerpts))
        draft.signals["quantity_lead"] = round(lead, 4)
        return lead >= self.min_lead


class GroundingCheck:
    """Withholds a draft most of whose new content words are not in its sources."""

    name = "grounding"

    def __init__(self, min_share: float) -> None:
        self.min_share = min_share

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        terms = new_terms(draft)
        # Spelled-out numbers become digits on both sides ("Four-layer" in a source).
        found = terms & content_terms(spelled_to_digits(_source_text(draft)))
        share = len(found) / len(terms) if terms else 1.0
        draft.signals["grounding"] = share
        if share < self.min_share:
            missing = ", ".join(sorted(terms - found)[:5])
            return Verdict(
                self.name,
                f"the draft answer was withheld: most of its words are not in the sources "
                f"({missing})",
            )
        return None
