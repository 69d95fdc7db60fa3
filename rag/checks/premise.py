"""Does the draft take over a name or number from the question that its sources lack?

A false-premise question carries a detail its paper does not have ("Why did Nimbus Labs
build Quill?" when Quill's abstract names another lab; "How does Quill shrink a 90B model?"
when it starts from 7B). The small model answers as asked and repeats the detail, and the
other checks pass the draft: the repeated words came from the question, which they treat as
given. So a name or number that the question states and the draft repeats must be in a
source the draft cites; where none states it, the draft is withheld, saying which detail
the sources lack. The same catches a draft that answers a question about one paper from
another ("Which encoder does Quill use?" answered from Harrow's abstract, cited [2]): the
cited source does not name the paper asked about; and a draft that cites, beside the paper
asked about, another that names none of the question's names has added that paper's fact
("Quill freezes its encoder [1]; it reaches 61% [2]."). A draft that denies the detail
("Quill was not built by ...") is the right answer and passes. Replayed on the stored
runs of the dev split and of the abstention calibration set, it withheld only wrong
answers (eval/results/README.md).

Only free replies are checked: a yes/no reply answers such a question by "No", and a
listed paper's line is about the paper, not about the question's details.
"""

from __future__ import annotations

import re

from rag.markers import cited_sources
from rag.terms import spelled_to_digits, strip_citations
from rag.types import Draft, Shape, Source, Verdict

CHECKED_SHAPES = (Shape.FACT, Shape.SUPERLATIVE)
_TOKEN = re.compile(r"[A-Za-z0-9][\w.'-]*\w|[A-Za-z0-9]")
_MARKED = re.compile(r"[A-Z0-9]")  # a capital or a digit: a name, an acronym, a number
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|rather than|instead of)\b|n't\b", re.I)
_JOIN = re.compile(r"[\s/\u2010-\u2015-]+")  # what splits "Quill-7B" or "English/German"
_INITIAL = re.compile(r"[a-z0-9]+")
# 'Quoted', "quoted" or curly-quoted spans; an apostrophe inside a word ("Who's") stays.
_QUOTED = re.compile(
    r"(?<!\w)'(?:[^']|(?<=\w)'(?=\w))+'(?!\w)|\"[^\"]+\"|\u2018[^\u2019]+\u2019|\u201c[^\u201d]+\u201d"
)
_SENTENCE_START = re.compile(r"(?:^|[.?!:;]\s+)\W*")  # where a sentence's first word starts


def _flat(word: str) -> str:
    """Lower-cased letters and digits only, no possessive: "Quill's" -> "quill", "1.5B" -> "15b"."""
    return re.sub(r"[^a-z0-9]+", "", re.sub(r"['\u2019]s$", "", word.lower()))


def _words(text: str) -> set[str]:
    """The words of ``text``, flattened, with hyphenated and slashed words split."""
    return {w for w in map(_flat, _JOIN.split(text)) if w}


def marked_terms(question: str) -> list[str]:
    """The question's names and numbers: the parts of its words that hold a capital letter
    or a digit ("Nimbus", "90B", "7B" of "Quill-7B"; not "Quill-based" 's "based"), except
    a sentence's first word (capitalised anyway) and words inside quotes: a quoted title
    ("the 'Fast and Small' paper") names a paper whose abstract need not hold its title."""
    unquoted = _QUOTED.sub(" ", question)
    starts = {m.end() for m in _SENTENCE_START.finditer(unquoted)}
    words = [w.group(0) for w in _TOKEN.finditer(unquoted) if w.start() not in starts]
    words = [re.sub(r"['\u2019]s?$", "", w) for w in words]
    parts = [p for w in words for p in _JOIN.split(w)]
    return list(dict.fromkeys(p for p in parts if _MARKED.search(p) and len(_flat(p)) > 1))


def _stated(term: str, words: set[str], initials: str) -> bool:
    """Is ``term`` a word of the sources (singular or plural), or an acronym of theirs?"""
    flat = _flat(term)
    if flat in words or f"{flat}s" in words or (flat.endswith("s") and flat[:-1] in words):
        return True
    # Inside a longer word: "Quill" in "QuillNet", or in words an extraction ran together
    # ("EnglishrightarrowGerman" where a PDF had "English -> German").
    if len(flat) >= 4 and any(flat in w for w in words):
        return True
    # "WERs" where a source writes "word error rates": the acronym's letters as the
    # initials of consecutive words.
    letters = flat[:-1] if term.endswith("s") and term[:-1].isupper() else flat
    return term.rstrip("s").isupper() and len(letters) > 1 and letters in initials


def _names_stated(terms: list[str], sources: list[Source]) -> list[str]:
    text = spelled_to_digits(" ".join(f"{s.title} {s.text}" for s in sources))
    words = _words(text)
    initials = "".join(w[0] for w in _INITIAL.findall(text.lower()))
    return [t for t in terms if _stated(t, words, initials)]


def unstated_premise(draft: Draft) -> list[str]:
    """The question's names and numbers that the draft repeats and its cited sources lack."""
    terms = marked_terms(draft.question)
    stated = _names_stated(terms, cited_sources(draft.text, draft.sources) or draft.sources)
    said = _words(strip_citations(draft.text))
    return [t for t in terms if _flat(t) in said and t not in stated]


def unbound_sources(draft: Draft) -> list[Source]:
    """Cited sources that state none of the question's names while another cited source
    does: the draft adds a fact of another paper to the one asked about."""
    terms = marked_terms(draft.question)
    cited = cited_sources(draft.text, draft.sources)
    if not terms or len(cited) < 2:
        return []
    named = [bool(_names_stated(terms, [s])) for s in cited]
    return [s for s, n in zip(cited, named, strict=True) if not n] if any(named) else []


class PremiseCheck:
    """Withholds a draft that repeats a name or number of the question which no cited
    source states (module docstring)."""

    name = "premise"

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if draft.scaffold or draft.shape not in CHECKED_SHAPES:
            return None
        if _NEGATION.search(strip_citations(draft.text)):
            return None
        missing = unstated_premise(draft)
        if missing:
            named = ", ".join(f'"{t}"' for t in missing)
            return Verdict(self.name, "the draft answer was withheld: the question assumes "
                                      f"{named}, which its sources do not state")  # fmt: skip
        others = unbound_sources(draft)
        if others:
            marks = ", ".join(f"[{s.rank}]" for s in others)
            return Verdict(self.name, f"the draft answer was withheld: it cites {marks}, a "
                                      "paper other than the one the question names")  # fmt: skip
        return None
