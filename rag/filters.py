"""Filters on paper metadata (year range, author, venue, category), as Chroma ``where`` clauses.

One definition serves both retrievers: dense search passes the clause to Chroma, so its
top-k is the top-k within the filter; BM25 asks Chroma which papers match and masks the
rest out before ranking (rag/keyword.py). Author, venue and category are matched on
words, ignoring case and accents ("muller" finds Müller; "van der berg" needs all three
words): Chroma matches a list element exactly, not a substring, so each chunk stores the
folded words of its paper's fields (:func:`search_keys`).
"""

from __future__ import annotations

import re
import unicodedata

from rag.errors import RagError
from rag.types import PaperFilter, PaperMeta

_WORD = re.compile(r"[\w.-]+")
# Letters Unicode does not decompose into a base letter and an accent.
_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe",
                          "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th",
                          "ı": "i"})  # fmt: skip


def fold(text: str) -> list[str]:
    """Lower-case words without accents: "Müller, Jörg" -> ["muller", "jorg"]."""
    plain = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return [w.strip(".-") for w in _WORD.findall(plain) if w.strip(".-")]


def search_keys(meta: PaperMeta) -> dict[str, list[str]]:
    """The list-valued metadata a chunk carries so filters can match its paper's words."""
    keys = {
        "author_keys": sorted({w for name in meta.authors for w in fold(name)}),
        "venue_keys": sorted(set(fold(meta.venue))),
        "category_keys": sorted({c.lower() for c in meta.categories}),
    }
    return {k: v for k, v in keys.items() if v}  # Chroma refuses an empty list


def parse_years(text: str) -> tuple[int | None, int | None]:
    """A year range as typed: "2021", "2017-2019", "2021-" (from), "-2018" (until)."""
    match = re.fullmatch(r"\s*(\d{4})?\s*(-|–|\.\.)?\s*(\d{4})?\s*", text or "")
    if not match or not (match.group(1) or match.group(3)):
        raise RagError(f"year filter '{text}': give YEAR, FROM-TO, FROM- or -TO (e.g. 2021-)")
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(3)) if match.group(3) else None
    if not match.group(2):
        end = start
    if start and end and start > end:
        raise RagError(f"year filter '{text}': the range ends before it starts")
    return start, end


def chroma_where(paper_filter: PaperFilter | None) -> dict | None:
    """The Chroma ``where`` clause of a filter; None when it filters nothing."""
    if paper_filter is None:
        return None
    clauses: list[dict] = []
    if paper_filter.year_from is not None:
        clauses.append({"year": {"$gte": paper_filter.year_from}})
    if paper_filter.year_to is not None:
        clauses.append({"year": {"$lte": paper_filter.year_to}})
    for key, text in (("author_keys", paper_filter.author), ("venue_keys", paper_filter.venue)):
        clauses += [{key: {"$contains": word}} for word in fold(text)]
    if paper_filter.category.strip():
        clauses.append({"category_keys": {"$contains": paper_filter.category.strip().lower()}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def combine(*clauses: dict | None) -> dict | None:
    """Several ``where`` clauses, all required (None ones left out)."""
    kept = [c for c in clauses if c]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else {"$and": kept}
