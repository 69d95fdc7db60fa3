"""BibTeX in: a reference manager's export (Zotero, Mendeley, JabRef) as papers.

Parsed with bibtexparser (v2): it splits a file into entries even when one of them is
broken (a broken one becomes a failed block with its line, reported as ``file:line``), and
its middleware turns LaTeX accents and braces into plain Unicode and splits author lists
into name parts. Only entries with an ``abstract`` field become papers; the others are
listed as left out, with their keys, since there is nothing to search in them.
"""

from __future__ import annotations

from rag.documents import Paper, make_paper
from rag.errors import RagError
from rag.metadata import normalise_arxiv_id, normalise_doi, parse_year
from rag.types import PaperMeta

VENUE_FIELDS = ("journal", "booktitle", "publisher", "school", "institution")
CATEGORY_FIELDS = ("keywords", "primaryclass")


def _names(value: object) -> list[str]:
    """bibtexparser's name parts as "von Last, Jr, First" -> "von Last, First"."""
    names = []
    for part in value if isinstance(value, list) else []:
        last = " ".join([*getattr(part, "von", []), *getattr(part, "last", [])])
        first = " ".join(getattr(part, "first", []))
        if last or first:
            names.append(f"{last}, {first}" if first and last else (last or first))
    return names


def _text(fields: dict, key: str) -> str:
    """A field's value with single spaces (the middleware has already decoded its LaTeX)."""
    value = fields.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""


def _meta(fields: dict) -> PaperMeta:
    arxiv = ""
    prefix = _text(fields, "archiveprefix") + _text(fields, "eprinttype")
    if "arxiv" in prefix.lower():
        arxiv = normalise_arxiv_id(_text(fields, "eprint"))
    categories: list[str] = []
    for key in CATEGORY_FIELDS:
        categories += [w.strip() for w in _text(fields, key).replace(";", ",").split(",")]
    return PaperMeta(
        authors=_names(fields.get("author")),
        year=parse_year(_text(fields, "year") or _text(fields, "date")),
        venue=next((_text(fields, k) for k in VENUE_FIELDS if _text(fields, k)), ""),
        doi=normalise_doi(_text(fields, "doi")),
        arxiv_id=arxiv,
        url=_text(fields, "url"),
        categories=[c for c in dict.fromkeys(categories) if c],
    )


def parse_bibtex(
    text: str, source: str, skipped: list[str] | None = None, notes: list[str] | None = None
) -> list[Paper]:
    """Papers from the entries of a ``.bib`` file that have an abstract.

    A broken entry raises a ``file:line`` error (or, with ``skipped``, is listed there);
    an entry without an abstract is listed in ``notes`` by its key.
    """
    import bibtexparser
    from bibtexparser import middlewares

    library = bibtexparser.parse_string(
        text,
        append_middleware=[
            middlewares.LatexDecodingMiddleware(),
            middlewares.SeparateCoAuthors(),
            middlewares.SplitNameParts(),
        ],
    )
    for block in library.failed_blocks:
        line = (block.start_line or 0) + 1  # bibtexparser counts lines from 0
        first = block.raw.strip().splitlines()[0][:60] if block.raw.strip() else ""
        message = f"{source}:{line}: malformed BibTeX entry '{first}'; fix or remove it"
        if skipped is None:
            raise RagError(message)
        skipped.append(message)
    papers = []
    for entry in library.entries:
        fields = {f.key.lower(): f.value for f in entry.fields}
        abstract = _text(fields, "abstract")
        if not abstract:
            if notes is not None:
                notes.append(f"{source}:{entry.start_line + 1}: entry {entry.key} has no abstract")
            continue
        papers.append(make_paper(abstract, _text(fields, "title") or None, source, _meta(fields)))
    return papers
