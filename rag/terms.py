"""Word-level helpers shared by the abstention and citation checks."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[-.'][a-z0-9]+)*")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CITATION = re.compile(r"\[\d+[^\]]*\]")
_GENERIC = {
    "paper", "papers", "work", "study", "studies", "model", "models", "method", "methods",
    "propose", "proposed", "approach", "use", "used", "using", "source", "sources", "based",
    "also", "new", "show", "shows", "can", "tell", "me", "about", "llm", "llms", "language",
    "large", "context",
}  # fmt: skip


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    # NLTK's English list, shipped inside llama-index-core (no download).
    from llama_index.core.utils import globals_helper

    return frozenset(globals_helper.stopwords) | _GENERIC


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def strip_citations(text: str) -> str:
    """Text without [n] markers."""
    return _CITATION.sub(" ", text)


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset[str]:
    return frozenset(_stemmer().stemWords(sorted(_GENERIC)))


def content_terms(text: str) -> set[str]:
    """Stemmed, lower-cased words that carry meaning (no stop-words, no generic words)."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop and len(w) > 1]
    return set(_stemmer().stemWords(words)) - _generic_stems()


_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "twice": "2"}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)


# A number that stands for a quantity: not part of a name like "GPT-2", "3D" or "Llama2-7b".
_QUANTITY = re.compile(
    r"(?<![\w-])\d+(?:[.,]\d+)*(?:%|x|[KMBT]\b)?(?![\w-])|\b(?:"
    + "|".join(w for w in _NUMBER_WORDS if w != "zero")
    + r")\b",
    re.IGNORECASE,
)


def has_quantity(text: str) -> bool:
    """Does the text state a quantity (a stand-alone number or a number word)?"""
    return bool(_QUANTITY.search(text))


def numbers_in(text: str) -> set[str]:
    """Numbers, digits or words ("twelve" -> "12"), without thousands separators."""
    found = {n.replace(",", "") for n in NUMBER.findall(text)}
    return found | {_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text)}
