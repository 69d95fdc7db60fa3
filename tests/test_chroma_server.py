"""Server mode: a real `chroma run` (the chromadb package's own server) on 127.0.0.1.

The same code as embedded mode; only settings (host/port) differ. This is what
docker-compose.yml runs, tested without Docker.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.ingest import ingest_papers
from rag.loaders import DEFAULT_CORPUS, load_papers
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.store import PaperStore
from tests.conftest import ROOT, free_port, subprocess_env

CORPUS_FILE = DEFAULT_CORPUS / "003_535fba0258fcfec2.txt"  # one small file of the corpus


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Chroma server process with its own data folder."""
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not start: {(folder / 'server.log').read_text()}")
                time.sleep(0.5)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _server_settings(port: int, data_dir: Path) -> Settings:
    return Settings.load(chroma_host="127.0.0.1", chroma_port=port, data_dir=data_dir)


def test_ingest_and_search_against_the_server(chroma_port: int, tmp_path: Path) -> None:
    settings = _server_settings(chroma_port, tmp_path)
    papers = load_papers([CORPUS_FILE])
    report = ingest_papers(papers, settings, files=[CORPUS_FILE], progress=False)
    assert report.added == len(papers) and report.total_papers == len(papers)
    assert not settings.chroma_dir.exists()  # nothing embedded on disk: it is in the server

    again = ingest_papers(papers, settings, files=[CORPUS_FILE], progress=False)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(papers))
    store = PaperStore.open(settings)
    assert len(store.stored_papers()) == store.count_papers() == len(papers)

    target = papers[3]
    sources = HybridRetriever(settings).search(target.text[:200])
    assert sources[0].doc_id == target.doc_id


def test_a_second_app_process_uses_the_same_server(chroma_port: int, tmp_path: Path) -> None:
    settings = _server_settings(chroma_port, tmp_path / "writer")
    papers = load_papers([CORPUS_FILE])
    ingest_papers(papers, settings, files=[CORPUS_FILE], progress=False)
    env = subprocess_env(
        RAG_CHROMA_HOST="127.0.0.1",
        RAG_CHROMA_PORT=str(chroma_port),
        RAG_DATA_DIR=str(tmp_path / "reader"),  # its own (empty) BM25 folder
    )
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "search", papers[0].title, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert papers[0].doc_id in result.stdout


def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    settings = _server_settings(free_port(), tmp_path)
    with pytest.raises(RagError, match="cannot reach the Chroma server"):
        PaperStore.open(settings)


def test_filters_keep_top_k_within_the_filter_on_a_server(chroma_port: int, tmp_path: Path) -> None:
    from tests.test_filters import check_filtered_retrieval, index_papers

    settings = index_papers(
        tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_port, collection="filters"
    )
    check_filtered_retrieval(settings)
