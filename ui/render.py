"""HTML for the chat and the sources panel. Everything from a document, a question or the
model is escaped here: documents are untrusted and must show as text, never run.

Citation markers become links to the cited abstract in the sources panel; the panel keeps
one block per answer (only the newest shown), so a marker in an older answer still opens
the source it meant. The click handling is the small script in ``CITATION_JS``.
"""

from __future__ import annotations

import html
import re

from rag.checks.citations import supporting_passages
from rag.markers import MARKER, marker_numbers
from rag.terms import split_sentences
from rag.types import Answer, PaperMeta, Source


def source_anchor(turn: int, n: int) -> str:
    """Element id of source ``n`` of answer ``turn`` in the panel."""
    return f"src-{turn}-{n}"


def answer_html(answer: Answer, turn: int) -> str:
    """The chat text of a finished answer: escaped, with clickable [n] markers."""
    if answer.abstained:
        reason = html.escape(answer.abstain_reason or "")
        found = "nothing in the index came close"
        if answer.sources:
            found = "the closest papers it found are in the sources panel"
        return (
            f"**{html.escape(answer.answer)}**\n\n"
            f"<span class='abstain-reason'>Not answered: {reason}; {found}.</span>"
        )
    cited = {c.n: c for c in answer.citations}

    def link(match: re.Match) -> str:
        numbers = marker_numbers(match.group(1))
        if not numbers or any(n not in cited for n in numbers):
            return match.group(0)
        out = []
        for n in numbers:
            who = cited[n].meta.author_year()
            out.append(f"<a class='cite' href='#{source_anchor(turn, n)}'>[{n}]</a>")
            if who:  # "Surname et al. (Year)" beside the marker, where known
                out.append(f"<span class='cite-who'> {html.escape(who)}</span>")
        return "".join(out)

    text = MARKER.sub(link, html.escape(answer.answer, quote=False))
    # Re-pointed markers are already right in the text; other notes concern the user.
    notes = "".join(
        f"<br><small class='note'>{html.escape(n)}</small>"
        for n in answer.notes
        if not n.startswith("citation ")
    )
    return text + notes


def sources_only_html(sources: list[Source]) -> str:
    """Chat text for a "sources only" question."""
    if not sources:
        return "No papers found."
    return "Sources only (no generated answer); the full abstracts are in the panel:\n\n" + (
        "\n".join(f"{s.rank}. {html.escape(s.title)}" for s in sources)
    )


def _abstract_html(source: Source, passages: list[str]) -> str:
    parts = []
    for sentence in split_sentences(source.text):
        escaped = html.escape(sentence)
        parts.append(f"<mark>{escaped}</mark>" if sentence in passages else escaped)
    return " ".join(parts)


def _score_line(source: Source) -> str:
    bits = [f"fused score {source.score:.4f}"]
    if source.dense_score is not None:
        bits.append(f"cosine {source.dense_score:.2f}")
    if source.keyword_score is not None:
        bits.append(f"BM25 {source.keyword_score:.1f}")
    bits.append(f"doc {html.escape(source.doc_id)}")
    return " · ".join(bits)


def _link(url: str, label: str) -> str:
    if not url.startswith(("https://", "http://")):
        return html.escape(label)
    return f"<a href='{html.escape(url)}' target='_blank' rel='noopener'>{html.escape(label)}</a>"


def _meta_html(meta: PaperMeta) -> str:
    """The paper's bibliographic line: authors, year, venue, links; empty when unknown."""
    bits = []
    if meta.authors:
        names = [n.split(",", 1)[1].strip() + " " + n.split(",", 1)[0] if "," in n else n
                 for n in meta.authors]  # fmt: skip
        bits.append(html.escape(", ".join(names)))
    if meta.year:
        bits.append(str(meta.year))
    if meta.venue:
        bits.append(f"<i>{html.escape(meta.venue)}</i>")
    if meta.doi:
        bits.append(_link(f"https://doi.org/{meta.doi}", f"doi:{meta.doi}"))
    if meta.arxiv_id:
        bits.append(_link(f"https://arxiv.org/abs/{meta.arxiv_id}", f"arXiv:{meta.arxiv_id}"))
    elif meta.url:
        bits.append(_link(meta.url, "link"))
    if meta.categories:
        bits.append(html.escape(", ".join(meta.categories)))
    return f"<div class='meta'>{' · '.join(bits)}</div>" if bits else ""


