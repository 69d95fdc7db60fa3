"""The collections one data folder (or Chroma server) holds, with their paper counts.

Several collections live side by side ("thesis", "my arXiv categories"): `--collection NAME`
on the CLI, a picker in the UI.
"""

from __future__ import annotations

from rag.errors import RagError
from rag.keyword import indexed_papers
from rag.settings import Settings
from rag.store import PaperStore, collection_names


def collection_sizes(settings: Settings) -> dict[str, int]:
    """Collection name -> papers it holds (empty ones count 0), sorted by name."""
    sizes = {}
    for name in collection_names(settings):
        other = settings.model_copy(update={"collection": name})
        try:
            sizes[name] = indexed_papers(PaperStore.open(other), other.keyword_dir)
        except RagError:  # created but empty
            sizes[name] = 0
    return sizes
