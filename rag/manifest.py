"""What a collection should hold, written by every ingest: papers, chunks and the files
they came from (uploads included).

Chroma is the truth about what *is* indexed; the manifest says what *should* be, so a
lost or emptied Chroma file is seen as damage (with the way to repair it) rather than as
a first start that quietly re-indexes the shipped corpus alone. ``rag repair`` re-reads
every file it names (rag/repair.py).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings


@dataclass
class Manifest:
    """One collection's expected content."""

    collection: str
    papers: int = 0
    chunks: int = 0
    files: list[str] = field(default_factory=list)  # absolute paths, sorted
    written: str = ""  # local time of the ingest that wrote it
    complete: bool = True  # False while an ingest is writing (or after one was killed)


def read_manifest(settings: Settings) -> Manifest | None:
    """The collection's manifest, or None when no ingest has written one."""
    try:
        data = json.loads(settings.manifest_path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        raise RagError(
            f"cannot read {settings.manifest_path}; delete it, then run `rag ingest` with "
            "every file the index should hold"
        ) from None


def write_manifest(settings: Settings, manifest: Manifest) -> None:
    """Replace the manifest atomically (a crash leaves the old one or the new one)."""
    path = settings.manifest_path
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.files = sorted(set(manifest.files))
    manifest.written = time.strftime("%Y-%m-%d %H:%M:%S")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    tmp.replace(path)


def mark_writing(settings: Settings) -> None:
    """Note that an ingest is changing the collection (cleared by the next write)."""
    manifest = read_manifest(settings)
    if manifest is not None and manifest.complete:
        manifest.complete = False
        write_manifest(settings, manifest)


def damage(settings: Settings, chunks: int) -> str | None:
    """Why a collection holding ``chunks`` chunks is damaged, or None when it is not.

    Damaged: fewer chunks than the last completed ingest left (a write cut short only
    leaves a manifest marked incomplete, which the next ingest finishes).
    """
    manifest = read_manifest(settings)
    if manifest is None or not manifest.complete or chunks >= manifest.chunks:
        return None
    uploads = sum(1 for f in manifest.files if _is_upload(f, settings))
    return (
        f"the index '{settings.collection}' is damaged: it holds {chunks} chunks where the "
        f"ingest of {manifest.written} left {manifest.chunks} ({manifest.papers} papers from "
        f"{len(manifest.files)} files, {uploads} of them uploads); run `rag repair` to "
        "re-index those files"
    )


def refuse_if_damaged(settings: Settings, chunks: int) -> None:
    """Raise the one-line :func:`damage` error when the collection is damaged."""
    problem = damage(settings, chunks)
    if problem:
        raise RagError(problem)


def _is_upload(file: str, settings: Settings) -> bool:
    return Path(file).is_relative_to(settings.data_dir.resolve() / "uploads")
