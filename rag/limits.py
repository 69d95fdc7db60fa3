"""Storage limits on what one record may put in the index.

An abstract is a paragraph; a record of a megabyte is a whole paper pasted in or a broken
file, and would take a large share of the index and of every answer's context. Such a
record is refused by name before anything is written (or listed and left out, with
``--skip-bad``), so an upload within the size limit cannot fill the disk.
"""

from __future__ import annotations

from pathlib import Path

from rag.documents import Paper
from rag.errors import RagError
from rag.settings import Settings


def within_limits(
    papers: list[Paper], settings: Settings, skipped: list[str] | None = None
) -> list[Paper]:
    """``papers`` whose abstracts fit ``max_abstract_chars``.

    A longer one raises a one-line error naming it, or is left out and described in
    ``skipped`` when that list is given. (The chunk cap, ``max_chunks_per_paper``, is
    checked where papers are split: rag/chunking.py.)
    """
    limit = settings.max_abstract_chars
    kept: list[Paper] = []
    for paper in papers:
        if len(paper.text) <= limit:
            kept.append(paper)
            continue
        where = Path(paper.sources[0]).name if paper.sources else "a record"
        problem = (
            f"{where}: '{paper.title[:80]}' has an abstract of {len(paper.text):,} characters, "
            f"over the limit of {limit:,} (RAG_MAX_ABSTRACT_CHARS); index its abstract "
            "alone, or raise the limit"
        )
        if skipped is None:
            raise RagError(problem)
        skipped.append(problem)
    return kept
