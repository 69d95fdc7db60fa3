"""Did the model decline? Its words ("The sources do not say.") or its own probabilities."""

from __future__ import annotations

from rag.prompt import REFUSAL
from rag.types import Draft, Verdict

_CUES = (
    REFUSAL.lower().rstrip("."), "do not contain", "does not contain", "not mentioned",
    "no information", "not provided", "does not say", "do not mention", "does not mention",
    "not specified", "does not specify", "do not specify",
)  # fmt: skip


def is_refusal(text: str) -> bool:
    """Did the model say it cannot answer from the sources?"""
    lowered = text.strip().lower()
    return any(cue in lowered for cue in _CUES)


class RefusalCheck:
    """Withholds an empty draft or one in which the model says the sources do not answer."""

    name = "refusal"

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if not draft.text.strip() or is_refusal(draft.text):
            return Verdict(self.name, "the model found no answer in the sources")
        return None


class AnswerMarginCheck:
    """The model's mean log-probability of its answer minus that of the refusal.

    Always measured (``signals["answer_margin"]``) when the generator scored the refusal;
    withholds only when ``min_margin`` is set. Off by default: on the dev and test splits
    it withheld more grounded, correct answers than wrong ones (eval/results/README.md).
    """

    name = "answer_margin"

    def __init__(self, min_margin: float | None) -> None:
        self.min_margin = min_margin

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        own, refusal = draft.signals.get("answer_logprob"), draft.signals.get("refusal_logprob")
        if own is None or refusal is None:
            return None
        draft.signals["answer_margin"] = own - refusal
        if self.min_margin is not None and own - refusal < self.min_margin:
            return Verdict(
                self.name,
                "the model finds 'the sources do not say' about as likely as its own answer",
            )
        return None
