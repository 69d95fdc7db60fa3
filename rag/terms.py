"""Word-level helpers shared by selection, context building and the checks."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.markers import MARKER

_WORD = re.compile(r"[a-z0-9]+(?:[-.'][a-z0-9]+)*")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)*)\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)
_GENERIC = {
    "paper", "papers", "work", "study", "studies", "model", "models", "method", "methods",
    "propose", "proposed", "approach", "use", "used", "using", "source", "sources", "based",
    "also", "new", "show", "shows", "can", "tell", "me", "about", "llm", "llms", "language",
    "large", "context",
    # light verbs and answer words that restate rather than add: "X contains ...", "Yes, ..."
    "yes", "contain", "include", "introduce", "present", "describe", "call", "called", "name",
    "named", "titled",
    # the act of reporting, not what is reported: "the study found that ..."
    "find", "finds", "found", "finding", "findings", "report", "reports", "reported", "state",
    "states", "stated", "suggest", "suggests", "conclude", "concludes", "concluded", "authors",
}  # fmt: skip


@lru_cache(maxsize=1)
def _english_stopwords() -> frozenset[str]:
    # NLTK's English list, shipped inside llama-index-core (no download).
    from llama_index.core.utils import globals_helper

    return frozenset(globals_helper.stopwords)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return _english_stopwords() | _GENERIC


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def strip_citations(text: str) -> str:
    """Text without [n] markers (each replaced by a space, so words stay apart)."""
    return MARKER.sub(" ", text)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def split_sentences(text: str) -> list[str]:
    """Rough sentence split (abstracts are well punctuated)."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset[str]:
    return frozenset(_stemmer().stemWords(sorted(_GENERIC)))


def content_terms(text: str) -> set[str]:
    """Stemmed, lower-cased words that carry meaning (no stop-words, no generic words)."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop and len(w) > 1]
    return set(_stemmer().stemWords(words)) - _generic_stems()


def topic_terms(text: str) -> set[str]:
    """Like :func:`content_terms`, keeping the generic words ("model", "language", "size"):
    for telling what a sentence is about rather than what an answer adds."""
    stop = _english_stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop]
    return set(_stemmer().stemWords([w for w in words if len(w) > 1]))


def word_stems(text: str) -> set[str]:
    """Stemmed, lower-cased words, stop-words and generic words included ("languages")."""
    return set(_stemmer().stemWords(_WORD.findall(text.lower())))


_UNITS = dict(
    zero=0, one=1, two=2, three=3, four=4, five=5, six=6, seven=7, eight=8, nine=9, ten=10,
    eleven=11, twelve=12, thirteen=13, fourteen=14, fifteen=15, sixteen=16, seventeen=17,
    eighteen=18, nineteen=19,
)  # fmt: skip
_TENS = dict(twenty=20, thirty=30, forty=40, fifty=50, sixty=60, seventy=70, eighty=80, ninety=90)
# Scale words after a number ("3 million"); rag.superlatives reads values with them too.
SCALE_WORDS = {"thousand": 1_000, "million": 1_000_000, "billion": 10**9, "trillion": 10**12}
_NUMBER_WORDS = {**_UNITS, **_TENS, "hundred": 100, "twice": 2}
_SPELLED = re.compile(
    r"\b(?:"
    + "|".join(_NUMBER_WORDS | SCALE_WORDS)
    + r")(?:(?:\s+and\s+|[\s-]+)(?:"
    + "|".join(_NUMBER_WORDS | SCALE_WORDS)
    + r"))*\b",
    re.IGNORECASE,
)


def _compose(words: list[str]) -> int:
    """["two", "hundred", "twelve"] -> 212. A trailing scale word is left off, the way
    digits are read: "three million" -> 3, like "3M"."""
    while len(words) > 1 and words[-1] in SCALE_WORDS:
        words = words[:-1]
    total = current = 0
    for word in words:
        if word in SCALE_WORDS:
            total, current = total + max(current, 1) * SCALE_WORDS[word], 0
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            current += _NUMBER_WORDS[word]
    return total + current


def spelled_to_digits(text: str) -> str:
    """Text with spelled-out numbers as digits: "three hundred and eighteen Quills" -> "318 Quills",
    "three million users" -> "3 million users"; lone scale words ("millions") stay words."""

    def replace(match: re.Match) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group(0).lower()) if w != "and"]
        if all(w in SCALE_WORDS for w in words):
            return match.group(0)
        scale = words[-1] if words[-1] in SCALE_WORDS else ""
        return f"{_compose(words)} {scale}".rstrip()

    return _SPELLED.sub(replace, text)


# A number that stands for a quantity: not part of a name like "GPT-2", "3D" or "Llama2-7b".
_QUANTITY = re.compile(r"(?<![\w-])\d+(?:[.,]\d+)*(?:%|x|[KMBT]\b)?(?![\w-])", re.IGNORECASE)


def has_quantity(text: str) -> bool:
    """Does the text state a quantity (a stand-alone number or a number word)?"""
    return bool(_QUANTITY.search(spelled_to_digits(text)))


def numbers_in(text: str) -> set[str]:
    """Numbers, digits or words ("twelve" -> "12"), without thousands separators."""
    return {n.replace(",", "") for n in NUMBER.findall(spelled_to_digits(text))}


def percentages_in(text: str) -> set[str]:
    """Numbers written as shares ("12%", "12 percent") -> {"12"}, digits or words."""
    return {n.replace(",", "") for n in _PERCENT.findall(spelled_to_digits(text))}


def quantities_in(text: str) -> set[str]:
    """Like :func:`numbers_in`, but only stand-alone quantities: "34B", "four", not "Llama2-7b"."""
    return {leading_number(q) for q in _QUANTITY.findall(spelled_to_digits(text))}


def leading_number(token: str) -> str | None:
    """The number a token starts with, without thousands separators: "34B" -> "34"."""
    match = NUMBER.match(token)
    return match.group(0).replace(",", "") if match else None
