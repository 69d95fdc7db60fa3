"""Filters on paper metadata (year range, author, venue, category), as Chroma ``where`` clauses.

One definition serves both retrievers: dense search passes the clause to Chroma, so its
top-k is the top-k within the filter; BM25 asks Chroma which papers match and masks the
rest out before ranking (rag/keyword.py). Case and accents are ignored throughout.

Chroma matches a list element exactly and has no substring test on metadata, so each
chunk stores its paper's folded author names, venue words and categories as lists
(:func:`search_keys`). An author filter is a substring test ("mül" finds Müller; "ana
lima" finds "Lima, Ana": every typed word inside the name): it is run in Python over the
collection's distinct author names (kept beside BM25, rag/keyword.py), and the names
that pass become exact Chroma matches. Venue and category match whole words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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
        "author_names": sorted({author_name(name) for name in meta.authors}),
        "venue_keys": sorted(set(fold(meta.venue))),
        "category_keys": sorted({c.lower() for c in meta.categories}),
    }
    return {k: v for k, v in keys.items() if v}  # Chroma refuses an empty list


def author_name(name: str) -> str:
    """An author's name as filters compare it: "Müller, Jörg" -> "muller jorg"."""
    return " ".join(fold(name))


def matching_names(typed: str, names: Iterable[str], limit: int) -> list[str]:
    """The author names holding every typed word as a substring; a RagError when none does,
    or more than ``limit`` do (a typed fragment too short to say whom it means)."""
    words = fold(typed)
    found = [name for name in names if all(word in name for word in words)]
    if not found:
        raise RagError(
            f"no indexed paper matches the filter (author {typed.strip()}): no author's name "
            "contains that; check the spelling (case and accents are ignored)"
        )
    if len(found) > limit:
        raise RagError(
            f"the author filter '{typed.strip()}' matches {len(found)} names; type more of it"
        )
    return found


def parse_years(text: str) -> tuple[int | None, int | None]:
    """A year range as typed: "2021", "2019-2021", "2021-" (from), "-2020" (until)."""
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


def chroma_where(
    paper_filter: PaperFilter | None, author_names: Iterable[str] = (), limit: int = 300
) -> dict | None:
    """The Chroma ``where`` clause of a filter; None when it filters nothing.

    ``author_names``: the collection's distinct author names (:func:`author_name` form),
    which an author filter is matched against (at most ``limit`` of them may match).
    """
    if paper_filter is None:
        return None
    clauses: list[dict] = []
    if paper_filter.year_from is not None:
        clauses.append({"year": {"$gte": paper_filter.year_from}})
    if paper_filter.year_to is not None:
        clauses.append({"year": {"$lte": paper_filter.year_to}})
    if paper_filter.author.strip():
        names = matching_names(paper_filter.author, author_names, limit)
        either = [{"author_names": {"$contains": name}} for name in names]
        clauses.append(either[0] if len(either) == 1 else {"$or": either})
    clauses += [{"venue_keys": {"$contains": word}} for word in fold(paper_filter.venue)]
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
