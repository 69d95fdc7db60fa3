"""Exports: BibTeX that parses back into the cited papers, and a Markdown conversation.

Papers and authors are made up.
"""

from __future__ import annotations

from pathlib import Path

from rag.bibtex import parse_bibtex
from rag.export import bibtex, citation_key, markdown
from rag.types import Answer, Citation, PaperMeta

TESSELLATE = Citation(
    1,
    "d1",
    "Tessellate: Packing {Sequences} for 100% Less Padding",
    "We pack sequences & cut padding by 41%; see $x_i^2$ and {braces}.",
    PaperMeta(
        authors=["Müller, Jörg", "van der Berg, Karla"],
        year=2022,
        venue="Proceedings of the Imaginary Conference on Learning",
        doi="10.5555/tess.2022",
        arxiv_id="2201.01234",
        url="https://arxiv.org/abs/2201.01234",
        categories=["cs.LG"],
    ),
)
SIBLING = Citation(
    2,
    "d2",
    "Tessellate Again",
    "A second packing paper by the same first author in the same year.",
    PaperMeta(authors=["Müller, Jörg"], year=2022, venue="Journal of Pretend Results"),
)
BARE = Citation(3, "d3", "A Paper Known Only by Its Abstract", "Marrow indexes rows.")


def test_bibtex_parses_back_into_the_cited_papers(tmp_path: Path) -> None:
    text = bibtex([TESSELLATE, SIBLING, BARE, TESSELLATE])  # a paper cited twice: one entry
    notes: list[str] = []
    papers = parse_bibtex(text, "export.bib", notes=notes)
    assert notes == []
    assert [p.title for p in papers] == [c.title for c in (TESSELLATE, SIBLING, BARE)]
    assert [p.text for p in papers] == [c.text for c in (TESSELLATE, SIBLING, BARE)]
    assert papers[0].meta == TESSELLATE.meta
    assert papers[1].meta == SIBLING.meta
    assert papers[2].meta == PaperMeta()

    import bibtexparser

    library = bibtexparser.parse_string(text)
    keys = [e.key for e in library.entries]
    assert keys == ["muller2022tessellate", "muller2022tessellatea", "anonpaper"]
    assert [e.entry_type for e in library.entries] == ["inproceedings", "article", "misc"]


def test_citation_keys_are_ascii_and_unique() -> None:
    taken: set[str] = set()
    meta = PaperMeta(authors=["Ørsted, Åse"], year=2019)
    keys = [citation_key(meta, "On the Use of Packing", taken) for _ in range(30)]
    assert keys[0] == "orsted2019use" and len(set(keys)) == 30
    assert all(k.isascii() and k.isalnum() for k in keys)


def test_markdown_lists_each_answers_references() -> None:
    answered = Answer(
        question="Is there work on packing sequences?",
        query="packing sequences",
        answer="Yes: Tessellate packs sequences [1] and so does its sequel [2].",
        abstained=False,
        sources=[],
        citations=[TESSELLATE, SIBLING],
    )
    refused = Answer(
        question="What does Marrow cost?",
        query="Marrow cost",
        answer="The sources do not say.",
        abstained=True,
        sources=[],
        abstain_reason="no indexed abstract is close enough to the question",
    )
    text = markdown([answered, refused])
    assert "## Is there work on packing sequences?" in text
    assert "- [1] Müller, J., van der Berg, K. (2022). Tessellate: Packing" in text
    assert "https://doi.org/10.5555/tess.2022" in text
    assert "- [2] Müller, J. (2022). Tessellate Again. *Journal of Pretend Results*." in text
    assert "*Not answered: no indexed abstract is close enough to the question.*" in text
