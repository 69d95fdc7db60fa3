"""Make an answer to "which paper ...?" name the papers it cites.

Asked "Which paper prunes the attention heads of speech models?", the small model often restates the
question ("Yes, there is work on ... [1]") and leaves the paper's name to the marker. The
user asked for a name, so each cited paper the answer does not name is added by title.
Papers whose layout had no title are left to their marker: a derived title is only the
abstract's first words.
"""

from __future__ import annotations

import re

from rag.abstain import EXISTENCE_QUESTION
from rag.citations import Citation
from rag.retrieve import Source

_WHICH_WORK = re.compile(
    r"^\s*(?:which|what)\s+(?:[\w-]+\s+)?(?:papers?|works?|study|studies|articles?|"
    r"publications?|methods?|approach(?:es)?|benchmarks?|datasets?|frameworks?|surveys?)\b",
    re.IGNORECASE,
)
# A word of a title that names the work: an acronym or coined name ("QLT", "HarrowNet", "Spindle2").
_NAME_WORD = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z0-9][\w-]*\b")
_FIELD_ACRONYMS = {"ai", "gpt", "llm", "llms", "lm", "lms", "ml", "nlp", "qa"}


def asks_for_paper(question: str) -> bool:
    """Is the question asking which paper (or work, method, benchmark ...) does something?"""
    return bool(_WHICH_WORK.search(question) or EXISTENCE_QUESTION.search(question))


def names_paper(answer: str, title: str) -> bool:
    """Does the answer mention the paper by its title, the title's name part or its acronym?"""
    lowered = answer.lower()
    name_part, *subtitles = (part.strip() for part in re.split(r"[:?]", title))
    # "A Survey" alone names nothing; "Quill Tuning for Speech Recognisers" does.
    named_by = [name_part] if len(name_part) >= 3 else []
    named_by += [part for part in subtitles if len(part.split()) >= 3]
    if title.lower() in lowered or any(part.lower() in lowered for part in named_by):
        return True
    names = [w.lower() for w in _NAME_WORD.findall(name_part)]
    return any(name in lowered for name in names if name not in _FIELD_ACRONYMS)


def name_cited_papers(
    answer: str, question: str, citations: list[Citation], sources: list[Source]
) -> str:
    """The answer, plus 'Paper: "TITLE" [n].' for each cited paper it does not name."""
    if not asks_for_paper(question):
        return answer
    derived = {s.rank for s in sources if s.title_is_derived}
    unnamed = [c for c in citations if c.n not in derived and not names_paper(answer, c.title)]
    if not unnamed:
        return answer
    label = "Paper" if len(unnamed) == 1 else "Papers"
    listed = "; ".join(f'"{c.title}" [{c.n}]' for c in unnamed)
    return f"{answer} {label}: {listed}."
