"""Settings from env vars and overrides (rag.settings): flat names, and unsetting a floor."""

from __future__ import annotations

import pytest

from rag.errors import RagError
from rag.settings import Settings


def test_a_grouped_setting_is_set_by_its_flat_env_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_MIN_SENTENCE_RELEVANCE", "0.42")
    assert Settings.load().context.min_sentence_relevance == 0.42
    # An explicit override wins over the environment.
    assert Settings.load(min_sentence_relevance="0.5").context.min_sentence_relevance == 0.5


@pytest.mark.parametrize("word", ["none", "None", "off", " OFF "])
def test_none_or_off_unsets_an_optional_threshold(
    monkeypatch: pytest.MonkeyPatch, word: str
) -> None:
    assert Settings.load().context.min_sentence_relevance is not None
    monkeypatch.setenv("RAG_MIN_SENTENCE_RELEVANCE", word)
    assert Settings.load().context.min_sentence_relevance is None
    assert Settings.load(min_answer_margin=word).checks.min_answer_margin is None


def test_a_required_threshold_cannot_be_unset() -> None:
    with pytest.raises(RagError, match="RAG_MIN_RELEVANCE"):
        Settings.load(min_relevance="none")
