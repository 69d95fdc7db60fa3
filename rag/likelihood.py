"""Which of the first few retrieved papers a question was written about, read from how
likely the model finds the question after reading each paper (query likelihood: Sachan et
al. 2022, "Improving Passage Retrieval with Zero-Shot Question Generation").

"Is there work on ...?" and "Which papers ...?" describe a paper in the asker's own words,
and the retriever's first hit is then often a paper that shares the words but not the
idea. Asked to judge "is this paper about the question? Yes or No", the 1.5B model said
yes to unrelated abstracts; predicting the question's own words after a paper is the job
a language model is trained for, and it scores the paper the question was written from
far above the others (tens of nats apart where it is sure).

Only the first ``context.likelihood_candidates`` papers whose closest sentence is within
``context.likelihood_gap`` cosine of the first's are read (where retrieval is sure, the
model is not asked: each paper costs a prefill of its sentences, about 2.5 s on 2 cores),
and the model's choice is taken only where it beats the retriever's first paper by
``context.likelihood_margin`` nats.
Measured in eval/results/README.md ("The paper a question describes, by the question's
likelihood").
"""

from __future__ import annotations

from collections.abc import Callable

from rag.prompt import prefix_messages
from rag.types import Source

QUESTION_JOB = "Write one question this paper answers."

# Total log-probability of a reply (the question) to the messages that show one paper.
ScoreReply = Callable[[list[dict], str], float]


def likelihood_messages(paper_block: str) -> list[dict]:
    """The chat that shows one paper (its title and sentences) and asks for a question.

    It opens with the answering prompt's fixed messages (``rag.prompt.prefix_messages``),
    whose KV cache the generator keeps: a chat of its own would push them out, and the
    reply written next would read them again (about 7 s on 2 cores)."""
    return [
        *prefix_messages(),
        {"role": "user", "content": f"Source:\n{paper_block}\n\n{QUESTION_JOB}"},
    ]


def likeliest_first(
    question: str,
    sources: list[Source],
    blocks: list[str],
    score: ScoreReply,
    margin: float,
) -> tuple[list[Source], list[float]]:
    """``sources`` with the one whose block (``blocks[i]`` shows ``sources[i]``) makes
    ``question`` likeliest moved first, when it beats the first source by more than
    ``margin`` nats (ranks unchanged: the caller renumbers). Also the scores, one per
    block.

    Only the sources with a block are scored; the others keep their order after them.
    """
    scores = [score(likelihood_messages(block), question) for block in blocks]
    if not scores:
        return sources, scores
    best = max(range(len(scores)), key=scores.__getitem__)
    if best == 0 or scores[best] - scores[0] <= margin:
        return sources, scores
    return [sources[best], *sources[:best], *sources[best + 1 :]], scores
