"""One writer at a time per data folder: ingests, uploads and repairs take turns.

Two ingests writing at once each planned from what they read before the other wrote, so
both printed a wrong total (and one could drop the other's papers from BM25). The lock is
a file lock (``filelock``: released by the OS when its holder dies, so a killed ingest
leaves no stale lock) plus an in-process lock for the UI's upload threads; it is
re-entrant, so a streamed ingest holds it over all its slices. With a Chroma server, it
orders the writers of one host's data folder only.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from rag.errors import RagError
from rag.settings import Settings

log = logging.getLogger(__name__)

_threads = threading.RLock()  # the app's own threads queue here
_depth = 0  # how deep this process is inside writer_lock (re-entry holds it already)


@contextmanager
def writer_lock(settings: Settings) -> Iterator[None]:
    """Hold the data folder's writer lock, waiting up to ``ingest_lock_wait_s`` for
    another writer; then a one-line error naming that writer's pid."""
    global _depth
    wait = settings.ingest_lock_wait_s
    if not _threads.acquire(timeout=wait):
        raise RagError(_busy(settings, wait, "another upload in this app"))
    try:
        if _depth:
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(settings.data_dir / "ingest.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.warning("another ingest is running (pid %s); waiting for it", _holder(settings))
            try:
                lock.acquire(timeout=wait)
            except Timeout:
                raise RagError(_busy(settings, wait, f"pid {_holder(settings)}")) from None
        try:
            (settings.data_dir / "ingest.pid").write_text(str(os.getpid()))
            _depth = 1
            yield
        finally:
            _depth = 0
            lock.release()
    finally:
        _threads.release()


def _holder(settings: Settings) -> str:
    try:
        return (settings.data_dir / "ingest.pid").read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _busy(settings: Settings, wait: float, who: str) -> str:
    return (
        f"another ingest is running ({who}) on {settings.data_dir} and did not finish within "
        f"{wait:.0f} s (RAG_INGEST_LOCK_WAIT_S); try again when it is done"
    )
