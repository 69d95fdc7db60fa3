"""Metadata filters inside retrieval: the top-k is the top-k within the filter.

Real Chroma (embedded here; tests/test_chroma_server.py runs the same check on a
`chroma run` server), the real embedder and BM25. Papers and authors are made up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.filters import parse_years
from rag.ingest import ingest_papers
from rag.loaders import load_papers
from rag.pipeline import Assistant
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.types import PaperFilter

from .conftest import make_settings

# Eight papers on one topic (so an unfiltered search ranks them all), by year and author.
RECORDS = [
    {
        "title": f"Pruning study {i}",
        "abstract": f"Study {i} prunes attention heads in small translation models. "
        f"{'Structured' if i % 2 else 'Magnitude'} pruning removes {10 * i}% of heads; "
        "we report BLEU, latency and memory on made-up benchmarks of several sizes.",
        "year": 2017 + i,
        "authors": ["Jörg Müller", "Ana Lima"] if i % 3 == 0 else ["Chen Wei"],
        "venue": "Workshop on Pretend Systems" if i < 4 else "Imaginary Translation Conference",
        "categories": "cs.CL cs.LG" if i % 2 else "cs.CL",
    }
    for i in range(8)
]
QUESTION = "pruning attention heads in translation models"


def index_papers(tmp_path: Path, **overrides) -> Settings:
    """The eight papers, indexed with settings ``overrides`` (e.g. a Chroma server)."""
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    settings = make_settings(tmp_path / "index", candidate_k=2, **overrides)
    ingest_papers(load_papers([path]), settings, files=[path], progress=False)
    return settings


def _kept(record: dict, paper_filter: PaperFilter) -> bool:
    year_ok = (paper_filter.year_from or 0) <= record["year"] <= (paper_filter.year_to or 9999)
    author_ok = "Müller" in " ".join(record["authors"]) if paper_filter.author else True
    return year_ok and author_ok


def check_filtered_retrieval(settings: Settings) -> None:
    """With candidate_k=2, a filter applied after retrieval would keep at most two hits of
    the unfiltered lists; inside retrieval, every mode fills its top-k from the filter."""
    retriever = HybridRetriever(settings)
    for paper_filter in (PaperFilter(year_from=2022), PaperFilter(author="muller", year_to=2020)):
        wanted = {r["title"] for r in RECORDS if _kept(r, paper_filter)}
        view = retriever.with_filter(paper_filter)
        assert view.matching_papers() is not None and len(view.matching_papers()) == len(wanted)
        for mode in ("dense", "keyword", "hybrid"):
            found = [s.title for s in view.search(QUESTION, top_k=len(wanted), mode=mode)]
            expected = min(len(wanted), settings.candidate_k if mode != "hybrid" else 99)
            assert set(found) <= wanted, (mode, paper_filter)
            assert len(found) == expected, (mode, paper_filter, found)
        # Within the filter, the order is the unfiltered order (dense: the same cosines).
        every = HybridRetriever(settings.model_copy(update={"candidate_k": 20}))
        full = [s.title for s in every.search(QUESTION, top_k=8, mode="dense")]
        ranked = [s.title for s in view.search(QUESTION, top_k=2, mode="dense")]
        assert ranked == [t for t in full if t in wanted][:2]
    unfiltered = [s.title for s in retriever.search(QUESTION, top_k=8, mode="dense")]
    assert len(unfiltered) == 2  # candidate_k bounds an unfiltered list too


def test_filters_keep_top_k_within_the_filter(tmp_path: Path) -> None:
    check_filtered_retrieval(index_papers(tmp_path))


def test_author_substrings_and_words_ignore_case_and_accents(tmp_path: Path) -> None:
    settings = index_papers(tmp_path)
    retriever = HybridRetriever(settings)

    def count(**fields) -> int:
        return len(retriever.with_filter(PaperFilter(**fields)).matching_papers())

    assert count(author="MÜLLER") == count(author="muller") == count(author="mül") == 3
    assert count(author="Jorg Muller") == count(author="ana LIMA") == 3  # any order
    with pytest.raises(RagError, match=r"author Jorg Wei\): no author's name contains"):
        count(author="Jorg Wei")
    narrow = HybridRetriever(settings.model_copy(update={"max_author_matches": 1}))
    with pytest.raises(RagError, match="matches 2 names; type more of it"):
        narrow.with_filter(PaperFilter(author="e"))  # "muller jorg" and "wei chen"
    assert count(venue="imaginary conference") == 4 and count(venue="pretend") == 4
    assert count(category="CS.LG") == 4 and count(category="cs.CL") == 8
    assert count(year_from=2019, year_to=2020) == 2


def test_a_filter_matching_nothing_says_so(tmp_path: Path) -> None:
    settings = index_papers(tmp_path)
    assistant = Assistant(settings)
    with pytest.raises(RagError, match=r"no indexed paper matches the filter \(year 2030-\)"):
        assistant.filtered(PaperFilter(year_from=2030))
    assert assistant.filtered(PaperFilter()) is assistant
    sources = assistant.filtered(PaperFilter(author="wei")).search(QUESTION, top_k=8)
    assert sources and all(s.meta.authors == ["Wei, Chen"] for s in sources)


def test_side_index_hits_respect_the_filter(tmp_path: Path) -> None:
    from rag.uploads import add_file

    settings = index_papers(tmp_path)
    late = dict(RECORDS[0], title="Pruning study late", year=2030, authors=["Iris Quénby"],
                abstract=RECORDS[0]["abstract"].replace("Study 0", "A late study"))  # fmt: skip
    path = tmp_path / "late.jsonl"
    path.write_text(json.dumps(late) + "\n")
    add_file(path, "late.jsonl", settings)
    retriever = HybridRetriever(settings)
    assert "Pruning study late" in [
        s.title for s in retriever.with_filter(PaperFilter(year_from=2030)).search(
            QUESTION, mode="keyword")]  # fmt: skip
    old = retriever.with_filter(PaperFilter(year_to=2020)).search(QUESTION, top_k=8, mode="keyword")
    assert "Pruning study late" not in [s.title for s in old]
    # The upload's new author is known to the author filter without a rebuild.
    by_author = retriever.with_filter(PaperFilter(author="quen")).search(QUESTION, mode="keyword")
    assert [s.title for s in by_author] == ["Pruning study late"]


@pytest.mark.parametrize(
    ("text", "years"),
    [("2023", (2023, 2023)), ("2019-2021", (2019, 2021)), ("2023-", (2023, None)),
     ("-2020", (None, 2020)), (" 2019 – 2021 ", (2019, 2021))],
)  # fmt: skip
def test_year_ranges_as_typed(text: str, years: tuple) -> None:
    assert parse_years(text) == years


@pytest.mark.parametrize("text", ["", "soon", "2021-2019", "20-21"])
def test_bad_year_ranges_are_one_line_errors(text: str) -> None:
    with pytest.raises(RagError, match="year filter"):
        parse_years(text)


def test_cli_search_filters_and_shows_author_year(tmp_path: Path) -> None:
    from tests.test_cli import rag

    data = str(index_papers(tmp_path).data_dir)
    out = rag("search", QUESTION, "--data-dir", data, "--json", "--year", "2023-", "--top-k", "8")
    sources = json.loads(out.stdout)
    assert sources and all(s["year"] >= 2023 for s in sources)
    text = rag("search", QUESTION, "--data-dir", data, "--author", "wei")
    assert "Wei (20" in text.stdout
    bad = rag("search", QUESTION, "--data-dir", data, "--year", "2050")
    assert bad.returncode == 2 and "no indexed paper matches the filter" in bad.stderr
