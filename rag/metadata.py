"""Bibliographic fields from a loaded record: authors, year, venue, DOI, arXiv id, URL, tags.

Records come as JSON objects or CSV rows under many spellings (``author``/``authors``,
``journal``/``venue``/``journal-ref``, arXiv's ``authors_parsed`` and ``versions``); this
module maps them onto :class:`rag.types.PaperMeta`. Hand-written: a reference manager's
export goes through a BibTeX parser (rag/bibtex.py), but a loose JSON or CSV row has no
library that knows its columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rag.types import PaperMeta

AUTHOR_KEYS = ("authors", "author", "creators")
YEAR_KEYS = ("year", "date", "published", "publication_date", "pub_date")
VENUE_KEYS = ("venue", "journal", "journal-ref", "journal_ref", "booktitle", "conference")
URL_KEYS = ("url", "link", "pdf_url")
CATEGORY_KEYS = ("categories", "keywords", "tags")
ARXIV_KEYS = ("arxiv_id", "arxiv", "eprint")

_YEAR = re.compile(r"\b(1[89]\d{2}|20\d{2})\b")
_ARXIV_NEW = re.compile(r"^\d{4}\.\d{4,5}$")
_ARXIV_OLD = re.compile(r"^[a-z-]+(?:\.[A-Z]{2})?/\d{7}$")
_VERSION = re.compile(r"v\d+$")
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le"}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def plain(text: str) -> str:
    """LaTeX accents and braces as plain Unicode (arXiv names: ``Bal\\'azs`` -> Balázs)."""
    if "\\" not in text and "{" not in text:
        return " ".join(text.split())
    from pylatexenc.latex2text import LatexNodes2Text

    text = re.sub(r"(?<!\\)%", r"\\%", text)  # a bare % is a percent sign, not a comment
    return " ".join(LatexNodes2Text().latex_to_text(text).split())


def _name(raw: str) -> str:
    """One author as "Surname, Given names" (the given names may be empty)."""
    raw = plain(raw).strip(" ,;")
    if "," in raw:
        last, first = (part.strip() for part in raw.split(",", 1))
        return f"{last}, {first}" if first else last
    tokens = raw.split()
    while len(tokens) > 1 and tokens[-1].lower() in _SUFFIXES:
        tokens.pop()
    if len(tokens) <= 1:
        return raw
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1].lower() in _PARTICLES:
        start -= 1
    return f"{' '.join(tokens[start:])}, {' '.join(tokens[:start])}"


def parse_authors(value: Any) -> list[str]:
    """Authors in "Surname, Given" form from a list (of names, of arXiv's [last, first,
    suffix] triples, of {"family", "given"} objects) or a string ("A and B", "A; B",
    "A, B and C", BibTeX's "Last, First and Last, First")."""
    if not value:
        return []
    if isinstance(value, list):
        names = []
        for item in value:
            if isinstance(item, (list, tuple)) and item:
                last, first = plain(str(item[0])), plain(str(item[1])) if len(item) > 1 else ""
                names.append(f"{last}, {first}" if first else last)
            elif isinstance(item, dict):
                family = item.get("family") or item.get("last") or ""
                given = item.get("given") or item.get("first") or ""
                full = item.get("name") or ""
                names.append(f"{plain(family)}, {plain(given)}" if family else _name(full))
            elif str(item).strip():
                names.append(_name(str(item)))
        return [n for n in names if n.strip(", ")]
    text = " ".join(str(value).split())
    if ";" in text:
        parts = text.split(";")
    elif " and " in text and all(p.count(",") == 1 for p in text.split(" and ")):
        parts = text.split(" and ")  # BibTeX order: "Last, First and Last, First"
    else:
        parts = re.split(r",\s*and\s+|\s+and\s+|,", text)
    return [_name(p) for p in parts if p.strip()]


def parse_year(value: Any) -> int | None:
    """The year in an int, "2021", "2021-05-03" or "Mon, 2 Apr 2007 19:18:42 GMT"."""
    if isinstance(value, int) and 1800 <= value <= 2100:
        return value
    match = _YEAR.search(str(value or ""))
    return int(match.group(1)) if match else None


def normalise_doi(value: str) -> str:
    """A bare, lower-case DOI ("https://doi.org/10.1/X" and "doi:10.1/X" -> "10.1/x")."""
    doi = (value.split() or [""])[0]  # arXiv records may list several
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.IGNORECASE)
    return doi.lower() if doi.startswith("10.") else ""


def normalise_arxiv_id(value: str) -> str:
    """An arXiv id without prefix or version ("arXiv:2101.00001v2" -> "2101.00001")."""
    ident = re.sub(r"^(?:arxiv:|https?://arxiv\.org/abs/)", "", value.strip(), flags=re.I)
    ident = _VERSION.sub("", ident)
    return ident if _ARXIV_NEW.match(ident) or _ARXIV_OLD.match(ident) else ""


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "")
    parts = re.split(r"[;,]", text) if re.search(r"[;,]", text) else text.split()
    return [p.strip() for p in parts if p.strip()]


def _first(record: dict, keys: Iterable[str]) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


def meta_from_record(record: dict) -> PaperMeta:
    """The bibliographic fields of a JSON object or CSV row (keys matched case-insensitively).

    An arXiv metadata record is recognised by its ``id`` beside ``authors_parsed``,
    ``versions`` or ``categories``; its year is that of its first version.
    """
    rec = {str(k).strip().lower(): v for k, v in record.items()}
    arxiv_id = normalise_arxiv_id(str(_first(rec, ARXIV_KEYS) or ""))
    is_arxiv = any(k in rec for k in ("authors_parsed", "versions", "categories"))
    if not arxiv_id and is_arxiv:
        arxiv_id = normalise_arxiv_id(str(rec.get("id") or ""))
    authors = parse_authors(rec.get("authors_parsed") or _first(rec, AUTHOR_KEYS))
    year = parse_year(_first(rec, YEAR_KEYS))
    versions = rec.get("versions")
    if year is None and isinstance(versions, list) and versions:
        first = versions[0]
        year = parse_year(first.get("created") if isinstance(first, dict) else first)
    if year is None:
        year = parse_year(rec.get("update_date"))
    url = str(_first(rec, URL_KEYS) or "").strip()
    if not url and arxiv_id:
        url = f"https://arxiv.org/abs/{arxiv_id}"
    return PaperMeta(
        authors=authors,
        year=year,
        venue=plain(str(_first(rec, VENUE_KEYS) or "")),
        doi=normalise_doi(str(rec.get("doi") or "")),
        arxiv_id=arxiv_id,
        url=url,
        categories=_words(_first(rec, CATEGORY_KEYS)),
    )
