"""A comparison's part about one paper keeps to that paper (check ``other_paper``).

Each paper's part of a comparison is written from that paper's abstract alone
(``rag.pipeline``), yet the model, which reads the question naming both sides, often goes on
to the other paper ("Quill [1] uses adapters, while Harrow uses ..."). What it says there
is not from the source it is cited to, so the part is cut where the other paper's name
starts; a part about the other paper from its first word is withheld (the pipeline quotes
the abstract's closest sentence instead). The other paper's names are the other side's
capitalised words that this side, this paper's title and its abstract do not use.
"""

from __future__ import annotations

import re

from rag.selection import comparison_sides
from rag.shapes import NAME_WORD
from rag.terms import content_terms, split_sentences
from rag.types import Draft, Shape, Source, Verdict


def own_and_other_side(paper: Source, sides: tuple[str, str]) -> tuple[str, str]:
    """(the side ``paper`` is, the other side) of a comparison: the side more of whose
    words the paper's title and abstract hold."""
    held = content_terms(f"{paper.title} {paper.text}")
    shares = [len(content_terms(side) & held) / max(1, len(content_terms(side))) for side in sides]
    return (sides[0], sides[1]) if shares[0] >= shares[1] else (sides[1], sides[0])


_NAME_TOKEN = re.compile(rf"(?<![\w-]){NAME_WORD}")
_CLAUSE = re.compile(r",?\s+(?:while|whereas|but|unlike)\s+|;\s+|,\s+and\s+")


def other_side_names(own: str, other: str, paper: Source) -> set[str]:
    """The names the other side goes by ("Harrow") that neither this side nor this paper
    uses: a line about this paper that says them is describing the other one."""
    mine = f"{own} {paper.title} {paper.text}"
    names = {name.strip("'.-") for name in _NAME_TOKEN.findall(other)}
    return {
        name
        for name in names
        if len(name) > 1
        and name.lower() != name
        and not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", mine)
    }


def without_other_side(text: str, names: set[str]) -> str:
    """``text`` cut where it starts on the other paper ("Quill [1] uses adapters, while
    Harrow uses ..." -> "Quill [1] uses adapters."); a sentence that names the other paper
    from its start goes whole, and so does what follows it."""
    if not names:
        return text
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])")
    kept = []
    for sentence in split_sentences(text.strip()):
        if not pattern.search(sentence):
            kept.append(sentence)
            continue
        seps = list(_CLAUSE.finditer(sentence))
        starts = [0] + [m.end() for m in seps]
        stops = [m.start() for m in seps] + [len(sentence)]
        for i, (start, stop) in enumerate(zip(starts, stops, strict=True)):
            if pattern.search(sentence[start:stop]):
                if i:
                    kept.append(sentence[: stops[i - 1]].rstrip(" ,;") + ".")
                break
        break
    return (" " if text[:1] == " " and kept else "") + " ".join(kept)


class OtherPaperCheck:
    """Cuts a comparison part where it turns to the other paper; withholds one that is about
    the other paper from its start. Other drafts pass untouched."""

    name = "other_paper"

    def __call__(self, draft: Draft) -> Verdict | None:
        """See the class docstring."""
        if draft.shape is not Shape.COMPARISON or len(draft.sources) != 1:
            return None
        sides = comparison_sides(draft.question)
        if sides is None:
            return None
        paper = draft.sources[0]
        kept = without_other_side(draft.text, other_side_names(*own_and_other_side(paper, sides),
                                                               paper))  # fmt: skip
        if kept == draft.text:
            return None
        draft.notes.append(f"[{paper.rank}]: the part on the other paper was cut")
        draft.text = kept
        if not kept.strip():
            return Verdict(self.name, "the line described the other paper")
        return None