def _aliases_html(aliases: list[str]) -> str:
    """Other titles the paper's records gave it (merged as one paper at ingest)."""
    if not aliases:
        return ""
    return f"<div class='aliases'>also known as: {html.escape('; '.join(aliases))}</div>"


def _source_html(source: Source, turn: int, passages: list[str], cited: bool) -> str:
    who = source.meta.author_year()
    byline = f" <span class='byline'>{html.escape(who)}</span>" if who else ""
    return (
        f"<details class='source{' cited' if cited else ''}' "
        f"id='{source_anchor(turn, source.rank)}'{' open' if cited else ''}>"
        f"<summary><span class='rank'>[{source.rank}]</span> {html.escape(source.title)}"
        f"{byline}</summary>{_meta_html(source.meta)}{_aliases_html(source.aliases)}"
        f"<div class='score'>{_score_line(source)}</div>"
        f"<p class='abstract'>{_abstract_html(source, passages)}</p></details>"
    )


def turn_html(
    turn: int, question: str, sources: list[Source], answer: Answer | None, final: bool = True
) -> str:
    """The panel block of one answer: cited sources first (passages marked), then the rest.

    ``final=False`` while the answer is still being written (marked for tests and styling).
    """
    cited_ranks = {c.n for c in answer.citations} if answer else set()
    cited = [s for s in sources if s.rank in cited_ranks]
    others = [s for s in sources if s.rank not in cited_ranks]
    state = "final" if final else "pending"
    out = [f"<div class='turn' data-turn='{turn}' data-state='{state}'>",
           f"<div class='turn-question'>Sources for: {html.escape(question)}</div>"]  # fmt: skip
    if answer is not None and answer.abstained:
        out.append("<p class='abstain-note'>No source holds the answer. "
                   "These are the closest papers found:</p>")  # fmt: skip
    if not sources:
        out.append("<p>No papers found.</p>")
    if cited:
        out.append("<h4>Cited</h4>")
        out.extend(
            _source_html(s, turn, supporting_passages(answer.answer, s), True) for s in cited
        )
    if others:
        out.append("<h4>Other retrieved sources</h4>" if cited else "<h4>Retrieved sources</h4>")
        out.extend(_source_html(s, turn, [], False) for s in others)
    out.append("</div>")
    return "".join(out)


def panel_html(blocks: list[str]) -> str:
    """All answers' blocks; only the newest is shown until a citation asks for another."""
    if not blocks:
        return "<div class='empty'>Sources appear here when you ask a question.</div>"
    shown = len(blocks) - 1
    return "".join(
        block if i == shown else block.replace("<div class='turn'", "<div hidden class='turn'", 1)
        for i, block in enumerate(blocks)
    )


CITATION_JS = """
<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const id = link.getAttribute('href').slice(1);
  const turn = id.split('-')[1];
  document.querySelectorAll('#sources .turn').forEach((block) => {
    block.hidden = block.dataset.turn !== turn;
  });
  const source = document.getElementById(id);
  if (!source) return;
  document.querySelectorAll('#sources .source.active')
    .forEach((el) => el.classList.remove('active'));
  source.open = true;
  source.classList.add('active');
  source.scrollIntoView({behavior: 'smooth', block: 'nearest'});
}, true);
</script>
"""

CSS = """
#sources .turn-question { font-weight: 600; margin-bottom: .5em; }
#sources details.source { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: .4em .6em; margin: .4em 0; }
#sources details.source.active { outline: 3px solid var(--color-accent); }
#sources .score { font-size: .8em; opacity: .75; margin: .3em 0; }
#sources .byline, .cite-who { font-size: .85em; opacity: .8; }
#sources .meta { font-size: .85em; margin: .3em 0; }
#sources mark { background: #ffe58a; color: inherit; }
#sources .abstain-note { font-style: italic; }
a.cite { text-decoration: none; font-weight: 600; }
.abstain-reason { font-size: .85em; opacity: .8; }
"""
