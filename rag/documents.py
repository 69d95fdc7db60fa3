"""The unit the assistant cites: one paper abstract, with a stable content-derived id."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

from rag.types import PaperMeta

_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
DERIVED_TITLE_CHARS = 90


def normalise_text(text: str) -> str:
    """Unicode-normalised, lower-cased, whitespace-collapsed text (what the id is made from)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


_LATEX_COMMAND = re.compile(r"\\(?:textbf|textit|texttt|emph|url|mathrm|text)\{([^{}]*)\}")
_LATEX_ESCAPE = re.compile(r"\\([%&$#_])")


def clean_text(text: str) -> str:
    """Display form: NFKC, single spaces, LaTeX formatting (\\textbf{L}, \\%) unwrapped."""
    text = _LATEX_ESCAPE.sub(r"\1", _LATEX_COMMAND.sub(r"\1", text))
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def document_id(text: str) -> str:
    """Stable id of an abstract: the same text in two files gives the same id."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]


def derive_title(text: str) -> str:
    """A stand-in title (first sentence, shortened) for layouts that carry none."""
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(first) <= DERIVED_TITLE_CHARS:
        return first.rstrip(".")
    return first[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


@dataclass
class Paper:
    """One abstract after loading and de-duplication."""

    text: str
    title: str
    sources: list[str] = field(default_factory=list)
    title_is_derived: bool = False
    meta: PaperMeta = field(default_factory=PaperMeta)
    aliases: list[str] = field(default_factory=list)  # other titles its records gave it

    @property
    def doc_id(self) -> str:
        """Content-derived id (see :func:`document_id`)."""
        return document_id(self.text)

    @property
    def content_hash(self) -> str:
        """Changes when anything that is stored for the paper changes (title, text or the
        bibliographic fields; a paper without the latter hashes as before they existed)."""
        payload = f"{self.title}\x00{clean_text(self.text)}"
        if self.meta.known():
            payload += "\x00" + json.dumps(self.meta.to_dict(), sort_keys=True)
        if self.aliases:
            payload += "\x00" + "\x00".join(self.aliases)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def make_paper(text: str, title: str | None, source: str, meta: PaperMeta | None = None) -> Paper:
    """Build a paper, deriving a title when the source has none."""
    text = clean_text(text)
    title = clean_text(title) if title else ""
    meta = meta or PaperMeta()
    if title:
        return Paper(text=text, title=title, sources=[source], meta=meta)
    return Paper(
        text=text, title=derive_title(text), sources=[source], title_is_derived=True, meta=meta
    )


def _identifiers(paper: Paper) -> list[str]:
    """Keys under which two records are the same paper: its text, DOI and arXiv id."""
    keys = [paper.doc_id]
    if paper.meta.doi:
        keys.append("doi:" + paper.meta.doi)
    if paper.meta.arxiv_id:
        keys.append("arxiv:" + paper.meta.arxiv_id)
    return keys


def add_alias(paper: Paper, title: str) -> None:
    """Keep ``title`` as another name of ``paper`` unless it is the same title."""
    known = {t.casefold() for t in [paper.title, *paper.aliases]}
    if title and title.casefold() not in known:
        paper.aliases.append(title)


def deduplicate(papers: list[Paper], merges: list[str] | None = None) -> list[Paper]:
    """Merge records of one paper (same text, DOI or arXiv id): the first record's text, a
    real title over a derived one (other real titles kept as aliases), the richer record's
    bibliographic fields, all sources.

    ``merges`` collects one note per paper whose records carried different titles
    ("3 records, 1 paper: kept title 'A'; also known as 'B', 'C'") and one line counting
    the other merged records (the same paper in several files).
    """
    merged: list[Paper] = []
    records: dict[int, int] = {}  # id(merged paper) -> records merged into it
    by_key: dict[str, Paper] = {}
    for paper in papers:
        seen = next((by_key[k] for k in _identifiers(paper) if k in by_key), None)
        if seen is None:
            seen = Paper(
                text=paper.text,
                title=paper.title,
                sources=list(paper.sources),
                title_is_derived=paper.title_is_derived,
                meta=paper.meta,
                aliases=list(paper.aliases),
            )
            merged.append(seen)
        else:
            if seen.title_is_derived and not paper.title_is_derived:
                seen.title, seen.title_is_derived = paper.title, False
            elif not paper.title_is_derived:
                add_alias(seen, paper.title)
            for alias in paper.aliases:
                add_alias(seen, alias)
            seen.sources.extend(s for s in paper.sources if s not in seen.sources)
            seen.meta = seen.meta.merged_with(paper.meta)
        records[id(seen)] = records.get(id(seen), 0) + 1
        for key in _identifiers(paper) + _identifiers(seen):
            by_key.setdefault(key, seen)
    if merges is not None:
        quiet = 0
        for paper in merged:
            count = records[id(paper)]
            if count > 1 and paper.aliases:
                merges.append(merge_note(count, paper))
            elif count > 1:
                quiet += count - 1
        if quiet:
            merges.append(f"{quiet} more duplicate record(s) merged into the paper they repeat "
                          "(same text, DOI or arXiv id, same title)")  # fmt: skip
    return merged


def merge_note(records: int, paper: Paper) -> str:
    """ "3 records, 1 paper: kept title 'A'; also known as 'B', 'C'"."""
    known = ", ".join(f"'{a}'" for a in paper.aliases)
    return f"{records} records, 1 paper: kept title '{paper.title}'; also known as {known}"
