"""Which reply a question calls for: its shape, decided here and nowhere else.

The shape fixes what the model is asked to do and how long the reply is (one sentence for
a fact, a cited line per paper for several papers); see ``rag.compose``. It is read from
the question's own grammar (its opening words, a plural "papers", "differ", "most"),
never from topic words, so it holds for any collection.

Examples (made-up papers):
- "How many layers does Quill use?"                     -> FACT
- "Does Harrow's pruning speed up decoding?"           -> YESNO
- "Pruning Harrow: does it speed up decoding?"         -> YESNO
- "Is there work on pruning speech models?"            -> EXISTENCE
- "Which paper prunes attention heads?"                -> EXISTENCE
- "Which papers prune models, and how do they differ?" -> SEVERAL
- "How does Quill differ from Harrow?"                 -> COMPARISON
- "Which of the models is the largest?"                -> SUPERLATIVE
"""

from __future__ import annotations

import re

from rag.types import Shape

# What a "which X" question can ask for. Papers (and their synonyms) are asked for
# whatever follows; a kind of method only when a verb of its own follows ("Which method
# prunes ...?"), not "Which method does Quill use?" or "Which models were trained on ...?",
# which ask a fact of a paper.
_PAPER = r"(?:paper|work|study|article|publication|abstract|research)"
_PAPERS = r"(?:papers|works|studies|articles|publications|abstracts)"
_METHOD = (
    r"(?:approach(?:es)?|methods?|benchmarks?|frameworks?|surveys?|techniques?|"
    r"efforts?|attempts?|investigations?)"
)
_METHODS = r"(?:approaches|methods|benchmarks|frameworks|surveys|techniques|efforts)"
_AUX = r"(?:does|do|did|is|are|was|were|has|have|had|can|could|would|will|should)"
_ADJ = rf"(?:(?!{_PAPER}\b|{_METHOD}\b)\w+\s+)"  # a word before the noun, not a noun itself
_SEVERAL = re.compile(
    rf"^\s*(?:which|what)\s+{_ADJ}{{0,3}}{_PAPERS}\b"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,3}}{_METHODS}\s+(?!{_AUX}\b)\w+"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,3}}{_METHODS}\s+{_AUX}\s+(?:the\s+)?{_PAPERS}\b"
    rf"|^\s*(?:list|name|find|show|give)\b.*\b(?:{_PAPERS}|{_METHODS})\b"
    rf"|^\s*(?:are there|do any|have any)\b.*\b(?:{_PAPERS}|{_METHODS})\b"
    rf"|\b(?:several|multiple|different|various|other)\s+(?:\w+\s+)?(?:{_PAPERS}|{_METHODS})\b",
    re.IGNORECASE,
)
_EXISTENCE = re.compile(
    r"^\s*(?:is there|are there|has (?:any|anyone|anybody)|have (?:any|people|researchers)|"
    r"does any|do any|did any|can you (?:find|point|recommend)|i(?:'m| am) looking for)\b"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,2}}{_PAPER}\b"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,2}}{_METHOD}\s+(?!{_AUX}\b)\w+"
    r"|^\s*(?:name|find|show me|point me to)\s+(?:a|an|the|one)\b"
    # "I remember a study that ... - which one?", "Looking for research where ..."
    rf"|\b(?:looking for|searching for|trying to find|i remember|i recall|do you know)\s+"
    rf"(?:(?:a|an|the|some|any|that)\s+)?(?:\w+\s+)?(?:{_PAPER}|{_METHOD})\b"
    r"|\bwhich one\s*\?\s*$",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"\b(?:differ(?:s|ent|ence|ences)?|compare[ds]?|comparison|contrast|versus|vs\.?|"
    r"in common|distinguish(?:es)?|unlike)\b",
    re.IGNORECASE,
)
_SUPERLATIVE = re.compile(
    r"\b(?:most|least|fewest|largest|smallest|biggest|highest|lowest|longest|shortest|"
    r"fastest|slowest|best|worst|greatest|earliest|latest|newest|oldest)\b",
    re.IGNORECASE,
)
_ACROSS = re.compile(
    r"^\s*(?:which|what)\b|\b(?:of (?:all|the|these) (?:\w+\s+)?(?:papers|models|abstracts)|"
    r"in the (?:collection|corpus|index)|across)\b",
    re.IGNORECASE,
)
_YESNO = re.compile(
    r"^\s*(?:does|do|did|is|are|was|were|can|could|will|would|should|has|have|had|"
    r"may|might|must)\b",
    re.IGNORECASE,
)
# "Is the gain larger for Quill or Harrow?": a choice between options that close the
# question is not a yes/no question. An "or" inside it ("Does pruning or distilling Quill
# speed up decoding?") or after "whether" is still one.
_CHOICE = re.compile(r"\bor\s+(?!not\b)(?:[\w'/-]+\s+){0,3}[\w'/-]+\s*\?\s*$", re.IGNORECASE)
_WHETHER = re.compile(r"\bwhether\b", re.IGNORECASE)
# A paper title turned into a question puts what is asked after a colon or a dash:
# "Sparse adapters for speech: do they help on low-resource languages?"
_BREAK = re.compile(r"\s*(?::|;|\s[-\u2013\u2014]{1,2}\s|--)\s*")
_COUNT = re.compile(r"\b(?:number|amount|count|size|percentage|share)\s+of\b", re.IGNORECASE)
_WH = re.compile(r"\b(?:what|which|who|whom|whose|how|when|where|why)\b", re.IGNORECASE)


def asked_clause(question: str) -> str:
    """The part of ``question`` that asks: the clause after its last colon or dash, if that
    clause ends the question ("Quill: does it scale?" -> "does it scale?")."""
    parts = _BREAK.split(question.strip())
    last = parts[-1].strip()
    return last if len(parts) > 1 and last.endswith("?") else question.strip()


def _asks_yes_no(question: str) -> bool:
    """A yes/no question: it opens (or its asked clause opens) with an auxiliary verb, or
    its asked clause is a bare noun phrase after a title ("Quill: a cure for noise?")."""
    clause = asked_clause(question)
    choice = _CHOICE.search(clause) and not _WHETHER.search(clause)
    if choice or _EXISTENCE.search(question):
        return False
    if _YESNO.search(question) or _YESNO.search(clause):
        return True
    # A bare phrase ("Quill: a cure for noise?") asks yes or no; one that names a
    # comparison or a count ("Quill and Harrow: key differences?") does not.
    bare = clause != question.strip() and not _WH.search(question)
    return bare and not _COMPARISON.search(clause) and not _COUNT.search(clause)


def question_shape(question: str) -> Shape:
    """The shape of ``question`` (see the module docstring)."""
    q = question.strip()
    several = bool(_SEVERAL.search(q))
    # "Does Quill differ from Harrow?" asks yes or no; "How does Quill differ ...?" compares.
    yes_no = _asks_yes_no(q)
    if _COMPARISON.search(q) and not several and not yes_no:
        return Shape.COMPARISON
    if _SUPERLATIVE.search(q) and _ACROSS.search(q):
        return Shape.SUPERLATIVE
    if several:
        return Shape.SEVERAL
    if _EXISTENCE.search(q):
        return Shape.EXISTENCE
    if yes_no:
        return Shape.YESNO
    return Shape.FACT


def asks_existence_yes(question: str) -> bool:
    """Is the question a yes/no about existence ("Is there work on ...?")?

    Such a question is answered "Yes: TITLE [n] ..."; a "which paper" question with the
    title alone.
    """
    return bool(
        re.match(r"^\s*(?:is there|are there|has|have|does any|do any|did any)\b", question, re.I)
    )
