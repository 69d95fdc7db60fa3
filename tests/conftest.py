"""Shared fixtures: a real index of the shipped corpus, built once per test session; and
helpers for tests that run the product as a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rag.ingest import ingest_papers
from rag.loaders import DEFAULT_CORPUS, expand_paths, load_default_corpus
from rag.settings import Settings

SMALL_GENERATOR = "smollm2-135m"
ROOT = Path(__file__).resolve().parents[1]


def subprocess_env(**values: str) -> dict[str, str]:
    """A child process's environment: none of the developer's RAG_* settings but the model
    cache, plus ``values``. Explicit, because module-scoped fixtures start children before
    the per-test isolation below applies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAG_") or k == "RAG_MODEL_CACHE_DIR"
    }
    env.update(values)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until ``url`` answers 200; fail with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the server did not come up in {timeout:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read a developer's own RAG_* settings (the model cache is kept)."""
    for var in list(os.environ):
        if var.startswith("RAG_") and var != "RAG_MODEL_CACHE_DIR":
            monkeypatch.delenv(var)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test index (model cache shared with set-up)."""
    return Settings.load(data_dir=data_dir, **overrides)


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at an index of the default corpus (real MiniLM, real Chroma)."""
    data_dir = tmp_path_factory.mktemp("corpus-index")
    # One engine named, so generation tests see the same model code on every machine;
    # tests/test_engines.py runs llama.cpp and the automatic choice.
    settings = make_settings(data_dir, generator=SMALL_GENERATOR, generator_engine="transformers")
    ingest_papers(
        load_default_corpus(), settings, files=expand_paths([DEFAULT_CORPUS]), progress=False
    )
    return settings


@pytest.fixture(scope="session")
def assistant(corpus_settings: Settings):
    """An assistant over the corpus index with the small real generator."""
    from rag.pipeline import Assistant

    return Assistant(corpus_settings)
