"""A made-up collection of abstracts for tests: no paper here exists, so no test can pass
by a model remembering it, and no evaluation question leaks into the tests."""

from __future__ import annotations

from rag.types import Source

PAPERS = [
    {
        "title": "Quill: Sparse Adapters for Low-Resource Speech Recognition",
        "abstract": "We present Quill, a speech recogniser that adds sparse adapters to a "
        "frozen acoustic encoder. Quill lowers word error rate by 12% on eleven low-resource "
        "languages while training only 3% of the weights. Adapters are placed after every "
        "second encoder layer.",
    },
    {
        "title": "Harrow: Learning Audio Tokens without Transcripts",
        "abstract": "Harrow learns discrete audio tokens from unlabelled speech alone. A "
        "contrastive objective groups frames into 512 token types. Harrow tokens match "
        "supervised phone labels on keyword spotting and need no transcribed audio.",
    },
    {
        "title": "Spindle: Pruning Attention Heads in Speech Transformers",
        "abstract": "Spindle removes redundant attention heads from speech transformers. "
        "Scoring each head by its gradient, it prunes 40% of the heads and decodes 1.8 times "
        "faster with no loss in word error rate on broadcast news.",
    },
    {
        "title": "Thinning Speech Recognisers by Structured Weight Pruning",
        "abstract": "We prune whole rows of the weight matrices of speech recognisers. "
        "Structured pruning of 30% of the rows keeps accuracy on read speech and halves "
        "memory use on phones.",
    },
    {
        "title": "Marrow: A Benchmark of Cooking Recipes for Language Models",
        "abstract": "Marrow is a benchmark of 9,000 cooking recipes that tests whether "
        "language models can order the steps of a recipe. The best model orders 61% of the "
        "recipes correctly.",
    },
    {
        "title": "Tessellate: Fast Image Tiling on Mobile GPUs",
        "abstract": "Tessellate splits images into tiles that fit a mobile GPU's cache. "
        "Rendering is 2.4 times faster on four phone models.",
    },
]


def source(index: int, rank: int = 1, dense: float = 0.6) -> Source:
    """Paper ``index`` of :data:`PAPERS` as a retrieved source."""
    paper = PAPERS[index]
    return Source(rank, f"doc-{index}", paper["title"], paper["abstract"], 1.0 / rank, dense,
                  None, "")  # fmt: skip
