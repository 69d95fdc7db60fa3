"""A reply to "Which <thing> ...?" must name one.

Asked "Which vocoder does Quill use?" about an abstract that names none, the 1.5B model
answers anyway, with what the abstract does say ("Quill decodes speech in one pass [1]."):
every word is grounded and, asked "do the sources state the answer?", it says yes, so
the other checks pass it. A reply that answers "which" names something: a name or a number
(a word with a digit or a capital letter that does not merely start a sentence) that the
question did not already give, nor abbreviates ("VAD" for "voice activity detection"). A name
most of the sources share ("ASR" in a collection of speech papers) is the field's word,
not an answer.

Measured on questions never reported: withheld two wrong answers and no right one on the
abstention calibration set, nothing on the fact calibration set (eval/results/README.md).
"""

from __future__ import annotations

import math
import re

from rag.markers import strip_markers
from rag.shapes import last_question
from rag.terms import split_sentences
from rag.types import Draft, Shape, Verdict

# "Which vocoder ...", "In which venue ...": the thing asked for comes right after "which".
_WHICH = re.compile(r"^\s*(?:(?:in|on|from|by|at|for|with)\s+)?which\s+(?P<thing>\w+)", re.I)
# Those ask for a paper: list and "which paper" replies name it by rule (``rag.shapes``).
_PAPER_WORDS = {"paper", "papers", "study", "studies", "work", "works", "article", "articles"}
_TOKEN = re.compile(r"[A-Za-z0-9][\w.+-]*[\w+]|[A-Za-z0-9]")


def names_in(text: str) -> set[str]:
    """The words of ``text`` that name something (lower case): with a digit ("Quill-2"), a
    capital after the first letter ("ASRNet"), or a capital not opening a sentence."""
    names = set()
    for sentence in split_sentences(text):
        for position, match in enumerate(_TOKEN.finditer(sentence)):
            word = match.group(0)
            inner_capital = any(c.isupper() for c in word[1:])
            if any(c.isdigit() for c in word) or inner_capital or (position and word[0].isupper()):
                names.add(word.lower())
    return names


def abbreviates(name: str, question: str) -> bool:
    """Is ``name`` the initials of consecutive words of the question ("VADs" for "... voice
    activity detectors ...")? Such a name restates what was asked; it answers nothing."""
    letters = name.lower().removesuffix("s")
    if len(letters) < 2 or not letters.isalpha():
        return False
    return letters in "".join(w[0] for w in re.findall(r"[a-z][\w-]*", question.lower()))


class SpecificAnswerCheck:
    """Withholds a fact reply to "Which <thing> ...?" that names nothing new (module
    docstring); a name in at least ``common_share`` of the question's top retrieved papers
    (and two) is the field's, not an answer."""

    name = "specific"

    def __init__(self, common_share: float | None) -> None:
        self.common_share = common_share

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if self.common_share is None or draft.shape is not Shape.FACT:
            return None
        # The whole question too: "..., e.g. Quill?" splits into sentences at "e.g.".
        asked = _WHICH.match(last_question(draft.question)) or _WHICH.match(draft.question)
        if not asked or asked.group("thing").lower() in _PAPER_WORDS:
            return None
        question = draft.question.lower()
        new = {
            n
            for n in names_in(strip_markers(draft.text))
            if n not in question and not abbreviates(n, question)
        }
        sources = [f"{s.title} {s.text}".lower() for s in draft.retrieved or draft.sources]
        common = max(2, math.ceil(self.common_share * len(sources)))
        if any(sum(n in s for s in sources) < common for n in new):
            return None
        return Verdict(
            self.name,
            f"the draft answer was withheld: the question asks which {asked.group('thing')}, "
            "and the answer names none",
        )
