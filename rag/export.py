"""Answers out: a conversation as Markdown with references, cited papers as BibTeX.

BibTeX is written by bibtexparser (the parser the imports use), LaTeX-encoded, so that
braces, ``%`` and accents in an abstract survive; reading the file back with the same
parser gives the cited papers again. Keys follow the common ``surnameYEARword`` form
(``muller2022tessellate``), made unique with a letter. A paper with no bibliographic
fields exports with what is known: its title and abstract.
"""

from __future__ import annotations

import re

from rag.filters import fold
from rag.types import Answer, Citation, PaperMeta

_SKIP_WORDS = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "towards",
               "toward", "is", "are", "from", "by", "via", "at"}  # fmt: skip
_CONFERENCE = re.compile(r"proc|conference|workshop|symposium|meeting", re.IGNORECASE)


def citation_key(meta: PaperMeta, title: str, taken: set[str]) -> str:
    """``surnameYEARword``, ASCII, unique among ``taken`` (which it joins)."""
    surname = "".join(fold(meta.surnames()[0])) if meta.authors else ""
    word = next((w for w in fold(title) if w not in _SKIP_WORDS and w.isalpha()), "paper")
    base = re.sub(r"[^a-z0-9]", "", f"{surname or 'anon'}{meta.year or ''}{word}")
    key, suffix = base, 0
    while key in taken:
        key = base + "abcdefghijklmnopqrstuvwxyz"[suffix % 26] * (suffix // 26 + 1)
        suffix += 1
    taken.add(key)
    return key


def _entry_type(meta: PaperMeta) -> str:
    if meta.venue:
        return "inproceedings" if _CONFERENCE.search(meta.venue) else "article"
    return "misc"


def _unique(citations: list[Citation]) -> list[Citation]:
    seen: dict[str, Citation] = {}
    for citation in citations:
        seen.setdefault(citation.doc_id, citation)
    return list(seen.values())


def bibtex(citations: list[Citation]) -> str:
    """The cited papers (each once) as BibTeX entries."""
    import bibtexparser
    from bibtexparser import middlewares
    from bibtexparser.library import Library
    from bibtexparser.model import Entry, Field

    library, taken = Library(), set()
    for paper in _unique(citations):
        meta = paper.meta
        fields = [Field("title", paper.title)]
        if meta.authors:
            fields.append(Field("author", " and ".join(meta.authors)))
        if meta.year:
            fields.append(Field("year", str(meta.year)))
        if meta.venue:
            venue_field = "booktitle" if _entry_type(meta) == "inproceedings" else "journal"
            fields.append(Field(venue_field, meta.venue))
        if meta.doi:
            fields.append(Field("doi", meta.doi))
        if meta.arxiv_id:
            fields += [Field("eprint", meta.arxiv_id), Field("archiveprefix", "arXiv")]
        if meta.url:
            fields.append(Field("url", meta.url))
        if meta.categories:
            fields.append(Field("keywords", ", ".join(meta.categories)))
        fields.append(Field("abstract", paper.text))
        key = citation_key(meta, paper.title, taken)
        library.add(Entry(_entry_type(meta), key, fields))
    return bibtexparser.write_string(
        library, prepend_middleware=[middlewares.LatexEncodingMiddleware()]
    )


def reference(citation: Citation) -> str:
    """One reference-list line: "Müller, J., Lima, A. (2022). Title. Venue. doi:…"."""
    meta = citation.meta
    authors = ", ".join(_initials(name) for name in meta.authors)
    parts = [authors] if authors else []
    if meta.year:
        parts.append(f"({meta.year})")
    head = " ".join(parts)
    bits = [f"{head}. {citation.title}." if head else f"{citation.title}."]
    if meta.venue:
        bits.append(f"*{meta.venue}*.")
    if meta.doi:
        bits.append(f"https://doi.org/{meta.doi}")
    elif meta.arxiv_id:
        bits.append(f"arXiv:{meta.arxiv_id}")
    elif meta.url:
        bits.append(meta.url)
    return " ".join(bits)


def _initials(name: str) -> str:
    last, _, first = name.partition(",")
    letters = " ".join(f"{part[0]}." for part in first.split() if part[:1].isalpha())
    return f"{last.strip()}, {letters}" if letters else last.strip()


def markdown(answers: list[Answer]) -> str:
    """A conversation: each question, its answer with [n] markers, and its references."""
    out = ["# Conversation with the research-paper assistant", ""]
    for answer in answers:
        out += [f"## {answer.question}", ""]
        if answer.abstained:
            out += [f"*Not answered: {answer.abstain_reason or 'the sources do not say'}.*", ""]
            continue
        out += [answer.answer, ""]
        if answer.citations:
            out += ["References:", ""]
            for citation in sorted(_unique(answer.citations), key=lambda c: c.n):
                out.append(f"- [{citation.n}] {reference(citation)}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def cited(answers: list[Answer]) -> list[Citation]:
    """Every paper the answers cite, in order of first citation."""
    return _unique([c for answer in answers for c in answer.citations])
