"""Shared fixtures: a real index of the shipped corpus, built once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.ingest import ingest_papers
from rag.loaders import DEFAULT_CORPUS, expand_paths, load_default_corpus
from rag.settings import Settings

SMALL_GENERATOR = "smollm2-135m"


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
    settings = make_settings(data_dir, generator=SMALL_GENERATOR)
    ingest_papers(
        load_default_corpus(), settings, files=expand_paths([DEFAULT_CORPUS]), progress=False
    )
    return settings


@pytest.fixture(scope="session")
def assistant(corpus_settings: Settings):
    """An assistant over the corpus index with the small real generator."""
    from rag.pipeline import Assistant

    return Assistant(corpus_settings)
