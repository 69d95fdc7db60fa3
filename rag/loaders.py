"""Read abstracts from text files (three layouts), JSONL (arXiv's metadata included), CSV,
BibTeX, or folders of those.

Hand-written because llama-index's readers treat a file as one document, while the
shipped corpus holds many abstracts per file in three different layouts. JSON and CSV
records may carry bibliographic columns (rag/metadata.py); BibTeX goes through
bibtexparser (rag/bibtex.py).
Every problem raises :class:`RagError` naming the file (and line) before anything is indexed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rag.documents import Paper, deduplicate, make_paper
from rag.errors import RagError
from rag.metadata import meta_from_record

SUPPORTED_SUFFIXES = (".txt", ".jsonl", ".csv", ".bib")
TEXT_KEYS = ("abstract", "text", "content", "summary")
TITLE_KEYS = ("title", "name")
MIN_ABSTRACT_CHARS = 200
MAX_TITLE_CHARS = 300
ABSTRACT_PREFIX = "abstract:"
TITLE_PREFIX = "title:"
DEFAULT_CORPUS = Path(__file__).parent / "corpus"


def read_text(path: Path) -> str:
    """Read a UTF-8 file (BOM tolerated) or explain in one line why it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RagError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:8192]:
        raise RagError(f"{path} looks like a binary file: give a UTF-8 .txt, .jsonl or .csv file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RagError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start}); re-save the file as UTF-8"
        ) from None


def _paragraphs(text: str) -> list[str]:
    """Split into paragraphs: blank-line blocks; a block of long lines is one paragraph a line."""
    paragraphs: list[str] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.strip():
            block.append(line.strip())
            continue
        if not block:
            continue
        one_per_line = len(block) > 1 and all(
            len(ln) >= MIN_ABSTRACT_CHARS or ln.lower().startswith(ABSTRACT_PREFIX) for ln in block
        )
        paragraphs.extend(block if one_per_line else [" ".join(block)])
        block = []
    return paragraphs


def parse_text_layout(text: str, source: str) -> list[Paper]:
    """Parse one text file in any of the corpus layouts.

    - ``Abstract:`` lines, one abstract per line;
    - bare abstract lines, one per line;
    - a listing page: page chrome, then title paragraphs each followed by an abstract paragraph;
    - a single (possibly hard-wrapped) abstract, optionally under a title line.
    """
    papers: list[Paper] = []
    pending_title: str | None = None
    for para in _paragraphs(text):
        lowered = para.lower()
        if lowered.startswith(TITLE_PREFIX):
            pending_title = para[len(TITLE_PREFIX) :].strip()
            continue
        is_marked = lowered.startswith(ABSTRACT_PREFIX)
        body = para[len(ABSTRACT_PREFIX) :].strip() if is_marked else para
        if is_marked or len(body) >= MIN_ABSTRACT_CHARS:
            if body:
                papers.append(make_paper(body, pending_title, source))
            pending_title = None
        else:
            # A short paragraph is a title if an abstract follows it, else page chrome.
            pending_title = para if len(para) <= MAX_TITLE_CHARS else None
    if not papers and text.strip():
        # A short note in its own file is still the user's document.
        papers.append(make_paper(text, None, source))
    return papers


