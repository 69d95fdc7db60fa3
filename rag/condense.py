"""Turn a follow-up ("how big is its corpus?") into a stand-alone retrieval query.

Done without the generator on purpose: an LLM rewrite costs seconds of prefill and decode
on a 2-core CPU before retrieval can even start, which would break the time-to-first-token
budget. A follow-up borrows the previous turn's words instead; a new topic is left alone.
"""

from __future__ import annotations

import re

from rag.markers import MARKER, strip_markers

_FOLLOWUP_CUES = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|she|his|her|"
    r"the (papers?|models?|method|approach|framework|study|work|benchmark|dataset|authors?)|"
    r"same|above|previous|former|latter)\b",
    re.IGNORECASE,
)
MAX_CONTEXT_CHARS = 300


def is_followup(question: str) -> bool:
    """Does the question lean on something said before (pronoun or 'the paper')?"""
    return bool(_FOLLOWUP_CUES.search(question)) or referred_position(question) is not None


def _last(history: list[dict], role: str) -> str:
    return next((m.get("content", "") for m in reversed(history) if m.get("role") == role), "")


_ORDINAL = re.compile(
    r"\b(?:the\s+)?(first|former|second|third|fourth|fifth|latter|last)\b"
    r"(?=\s+(?:one|paper|work|study|model|method|approach|framework|benchmark)\b|\s*[,?.]|\s*$)",
    re.IGNORECASE,
)
_POSITIONS = {"first": 0, "former": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4,
              "latter": -1, "last": -1}  # fmt: skip


def referred_position(question: str) -> int | None:
    """Which of the previous answer's papers "the second one" / "the latter" means
    (an index into them; -1 is the last), or None."""
    match = _ORDINAL.search(question)
    return _POSITIONS[match.group(1).lower()] if match else None


def cited_claims(answer: str) -> list[str]:
    """The text of each cited claim of an answer, in order of its first marker:
    "A does x [1], and B does y [2]." -> ["A does x", ", and B does y"]."""
    claims, start = [], 0
    for match in MARKER.finditer(answer):
        claim = answer[start : match.start()].strip(" ,;.")
        if claim:
            claims.append(claim)
        start = match.end()
    return claims


def previous_answer(history: list[dict] | None) -> dict | None:
    """The answer the question follows: the history's last message, if the assistant's.

    A history ending in a user turn (a "sources only" question, answered with no text)
    has no answer to follow; an older answer is about an older question.
    """
    if history and history[-1].get("role") == "assistant":
        return history[-1]
    return None


def followup_note(question: str, history: list[dict] | None) -> str:
    """What the generator is told about the earlier turn (short: prompt length is latency)."""
    if not history or not is_followup(question):
        return ""
    last_user = _last(history, "user")
    return f"follow-up to: {last_user[:MAX_CONTEXT_CHARS]}" if last_user else ""


def condense_question(question: str, history: list[dict] | None) -> str:
    """A self-contained query: the question plus the last turn's topic when it is a follow-up."""
    if not history or not is_followup(question):
        return question
    last_user, last_answer = _last(history, "user"), _last(history, "assistant")
    context = " ".join(filter(None, [last_user, strip_markers(last_answer)]))
    return f"{question} (context: {context[:MAX_CONTEXT_CHARS].strip()})"
