"""Add a user's file of abstracts to the index (the UI's upload), safely.

The file is parsed where it was uploaded before anything is copied or indexed, so a bad
file changes nothing. A good one is kept under ``data_dir/uploads`` (ingest records the
file each paper came from, and a later re-ingest of that file must still find it) under a
sanitised name, so a hostile name cannot write outside that folder.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from rag.documents import deduplicate
from rag.errors import RagError
from rag.ingest import IngestReport, ingest_papers
from rag.limits import within_limits
from rag.loaders import SUPPORTED_SUFFIXES, load_file
from rag.manifest import refuse_if_damaged
from rag.settings import Settings
from rag.store import PaperStore

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A plain file name from whatever the browser sent: no folders, no dot-files."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "upload"
    return stem + suffix


def kept_path(original_name: str, settings: Settings) -> Path:
    """Where an upload of that name is kept (and re-read by a later ingest): one folder per
    collection, the default collection's being ``uploads/`` itself (as before there were
    several)."""
    folder = settings.data_dir / "uploads"
    if settings.collection != Settings.model_fields["collection"].default:
        folder = folder / "collections" / settings.collection
    return folder / safe_name(original_name)


def add_file(
    path: Path,
    original_name: str,
    settings: Settings,
    progress: bool = False,
    skip_bad: bool = False,
) -> IngestReport:
    """Check, keep and incrementally index one uploaded file of abstracts.

    With ``skip_bad``, bad records are left out and listed in the report's notes.
    """
    target = kept_path(original_name, settings)
    name, suffix = target.name, target.suffix
    if suffix not in SUPPORTED_SUFFIXES:
        raise RagError(
            f"{original_name}: unsupported file type '{suffix or '(none)'}'; "
            f"upload one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    size_mb = path.stat().st_size / 2**20
    if size_mb > settings.max_upload_mb:
        raise RagError(
            f"{original_name} is {size_mb:.0f} MB, over the {settings.max_upload_mb} MB upload "
            "limit; split it, or index it with `rag ingest FILE`"
        )
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".partial-{name}"  # keeps the suffix: it picks the parser
    tmp_name = str(tmp.resolve())  # how the parser names the file in sources and errors
    shutil.copyfile(path, tmp)
    skipped: list[str] | None = [] if skip_bad else None
    notes: list[str] = []
    merges: list[str] = []
    try:
        papers = within_limits(load_file(tmp, skipped, notes), settings, skipped)
        papers = deduplicate(papers, merges)
    except RagError as exc:
        tmp.unlink(missing_ok=True)
        raise RagError(str(exc).replace(tmp_name, original_name)) from None
    if not papers:
        tmp.unlink(missing_ok=True)
        raise RagError(f"{original_name}: no abstracts found in it")
    try:  # refused before the file is kept: a repair would not know it
        refuse_if_damaged(settings, PaperStore.open(settings, create=True).count())
    except RagError:
        tmp.unlink(missing_ok=True)
        raise
    first_upload = not target.exists()
    tmp.replace(target)
    # The papers were parsed from the temporary name; record the kept file instead.
    kept = str(target.resolve())
    for paper in papers:
        paper.sources = [kept if s == tmp_name else s for s in paper.sources]
    # A file name never uploaded before holds no indexed paper yet, so the ingest reads
    # only the incoming papers' stored versions; either way BM25 is extended, not rebuilt.
    report = ingest_papers(
        papers,
        settings,
        files=[target],
        progress=progress,
        new_files=first_upload,
        keyword_side=True,
    )
    report.notes += [
        f"skipped {s.replace(tmp_name, original_name)}" for s in [*(skipped or []), *notes]
    ] + merges
    return report
