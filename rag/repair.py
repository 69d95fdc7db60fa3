"""``rag repair``: re-index every file a collection's manifest names, uploads included.

After the Chroma file was emptied, truncated or lost, a plain ``rag ingest`` would sync
only the files it is given (the shipped corpus by default), and the uploads' papers would
be gone for good; this re-reads all of them and says what came back and what could not.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError
from rag.ingest import IngestReport, ingest_papers
from rag.limits import within_limits
from rag.lock import writer_lock
from rag.manifest import read_manifest
from rag.settings import Settings
from rag.store import PaperStore


@dataclass
class RepairReport:
    """What a repair re-read and restored."""

    expected_papers: int
    files: list[str]
    missing_files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    orphans_removed: int = 0
    ingest: IngestReport = field(default_factory=IngestReport)

    def summary(self) -> str:
        """Lines for the CLI: what was restored, and anything that could not be."""
        got = self.ingest.total_papers
        lines = [
            f"re-read {len(self.files)} file(s); restored {self.ingest.added} paper(s), "
            f"re-wrote {self.ingest.updated}; the index holds {got} papers "
            f"(the manifest lists {self.expected_papers})"
        ]
        lines += [f"missing file, its papers not restored: {f}" for f in self.missing_files]
        lines += [f"skipped {s}" for s in self.skipped]
        if self.orphans_removed:
            lines.append(f"removed {self.orphans_removed} orphan vector folder(s) of the old index")
        if got < self.expected_papers:
            lost = self.expected_papers - got
            lines.append(f"warning: {lost} paper(s) of the manifest are not back; restore "
                         "the files above and run `rag repair` again")  # fmt: skip
        return "\n".join(lines)


def repair(settings: Settings, progress: bool = True) -> RepairReport:
    """Re-index the manifest's files into the collection (see module docstring)."""
    from rag.loaders import load_papers

    with writer_lock(settings):
        manifest = read_manifest(settings)
        if manifest is None:
            raise RagError(
                f"no manifest for '{settings.collection}' in {settings.data_dir}: nothing "
                "records what it held; run `rag ingest FILES...` with your files"
            )
        present = [f for f in manifest.files if Path(f).is_file()]
        report = RepairReport(
            manifest.papers, present, [f for f in manifest.files if f not in present]
        )
        if not present:
            raise RagError("none of the files the manifest names exists any more: "
                           + ", ".join(manifest.files[:3]))  # fmt: skip
        report.orphans_removed = remove_orphan_segments(settings)
        # Records refused since (a lower limit) are listed rather than failing the repair.
        papers = load_papers([Path(f) for f in present], report.skipped)
        papers = within_limits(papers, settings, report.skipped)
        report.ingest = ingest_papers(
            papers,
            settings,
            files=[Path(f) for f in present],
            prune=not report.missing_files,  # a missing file's papers stay if still indexed
            progress=progress,
            repairing=True,
        )
        PaperStore.open(settings)  # the repaired index must now open without complaint
        return report


def remove_orphan_segments(settings: Settings) -> int:
    """Delete vector folders no Chroma segment owns (left when chroma.sqlite3 was lost or
    emptied); embedded Chroma only. Returns how many were removed.

    Chroma has no call for this: it never expects its database to lose segments. A folder
    counts as an orphan only when its name is a segment id (a UUID) and the database,
    which must list segments, does not list it.
    """
    if settings.chroma_host:
        return 0
    folder = settings.chroma_dir
    database = folder / "chroma.sqlite3"
    if not database.is_file():
        return 0
    PaperStore.open(settings, create=True)  # a 0-byte file gets Chroma's tables first
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as con:
            owned = {row[0] for row in con.execute("SELECT id FROM segments")}
    except sqlite3.Error:
        return 0
    removed = 0
    for child in folder.iterdir():
        if child.is_dir() and _is_uuid(child.name) and child.name not in owned:
            shutil.rmtree(child)
            removed += 1
    return removed


def _is_uuid(name: str) -> bool:
    import uuid

    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False
