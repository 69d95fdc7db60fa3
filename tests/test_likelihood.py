"""The paper a question was written about, by the question's likelihood after each paper
(rag/likelihood.py), scored by the real small generator; made-up papers."""

from __future__ import annotations

import copy

from rag.likelihood import likeliest_first, likelihood_messages
from rag.pipeline import Assistant
from rag.prompt import prefix_messages
from rag.types import Source

QUILL = Source(
    rank=1,
    doc_id="quill",
    title="Quill: Sparse Adapters for Low-Resource Speech Recognition",
    text="We present Quill, a speech recogniser that adds sparse adapters to a frozen "
    "encoder. Quill lowers word error rate by 12% on eleven low-resource languages.",
    score=0.03,
    dense_score=0.5,
    keyword_score=4.0,
    chunk="",
)
HARROW = Source(
    rank=2,
    doc_id="harrow",
    title="Harrow: Learning Audio Tokens without Transcripts",
    text="Harrow learns discrete audio tokens from unlabelled speech alone. Its tokens "
    "match supervised ones on keyword spotting.",
    score=0.02,
    dense_score=0.4,
    keyword_score=3.0,
    chunk="",
)
QUESTION = "Is there work on learning discrete audio tokens from unlabelled speech?"


def _blocks(sources: list[Source]) -> list[str]:
    return [f"[{s.rank}] {s.title}\n{s.text}" for s in sources]


def _scorer(assistant: Assistant):
    def score(messages: list[dict], reply: str) -> float:
        return assistant.generator.option_logprobs(messages, [reply], prefix_messages())[0]

    return score


def test_the_likeliest_paper_goes_first(assistant: Assistant) -> None:
    # The small test model's own scores decide; that the default model's scores pick the
    # paper the question describes is tests/test_quality.py's (slow) test.
    sources = [copy.copy(QUILL), copy.copy(HARROW)]
    ordered, scores = likeliest_first(QUESTION, sources, _blocks(sources), _scorer(assistant), 0.0)
    likeliest = sources[scores.index(max(scores))]
    assert ordered[0] is likeliest
    assert sorted(map(id, ordered)) == sorted(map(id, sources))


def test_the_retrievers_first_stays_unless_beaten_by_the_margin(assistant: Assistant) -> None:
    sources = [copy.copy(QUILL), copy.copy(HARROW)]
    blocks, score = _blocks(sources), _scorer(assistant)
    _, scores = likeliest_first(QUESTION, sources, blocks, score, 0.0)
    if scores[1] < scores[0]:  # the less likely paper first, whichever the model prefers
        sources, blocks, scores = sources[::-1], blocks[::-1], scores[::-1]
    lead = scores[1] - scores[0]
    kept, _ = likeliest_first(QUESTION, sources, blocks, score, lead)
    assert [id(s) for s in kept] == [id(s) for s in sources]
    moved, _ = likeliest_first(QUESTION, sources, blocks, score, lead - 0.01)
    assert moved[0] is sources[1]


def test_the_scoring_chat_shows_the_paper_and_asks_for_a_question() -> None:
    messages = likelihood_messages("[1] Quill\nQuill adds sparse adapters.")
    # The answering prompt's fixed messages first, so their cached keys and values stay.
    assert messages[: len(prefix_messages())] == prefix_messages()
    assert messages[-1]["role"] == "user"
    assert "[1] Quill\nQuill adds sparse adapters." in messages[-1]["content"]
    assert messages[-1]["content"].endswith("Write one question this paper answers.")
