"""Draft to verified answer: one list of checks, applied in order (``rag.checks.base``).

Each check's name shows up as the answer's ``abstain_check`` and in the evaluation
report's failure groups; its thresholds are in ``settings.checks``.
"""

from __future__ import annotations

from rag.checks.answerable import AnswerableCheck
from rag.checks.base import Check
from rag.checks.citations import CitationCheck
from rag.checks.grounding import GroundingCheck, NumbersCheck, QuantityCheck, RestatementCheck
from rag.checks.premise import PremiseCheck
from rag.checks.refusal import AnswerMarginCheck, RefusalCheck
from rag.checks.sides import OtherPaperCheck
from rag.checks.specific import SpecificAnswerCheck
from rag.settings import CheckSettings
from rag.types import Draft, Shape, Verdict


def build_checks(settings: CheckSettings) -> list[Check]:
    """The checks, in the order they run: a comparison part cut to its own paper (what every
    later check reads), cheap verdicts on the model's intent, then citation repair (which
    the later checks read), then grounding, and last the one that asks the model again (the
    slowest, reached only by drafts that passed the rest)."""
    return [
        OtherPaperCheck(),
        RefusalCheck(),
        AnswerMarginCheck(settings.min_answer_margin),
        CitationCheck(settings.citation_keep_ratio),
        PremiseCheck(),
        RestatementCheck(),
        NumbersCheck(),
        QuantityCheck(
            (settings.unit_window_before, settings.unit_window_after), settings.min_quantity_lead
        ),
        GroundingCheck(settings.min_grounding),
        SpecificAnswerCheck(settings.common_name_share),
        AnswerableCheck(settings.min_answerable_lead),
    ]


def build_gates(settings: CheckSettings) -> list[Check]:
    """The checks asked before a line reply is written, on a draft of its papers with no
    text: a comparison's papers must state what it asks (their lines would pass the draft
    checks whatever was asked)."""
    return [AnswerableCheck(settings.min_comparison_lead, shapes=(Shape.COMPARISON,))]


def run_checks(draft: Draft, checks: list[Check]) -> Verdict | None:
    """Apply ``checks`` in order; the first verdict (or ``None``: all passed)."""
    for check in checks:
        verdict = check(draft)
        if verdict is not None:
            return verdict
    return None


__all__ = ["Check", "build_checks", "build_gates", "run_checks"]
