"""Does the model, asked only that, find the answer stated in its sources?

A near-miss question asks a detail of a paper that its abstract does not give ("Which
optimizer does Quill use?"). The model, asked to answer, still writes something grounded
about the paper ("Quill trains with sparse adapters [1]."), which passes the word and
number checks. Asked the narrower question "Does the text above state the answer to this
question?", scored by the log-probability of "Yes" against "No", it separates such
questions from answerable ones better than its draft does (dev split:
eval/results/README.md). Only fact and superlative drafts are asked: a yes/no question
is answerable by "no", and a listed paper's line describes the paper.

A comparison is asked too, but before its lines are written (:func:`rag.checks.build_gates`,
on a draft with no text): its lines describe each paper, which the draft checks pass
whatever was asked, so a comparison on a detail neither abstract gives ("Which of Quill
and Harrow was trained for longer?") would be answered by two descriptions.
"""

from __future__ import annotations

from rag.prompt import ANSWERABLE_JOB
from rag.types import Draft, Shape, Verdict

ASKED_SHAPES = (Shape.FACT, Shape.SUPERLATIVE)


class AnswerableCheck:
    """Withholds a fact's draft when the model does not find its answer in the sources.

    Records ``signals["answerable_lead"]`` (log P(Yes) - log P(No)) whenever it asks;
    withholds only below ``min_lead`` (None: never asks).
    """

    name = "answerable"

    def __init__(self, min_lead: float | None, shapes: tuple[Shape, ...] = ASKED_SHAPES) -> None:
        self.min_lead = min_lead
        self.shapes = shapes

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if self.min_lead is None or draft.yes_lead is None or draft.scaffold:
            return None
        if draft.shape not in self.shapes:
            return None
        lead = draft.yes_lead(ANSWERABLE_JOB)
        draft.signals["answerable_lead"] = round(lead, 4)
        if lead < self.min_lead:
            return Verdict(
                self.name, "asked on its own, the model does not find the answer in the sources"
            )
        return None
