"""Superlatives over the collection ("Which paper trains the biggest recogniser?"), in code.

Shown a few passages, the model names the largest number it was shown, not the largest
in the collection (issue #14: a confident wrong answer). A superlative over stated figures
is arithmetic, so it is done here: every sentence of the papers closest to the question
(``context.superlative_pool`` of them) is read for a number that measures what was asked
("recogniser" -> "a 3B recogniser", "dialects" -> "41 dialects"), the number is read
with its scale ("3B", "2.5 million", "64K"), and the extreme one is quoted with its
paper. When no abstract states such a figure, a count ("the most microphones") is
declined (``rag.pipeline``); a size or share, which an abstract may state in other words,
goes the ordinary way (the model, then the checks).

What counts as measuring the asked thing is read off words alone: the measure's last
word (or, for "model", "parameters") stands right after the number, at most two other
words between ("3B model", "9B parameters", "41 dialects", "1,350 annotated recipes"),
and is not the first half of a longer name ("12 dialect classifiers" counts no dialects).
No library does this (it is specific to comparing figures stated in abstracts).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rag.checks.quantities import asked_unit
from rag.terms import SCALE_WORDS, spelled_to_digits, split_sentences, word_stems
from rag.types import Source

_LARGEST = r"most|largest|biggest|highest|longest|greatest|widest|broadest|deepest"
_SMALLEST = r"least|fewest|smallest|tiniest|lowest|shortest"
_ASKED = re.compile(
    rf"\b(?:(?P<max>{_LARGEST})|(?P<min>{_SMALLEST}))\s+(?P<rest>[^?.,;:!]*)", re.IGNORECASE
)
# Where the measured noun phrase ends: "the largest corpus [that] ...", "most hours [of] ...".
_PHRASE_END = {
    "of", "in", "on", "for", "to", "from", "with", "by", "at", "and", "or", "that", "which",
    "who", "is", "are", "was", "were", "has", "have", "had", "does", "do", "did", "it", "they",
    "its", "their", "any", "anyone", "ever", "among", "across", "here", "overall", "than",
    "so", "yet", "how", "what", "whose", "where", "when", "why", "during", "after", "before",
    "per", "under", "over", "within", "without", "between", "into", "via", "using", "through",
    "like", "such", "one", "ones", "those", "these", "them",
}  # fmt: skip
# A unit the question names for the figure (besides "how many hours"): ", in speakers".
_IN_UNIT = re.compile(
    r"(?:,\s*|\b(?:counted|measured|given|expressed|stated)\s+)in\s+([a-z]+s)\b",
    re.IGNORECASE,
)
# Words before the noun that name no measure: "the largest number of recipes" -> "recipes".
_NOT_MEASURE = {"the", "a", "an", "number", "amount", "count", "total", "size", "scale", "of"}
# "and"/"or" inside the phrase join its words ("spoken or written dialects").
_JOINS = {"and", "or"}
_COUNTED = re.compile(r"^\s*(?:the\s+)?(?:total\s+)?number of\b", re.IGNORECASE)
# "the most X" compares; "most X" without "the" is the majority ("do most papers ...").
_MAJORITY = {"most", "least"}
_THE_BEFORE = re.compile(r"\bthe\s*$", re.IGNORECASE)
# "the most popular recogniser" grades a quality; no stated figure ranks it.
_QUALITY = {
    "common", "popular", "promising", "interesting", "important", "influential", "relevant",
    "recent", "cited", "useful", "effective", "efficient", "accurate", "successful", "novel",
    "robust", "reliable", "widely", "frequently", "often", "notable", "prominent",
    "advanced", "powerful", "capable", "famous", "comprehensive", "practical", "realistic",
}  # fmt: skip
# A model's size is stated in parameters ("a 3B model", "9B parameters"), of a million or
# more: "64K long-context models" states a context length.
_SIZE_WORDS = {"paramet", "param"}
_SAME_MEASURE = {"model": _SIZE_WORDS}  # the one thing papers size in another unit
_SIZE_FLOOR = {"model": 1e6}
_SCALES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12, **SCALE_WORDS}  # "7B", "7 billion"
_NUMBER = re.compile(
    r"(?<![\w.^-])(?P<n>\d+(?:[.,]\d+)*)(?![.,]?\d)"
    rf"(?:\s*(?P<pct>%)|(?P<suffix>[KMBT])(?!\w)|\s+(?P<word>{'|'.join(SCALE_WORDS)})\b"
    r"|(?!\w))",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:[.,]\d+)*[KMBTkmbt]?|\S")
# Between a number and its noun: more numbers of a range or list ("1B, 3B and 9B models").
_IN_A_RANGE = {"-", ",", "to", "and", "or", *SCALE_WORDS}
# After the noun, a word that ends the phrase rather than extends the name.
_ENDS_NAME = {
    "and", "or", "on", "in", "for", "from", "across", "by", "that", "which", "trained",
    "when", "while", "with", "of", "to", "at", "is", "are", "was", "were",
}  # fmt: skip
# Words that may sit between a measure named first and its number ("a vocabulary of 8K").
_BETWEEN = {
    "of", "to", "up", "is", "are", "was", "with", "at", "reaching", "about", "around", "over",
    "nearly", "roughly", "approximately", "than", "more", "a", "an", "the", "only", "just",
    ":", "(", "~",
}  # fmt: skip


@dataclass(frozen=True)
class AskedMeasure:
    """What a superlative asks to compare: "the fewest parameters" -> min of "parameters"."""

    largest: bool  # "most", "largest" ...; False for "fewest", "smallest" ...
    word: str  # the superlative as asked ("largest")
    noun: list[str]  # the measured noun phrase (["audio", "corpus"])
    units: tuple[str, ...] = ()  # a unit the question names ("how many hours")
    counted: bool = False  # "the largest number of recipes": a count, not a size

    @property
    def counts(self) -> bool:
        """ "the most microphones", "the largest number of recipes": a count of things."""
        return self.counted or _plural(self.noun[-1])

    @property
    def phrase(self) -> str:
        """ "biggest corpus"."""
        return f"{self.word} {' '.join(self.noun)}"


@dataclass(frozen=True)
class Measurement:
    """A figure a source states for the asked measure."""

    asked: AskedMeasure
    source: Source
    sentence: str  # the abstract's sentence that states it
    number: str  # as written ("2.5 million", "3B")
    value: float  # with its scale (5.3e11)
    unit: str  # the word the abstract measures it in ("parameters", "dialects")
    scaled: bool  # written with a scale ("3B", "2 million"): a size, not a count
    share: bool  # a percentage
    kind: str = ""  # the unit's stem when it is not the measure's own noun ("ms", "second")


def asked_measures(question: str) -> list[AskedMeasure]:
    """The measures a superlative question may compare, one per superlative word in it
    ("the most multilingual corpus, with the greatest number of dialects" gives two;
    the one the abstracts state figures for is taken), [] when it names none ("Which
    method is best?" compares no stated figure)."""
    named = [asked_unit(question), *(m.group(1) for m in _IN_UNIT.finditer(question))]
    units = tuple(u.lower() for u in named if u and u.isalpha())
    asked: list[AskedMeasure] = []
    for found in _ASKED.finditer(question):
        noun = _measured_noun(found.group("rest"))
        if not noun or noun[0] in _QUALITY:
            continue
        word = (found.group("max") or found.group("min")).lower()
        if word in _MAJORITY and not _THE_BEFORE.search(question[: found.start()]):
            continue
        counted = bool(_COUNTED.match(found.group("rest")))
        plural = [w for w in noun if _plural(w)]
        if counted and plural:
            noun = noun[: noun.index(plural[-1]) + 1]  # "number of recipes they compare"
        asked.append(AskedMeasure(bool(found.group("max")), word, noun, units, counted))
    return asked


def _measured_noun(rest: str) -> list[str]:
    """The noun phrase a superlative measures: "largest number of spoken dialects, ..." ->
    ["spoken", "dialects"]."""
    noun: list[str] = []
    for word in re.findall(r"[\w-]+", rest):
        lower = word.lower()
        if lower in _JOINS and noun:
            continue
        if lower in _PHRASE_END and noun:
            break
        if lower in _NOT_MEASURE or lower in _PHRASE_END:
            continue
        noun.append(lower)
        if len(noun) == 4:
            break
    while len(noun) > 1 and noun[-1].endswith("ed"):
        noun.pop()  # "the most recordings stored": what was stored is measured
    return noun


def find_extreme(measures: list[AskedMeasure], sources: list[Source]) -> list[Measurement]:
    """The figures the sources state for the first of a question's ``measures``
    (:func:`asked_measures`) they state any for, ordered from the answer down
    (:func:`extreme`); [] when there is none."""
    for asked in measures:
        found = extreme(asked, measurements(asked, sources))
        if found:
            return found
    return []


def _plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith("ss")


def _scaled(match: re.Match) -> bool:
    return bool(match.group("suffix") or match.group("word"))


def _stem(word: str) -> str:
    stems = word_stems(word)
    return next(iter(stems)) if stems else word.lower()


def measurements(asked: AskedMeasure, sources: list[Source]) -> list[Measurement]:
    """Every figure the sources' abstracts state for ``asked``, in source order."""
    modifiers = {_stem(w) for w in asked.noun[:-1]}
    head = _stem(asked.noun[-1])
    heads = {head, *(_stem(u) for u in asked.units)}
    sizes = set() if asked.counted else _SAME_MEASURE.get(head, set())
    # "the biggest kitchen" asks a size: "two kitchens" counts them, it sizes none.
    counts = asked.counts
    floor = 0.0 if asked.counted else _SIZE_FLOOR.get(head, 0.0)
    found: list[Measurement] = []
    for source in sources:
        for sentence in split_sentences(source.text):
            text = spelled_to_digits(sentence)
            for match in _NUMBER.finditer(text):
                unit = _measured_unit(text, match, heads, modifiers, sizes)
                counted_here = _plural(unit) and _stem(unit) in heads and not _scaled(match)
                if unit and counted_here and not counts:
                    unit = ""
                if unit:
                    kind = "" if _stem(unit) in heads | sizes else _stem(unit)
                    measured = _measurement(asked, source, sentence, match, unit, kind)
                    if measured is not None and not (measured.scaled and measured.value < floor):
                        found.append(measured)
    return found


def _measured_unit(
    text: str, match: re.Match, heads: set[str], modifiers: set[str], sizes: set[str]
) -> str:
    """The word by which the number at ``match`` measures the noun whose stems are
    ``heads`` (or states its size in one of ``sizes``, "parameters"); "" when it does not."""
    after = [t.lower() for t in _TOKEN.findall(text[match.end() :])[:10]]
    others = 0
    for index, token in enumerate(after):
        if token in _IN_A_RANGE or (token[0].isdigit() and not others):
            continue  # "1B, 3B and 9B models": the list's noun; not "12 sets of 40 X"
        if token[0].isdigit():
            break
        if not token.replace("-", "").isalpha():
            break
        stem = _stem(token)
        if stem in sizes or (stem in heads and stem in _SIZE_WORDS):
            return token  # "a 3B parameter recogniser": the size, whatever noun follows
        if stem in heads:
            following = after[index + 1] if index + 1 < len(after) else ""
            # "languages" in "7B language models" is the first half of a name; a verb form
            # after the noun ("recipes collected from ...") does not extend it.
            extends = (
                following.isalpha()
                and len(following) > 2
                and not following.endswith(("ed", "ing", "en", "ly"))
            )
            named = extends and following not in _ENDS_NAME and _stem(following) not in heads
            return "" if named else token
        if stem not in modifiers:
            others += 1
            if others > 2:  # "900 hand-checked cooking recipes"
                break
    # Named first: "a context window of 32K", "parameters: 7B".
    before = [t.lower() for t in _TOKEN.findall(text[: match.start()])[-5:]]
    for token in reversed(before):
        if token in _BETWEEN:
            continue
        if not (token.isalpha() and _stem(token) in heads | sizes):
            return ""
        # the figure's own unit, when it has one ("a latency of 80 ms" -> "ms")
        return next((t for t in after[:1] if t.isalpha() and t not in _ENDS_NAME), token)
    return ""


def _measurement(
    asked: AskedMeasure, source: Source, sentence: str, match: re.Match, unit: str, kind: str
) -> Measurement | None:
    digits = match.group("n").replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    scale = match.group("suffix") or match.group("word")
    if scale:
        value *= _SCALES[scale.lower()]
    elif (
        not match.group("pct")
        and not re.search(r"[.,]", match.group("n"))
        and (1900 <= value <= 2100)
    ):
        return None  # a year
    return Measurement(asked, source, sentence, match.group(0).strip(), value, unit, bool(scale),
                       bool(match.group("pct")), kind)  # fmt: skip


def _one_unit(found: list[Measurement]) -> list[Measurement]:
    """The figures stated in one unit: "a latency of 0.5 seconds" and "of 80 ms" do not
    compare as numbers. The unit most papers use is kept (on a tie, the first found's:
    the closer paper's)."""
    papers: Counter[str] = Counter()
    for kind in {m.kind for m in found}:
        papers[kind] = len({m.source.doc_id for m in found if m.kind == kind})
    if len(papers) < 2:
        return found
    order = [m.kind for m in found]
    best = max(papers, key=lambda kind: (papers[kind], -order.index(kind)))
    return [m for m in found if m.kind == best]


def extreme(asked: AskedMeasure, found: list[Measurement]) -> list[Measurement]:
    """``found`` ordered from the answer down (largest first, or smallest first).

    Figures of one kind are compared: shares only when nothing else was found, and never
    for a count ("12% of the parameters" is no model size, "40% of the heads" no number of
    heads); "the largest number of recognisers" compares counts ("14 recognisers"), not
    sizes ("3B recognisers"); sizes written with a scale ("90M", "3 billion") before bare
    counts when the smallest is asked, for "2 models" is a count of models, not a size.
    """
    kept = [m for m in found if not m.share] or ([] if _plural(asked.noun[-1]) else found)
    kept = _one_unit(kept)
    if asked.counted:
        kept = [m for m in kept if not m.scaled] or kept
    elif not asked.largest and any(m.scaled for m in kept):
        kept = [m for m in kept if m.scaled]
    return sorted(kept, key=lambda m: m.value, reverse=asked.largest)