def _pick(record: dict, keys: Iterable[str]) -> str | None:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def iter_jsonl(
    text: str | Iterable[str], source: str, skipped: list[str] | None = None
) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a text or of lines read one
    at a time; a bad line is a one-line error.

    With ``skipped`` (a list), a bad line's error is appended to it and reading goes on.
    """
    lines = text.splitlines() if isinstance(text, str) else text
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            _fail(f"{source}:{number}: malformed JSON ({exc.msg}); fix or remove that line",
                  skipped)  # fmt: skip


def _fail(message: str, skipped: list[str] | None) -> None:
    """Raise, or record and carry on when the caller asked to skip bad records."""
    if skipped is None:
        raise RagError(message)
    skipped.append(message)


def parse_jsonl(
    text: str, source: str, skipped: list[str] | None = None, notes: list[str] | None = None
) -> list[Paper]:
    """One JSON object per line with an ``abstract``/``text`` field, an optional ``title``
    and optional bibliographic fields (arXiv's metadata records are such lines)."""
    return list(_jsonl_papers(text, source, skipped))


def _jsonl_papers(
    text: str | Iterable[str], source: str, skipped: list[str] | None
) -> Iterator[Paper]:
    for number, record in iter_jsonl(text, source, skipped):
        if not isinstance(record, dict):
            _fail(f'{source}:{number}: expected a JSON object like {{"title", "abstract"}}',
                  skipped)  # fmt: skip
            continue
        body = _pick(record, TEXT_KEYS)
        if body is None:
            _fail(f"{source}:{number}: no text field; give one of {', '.join(TEXT_KEYS)}",
                  skipped)  # fmt: skip
            continue
        yield make_paper(body, _pick(record, TITLE_KEYS), source, meta_from_record(record))


def stream_papers(
    path: Path, skipped: list[str] | None = None, notes: list[str] | None = None
) -> Iterator[Paper]:
    """The papers of one file, a JSONL file read a line at a time (an arXiv dump of
    hundreds of thousands of lines never sits in memory whole); other formats whole."""
    if path.suffix.lower() != ".jsonl":
        yield from load_file(path, skipped, notes)
        return
    source = str(path.resolve())
    with path.open("rb") as raw:
        if b"\x00" in raw.read(8192):
            raise RagError(f"{path} looks like a binary file: give a UTF-8 .jsonl file")

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            for number, raw_line in enumerate(handle, start=1):
                try:
                    yield raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise RagError(
                        f"{path}:{number}: not UTF-8 text; re-save the file as UTF-8"
                    ) from None

    yield from _jsonl_papers(lines(), source, skipped)


def parse_csv(
    text: str, source: str, skipped: list[str] | None = None, notes: list[str] | None = None
) -> list[Paper]:
    """A CSV with a header naming an ``abstract``/``text`` column, optionally ``title`` and
    bibliographic columns (authors, year, venue, doi, ...)."""
    reader = csv.DictReader(text.splitlines())
    header = [str(h).strip().lower() for h in (reader.fieldnames or [])]
    if not any(key in header for key in TEXT_KEYS):
        raise RagError(
            f"{source}:1: CSV header has no text column; name one of {', '.join(TEXT_KEYS)}"
        )
    papers: list[Paper] = []
    try:
        for record in reader:
            if None in record:  # more cells than header columns
                _fail(f"{source}:{reader.line_num}: row has more cells than the header; "
                      "quote fields that contain commas", skipped)  # fmt: skip
                continue
            body = _pick(record, TEXT_KEYS)
            if body is None:
                _fail(f"{source}:{reader.line_num}: empty text cell", skipped)
                continue
            meta = meta_from_record(record)
            papers.append(make_paper(body, _pick(record, TITLE_KEYS), source, meta))
    except csv.Error as exc:
        # The reader cannot resume after this: the rest of the file is unread either way.
        raise RagError(f"{source}:{reader.line_num}: malformed CSV ({exc})") from None
    return papers


def _parse_text(
    text: str, source: str, skipped: list[str] | None = None, notes: list[str] | None = None
) -> list[Paper]:
    return parse_text_layout(text, source)  # free text has no bad records to skip


def _parse_bibtex(
    text: str, source: str, skipped: list[str] | None = None, notes: list[str] | None = None
) -> list[Paper]:
    from rag.bibtex import parse_bibtex

    return parse_bibtex(text, source, skipped, notes)


PARSERS = {".txt": _parse_text, ".jsonl": parse_jsonl, ".csv": parse_csv, ".bib": _parse_bibtex}


def load_file(
    path: Path, skipped: list[str] | None = None, notes: list[str] | None = None
) -> list[Paper]:
    """Parse one file by its suffix.

    ``skipped``: collect bad records instead of failing. ``notes``: records left out by
    design (a BibTeX entry without an abstract) are listed there.
    """
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise RagError(
            f"{path}: unsupported file type '{path.suffix or '(none)'}'; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return parser(read_text(path), str(path.resolve()), skipped, notes)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus supported files found under named folders (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise RagError(f"{path}: folder holds no {', '.join(SUPPORTED_SUFFIXES)} files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise RagError(f"{path}: no such file or folder")
    return files


def load_papers(
    paths: Iterable[Path],
    skipped: list[str] | None = None,
    notes: list[str] | None = None,
    merges: list[str] | None = None,
) -> list[Paper]:
    """Load and de-duplicate every abstract under ``paths`` (files or folders); ``merges``
    collects what de-duplication joined (``rag.documents.deduplicate``)."""
    papers: list[Paper] = []
    for file in expand_paths(paths):
        papers.extend(load_file(file, skipped, notes))
    return deduplicate(papers, merges)


def load_default_corpus() -> list[Paper]:
    """The corpus shipped inside the package."""
    return load_papers([DEFAULT_CORPUS])
