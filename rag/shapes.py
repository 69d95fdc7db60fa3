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
- "Is Quill or Harrow better on noisy audio?"          -> COMPARISON (a named choice)
- "Quill and Harrow both skip labels. Which data does each use?" -> COMPARISON (of each)
- "Which study compares pruning with distillation?"    -> EXISTENCE (its topic compares)
- "What is the largest model Quill trains?"            -> FACT (a superlative of one paper)
- "So, can you tell me whether Quill needs labels?"    -> YESNO (chat lead-ins removed)
- "In the Quill paper, did pruning slow decoding?"     -> YESNO (a scene-setting phrase first)

Measured on made-up questions in chat wording (``python -m eval.shape_accuracy``): the
set these rules were written against, and a held-out set written apart from them.
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
    rf"|^\s*(?:in|from|across|for)\s+(?:which|what)\s+{_ADJ}{{0,2}}{_PAPERS}\b"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,3}}{_METHODS}\s+(?!{_AUX}\b)\w+"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,3}}{_METHODS}\s+{_AUX}\s+(?:the\s+)?{_PAPERS}\b"
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,3}}{_METHODS}\s+(?:have|has)\s+been\b"
    rf"|^\s*what\s+(?:are|were)\s+(?:the\s+)?(?:\w+\s+){{0,2}}(?:lines|directions|strands)\s+of\b"
    rf"|^\s*(?:list|name|find|show|give|round(?:ing)? up|gather(?:ing)?|collect(?:ing)?|"
    rf"listing|naming|finding|showing|giving)\b.*\b(?:{_PAPERS}|{_METHODS})\b"
    rf"|^\s*(?:list|show|summari[sz]e|summari[sz]ing|survey|round(?:ing)? up|gather(?:ing)?|"
    rf"collect(?:ing)?|compil(?:e|ing))\b.*\b(?:work|research|literature|{_PAPERS}|{_METHODS})\b"
    rf"|^\s*(?:are there|do any|have any|any)\s+(?:\w+\s+)?{_PAPERS}\b"
    rf"|^\s*(?:are there|do any|have any)\b.*\b(?:{_PAPERS}|{_METHODS})\b"
    rf"|^\s*{_PAPERS}\s+(?:on|about|that|which|where|in|from|using|with|for|\w+ing)\b"
    rf"|^\s*(?:the|all|any)\s+(?:\w+\s+)?{_PAPERS}\s+(?:on|about|that|which|where|in|from|"
    rf"using|with|for)\b"
    rf"|\b(?:overview|summary|survey|round-?up|list)\s+of\s+(?:the\s+)?(?:[\w-]+\s+){{0,4}}"
    rf"(?:{_PAPERS}|{_METHODS}|work|research|literature)\b|\bpaper by paper\b"
    # "I want papers on ...", "Show me every study that ...", "Which models in the
    # collection ...?"
    rf"|\b(?:want|need|looking for|searching for)\s+(?:some\s+|any\s+|all\s+|the\s+)?"
    rf"(?:\w+\s+)?{_PAPERS}\b"
    rf"|\b(?:every|all|each)\s+(?:the\s+)?(?:{_PAPER}|{_PAPERS})\b"
    rf"|^\s*(?:which|what)\s+(?:\w+\s+){{0,2}}\w+s\s+(?:in|from|across|among)\s+"
    rf"(?:the|this|these|your)\s+(?:collection|corpus|index|library|papers)\b"
    rf"|\b(?:several|multiple|different|various|other)\s+(?:\w+\s+)?(?:{_PAPERS}|{_METHODS})\b",
    re.IGNORECASE,
)
# "What work is there on X, and how do the approaches differ?": a question for papers that
# also asks how they differ wants several. Alone, "how do they differ" follows two named
# papers (a comparison).
_HOW_THEY_DIFFER = re.compile(
    rf"\bhow\s+(?:do|did)\s+(?:they|these|those|the\s+(?:\w+\s+)?(?:{_PAPERS}|{_METHODS}|ones))"
    rf"\s+(?:differ|compare)\b",
    re.IGNORECASE,
)
_EXISTENCE = re.compile(
    r"^\s*(?:is there|are there|has (?:any|anyone|anybody)|have (?:any|people|researchers)|"
    r"(?:does|do|did) (?:any|anyone|anybody|someone|somebody)|"
    r"can you (?:find|point|recommend)|i(?:'m| am) looking for|"
    r"(?:if|whether) there(?:'s|\s+is|\s+are|\s+exists?)|any\s+(?:\w+\s+)?"
    rf"{_PAPER})\b"
    # "What does the paper on Quill find?" asks what a paper says, not for one.
    rf"|^\s*(?:which|what)\s+(?!{_AUX}\b){_ADJ}{{0,2}}{_PAPER}\b"
    # "Which benchmark tests ...?" asks for a paper; "Which benchmark Quill reports on?" a fact.
    rf"|^\s*(?:which|what)\s+{_ADJ}{{0,2}}{_METHOD}\s+(?!{_AUX}\b)(?-i:(?![A-Z]))\w+"
    r"|^\s*(?:name|find|show me|point me to|recommend|suggest)\s+(?:me\s+)?(?:a|an|the|one)\b"
    # "I remember a study that ... - which one?", "Looking for research where ..."
    rf"|\b(?:looking for|searching for|trying to find|i remember|i recall|do you know|"
    rf"need|want)\s+(?:(?:a|an|the|some|any|that)\s+)?(?:\w+\s+)?(?:{_PAPER}|{_METHOD})\b"
    r"|\bwhich one\s*\?\s*$"
    rf"|\b(?:which|what)\s+(?:one|{_PAPER})\s+(?:(?:that|it)\s+)?(?:was|is)(?:\s+(?:it|that))?\s*\?\s*$"
    # "paper on pruning heads?", "know of any study ...?", "Does the collection include a
    # paper on ...?", "I remember reading about ...", "Is that paper in the collection?"
    rf"|^\s*(?:a\s+|any\s+)?{_PAPER}\s+(?:on|about|that|which|where|for|using)\b"
    r"|^\s*(?:do you |you )?know of (?:a|an|any)\b"
    r"|^\s*(?:does|do) (?:the|this|your) (?:collection|corpus|index|library) "
    r"(?:include|contain|have|hold)\b"
    r"|\bi (?:remember|recall) (?:reading|seeing)\b"
    rf"|^\s*(?:do|does) (?:we|you) (?:have|hold|include|contain) (?:a|an|any)\s+(?:\w+\s+)?"
    rf"{_PAPER}\b"
    rf"|\b(?:is|was) (?:that|this|the|such a|a) (?:{_PAPER}|one) (?:in|part of) (?:the|this|your) "
    r"(?:collection|corpus|index|library)\b",
    re.IGNORECASE,
)
_PAPERISH = re.compile(
    rf"\b(?:{_PAPER}|{_PAPERS}|{_METHOD}|{_METHODS}|anyone|anybody|people|researchers)\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"\b(?:differ(?:s|ent|ence|ences)?|compare[ds]?|comparison|contrast|versus|vs\.?|"
    r"in common|distinguish(?:es)?|unlike|similar(?:ly|ity|ities)?|side[- ]by[- ]side|"
    r"relative to|disagree(?:s|ment)?|pros and cons|stack up|who wins|"
    r"(?:which|who) of (?:the|these|those) two|choosing between|lines? up against|"
    r"against each other|(?:to|with) each other)\b"
    r"|\b(?:separates?|sets?)\s+.{1,60}?\s+(?:from|apart)\b",
    re.IGNORECASE,
)
_SUPERLATIVE = re.compile(
    r"\b(?:most|least|fewest|largest|smallest|tiniest|biggest|highest|lowest|longest|shortest|"
    r"fastest|slowest|best|worst|greatest|earliest|latest|newest|oldest|cheapest|strongest|"
    r"weakest|simplest|broadest|widest|deepest)\b"
    r"|\btop(?:-scoring)?\s+(?:[\w-]+\s+)?(?:score|result|accuracy|performance)s?\b",
    re.IGNORECASE,
)
# "Which model is the largest?" asks across the collection; "What is the largest model
# Quill trains?" asks a fact of one named paper. A superlative asks across the collection
# when it says so ("of all the papers", "among these") or opens "which"/"who"/"what"
# without naming anything.
_ACROSS = re.compile(
    r"\b(?:of (?:all|the|these) (?:\w+\s+)?(?:papers|models|methods|studies|abstracts)|"
    r"in (?:the|these|this) (?:collection|corpus|index|papers|studies|abstracts)|"
    r"of all (?:the |these |those )?(?:\w+\s+){0,2}\w+s|"
    r"among|out of all|out of everything|across|indexed|you have|you've got)\b",
    re.IGNORECASE,
)
_OPENS_WH = re.compile(r"^\s*(?:which|who|what)\b", re.IGNORECASE)
# "newest paper overall?": a scope that a yes/no question about one paper may also use
# ("Does Quill do best overall?"), so it counts only outside yes/no questions.
_OVERALL = re.compile(r"\boverall\b", re.IGNORECASE)
# "Which study used the most Quill data?": the extreme is sought across papers, whatever
# it names.
_WHICH_PAPER = re.compile(rf"^\s*(?:which|what)\s+(?:\w+\s+)?(?:{_PAPER}|{_PAPERS})\b", re.I)
# A statement with a tag asks yes or no: "Quill uses adapters, right?"
_TAG = re.compile(
    r",\s*(?:right|correct|true|no|yes|isn't it|doesn't it|didn't it|don't they|"
    r"is that (?:right|correct|true|so))\s*\?\s*$",
    re.IGNORECASE,
)
# A name: a word with a capital letter or a digit ("Quill", "Marlow-7B", "QRN"), which a
# paper about it spells the same way (also read by rag.selection.comparison_sides).
NAME_WORD = r"(?:[A-Z][\w'.-]*|[\w-]*\d[\w.-]*)"
# A name after the question's first word (which is capitalised anyway).
_NAME = re.compile(rf"(?<=\s)[\"'(]?{NAME_WORD}\b")
# "Is Quill or Harrow better?", "Which is larger, Quill or Harrow?": a choice between
# named things, asked with a comparative, compares them.
_NAMED_CHOICE = re.compile(
    rf"{NAME_WORD}(?:\s*,\s*{NAME_WORD})*,?\s+or\s+{NAME_WORD}"
    # "quill or harrow, which one ...", "Between Quill and Harrow, which ...": typed
    # lower-case, or set before the question
    r"|^\s*[\w.-]+\s+or\s+[\w.-]+\s*[,:?-]|^\s*(?i:between)\s+[^,]+\s+and\s+[^,]+,"
)
# "Quill and Harrow both prune heads. Which heads does each keep?": two things named together, then
# asked of each of them, is a comparison (a part per paper), whatever word it turns on.
_OF_EACH = re.compile(
    r"\b(?:each(?!\s+other)|both of them|which of (?:them|the two)|either of them|respectively)\b",
    re.IGNORECASE,
)
# A title in quotes names a paper as a capitalised word does: "'Sparse Quill' and Harrow".
# Quotes, not apostrophes: none opens after a letter ("Quill's") or closes before one.
QUOTED = r"(?<!\w)(?:'[^']+'|\"[^\"]+\"|\u2018[^\u2019]+\u2019|\u201c[^\u201d]+\u201d)(?!\w)"
_TWO_NAMED = re.compile(
    rf"(?<!^){NAME_WORD}(?:'s)?\s+and\s+(?:the\s+)?(?:{NAME_WORD}|{QUOTED})"
    rf"|\band\b[^.?!;:]{{1,90}}?\bboth\b|^\s*(?i:both)\s+(?:{NAME_WORD}|{QUOTED})\s+and\b"
)
_COMPARATIVE = re.compile(
    r"\b(?:more|less|fewer|better|worse|larger|smaller|bigger|higher|lower|faster|slower|"
    r"cheaper|stronger|weaker|longer|shorter|newer|older|earlier|later|preferable|superior|"
    r"outperforms?|beats?|prefer|pick|choose|which one|who wins)\b",
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


# Words that open a chat message without asking anything ("So does it ...?", "Can you tell
# me the ...", "I'd like to know whether ..."): removed before the shape is read.
_LEAD_INS = re.compile(
    r"^\s*(?:(?:and|so|ok(?:ay)?|also|then|well|now|but|hi|hello|please)\b[,.!]?\s*"
    r"|(?:can|could|would|will) you(?: please)?\s+(?:(?:tell|show|give|remind) me\s+)?"
    r"(?=(?:tell|show|give|list|name|find|compare|contrast|summari[sz]e|point|recommend|"
    r"round up|gather|collect|compile|survey|"
    r"explain|describe|say|check)\b|the\b|what|which|who|how|whether|if\b)"
    r"|(?:please\s+)?(?:tell|show) me(?=\s+(?:whether|if|what|which|who|how|the|about|a|an)\b)"
    r"|i(?:'d| would) like to know\b|i (?:want|need) to know\b|i wonder\b|i'm curious\b"
    r"|(?:would|do) you mind\s+(?:(?:telling|showing|giving)\s+me\s+|"
    r"(?:checking|seeing|finding out)\s+(?=whether|if\b))?"
    r"|according to (?:the|this|that|these|those)\s+(?:\w+\s+)?(?:papers?|abstracts?|"
    r"stud(?:y|ies)|authors|work)\s*,?"
    r"|(?:besides|apart from|other than|except for|beyond)\s+[^,?]{1,60},)\s*",
    re.IGNORECASE,
)
# "In the Quill paper, does pruning help?", "According to Harrow, is ...?": a phrase that
# sets the scene before the comma; the question proper starts after it.
_PREFACE = re.compile(
    r"^\s*(?:in|for|across|among|within|according to|on|from|with|at)\s+"
    r"(?![^,?]*\b(?:what|which|who|whom|whose|how|when|where|why)\b)[^,?]{1,80},\s*",
    re.IGNORECASE,
)
# "Tell me whether Quill helps": the clause after "whether"/"if" asks yes or no.
_WHETHER_LEAD = re.compile(r"^\s*(?:whether|if)\b\s*", re.IGNORECASE)


def plain_question(question: str) -> str:
    """``question`` without the lead-ins of chat ("So, can you tell me the batch size of
    Quill?" -> "the batch size of Quill?")."""
    q = question.strip()
    while True:
        shorter = _LEAD_INS.sub("", q, count=1)
        if shorter == q or not shorter.strip():
            return q
        q = shorter.strip()


def asked_clause(question: str) -> str:
    """The part of ``question`` that asks: the clause after its last colon or dash, if that
    clause ends the question ("Quill: does it scale?" -> "does it scale?")."""
    parts = _BREAK.split(question.strip())
    last = parts[-1].strip()
    return last if len(parts) > 1 and last.endswith("?") else question.strip()


def _asks_yes_no(question: str, asks_for_a_paper: bool) -> bool:
    """A yes/no question: it opens (or its asked clause opens) with an auxiliary verb or
    "whether", or its asked clause is a bare noun phrase after a title ("Quill: a cure
    for noise?"); not when it asks for a paper ("Is there work on ...?")."""
    clause = asked_clause(question)
    choice = _CHOICE.search(clause) and not _WHETHER.search(clause)
    if choice or asks_for_a_paper:
        return False
    if _YESNO.search(question) or _YESNO.search(clause) or _WHETHER_LEAD.search(question):
        return True
    if _YESNO.search(_PREFACE.sub("", question, count=1)):
        return True
    if _TAG.search(question):  # "Quill uses adapters, right?"
        return True
    # A bare phrase ("Quill: a cure for noise?") asks yes or no; one that names a
    # comparison or a count ("Quill and Harrow: key differences?") does not.
    bare = clause != question.strip() and not _WH.search(question)
    return bare and not _COMPARISON.search(question) and not _COUNT.search(clause)


def _asks_for_a_paper(clause: str) -> bool:
    """The clause after a title asks for a paper ("Pruned speech models: is there work on
    it?"), not whether a finding holds ("Quill on noise: are there accent differences?")."""
    return bool(_EXISTENCE.search(clause) and _PAPERISH.search(clause))


def _names_a_choice(question: str) -> bool:
    """ "Is Quill or Harrow better?": named options and a comparative."""
    return bool(_NAMED_CHOICE.search(question) and (
        _COMPARATIVE.search(question) or _SUPERLATIVE.search(question)))  # fmt: skip


def _across_collection(question: str, last: str) -> bool:
    """A superlative asked of the whole collection, not of one named paper (``last``: the
    question's :func:`last_question`)."""
    if not _SUPERLATIVE.search(question):
        return False
    asked = asked_clause(last)
    return bool(_ACROSS.search(question) or _WHICH_PAPER.search(question) or (
        _OPENS_WH.search(asked) and _SUPERLATIVE.search(asked) and not _NAME.search(asked)) or (
        _OVERALL.search(question) and not _YESNO.search(question)))  # fmt: skip


def names_the_collection(question: str) -> bool:
    """Does the question say it asks across the collection ("of all the papers", "in this
    collection", "among these")?"""
    return bool(_ACROSS.search(question))


def last_question(question: str) -> str:
    """The sentence that asks, when sentences before it set the scene ("Quill claims X.
    Does that hold?" -> "Does that hold?"); else the whole question."""
    sentences = re.split(r"(?<=[.!?])\s+", question.strip())
    if len(sentences) > 1 and sentences[-1].endswith("?") and len(sentences[-1].split()) > 1:
        return plain_question(sentences[-1])
    return question


def question_shape(question: str) -> Shape:
    """The shape of ``question`` (see the module docstring)."""
    q = plain_question(question)
    last = last_question(q)
    several = bool(_SEVERAL.search(q) or _SEVERAL.search(last))
    # "Which paper compares pruning with distillation?" asks for a paper: what it compares
    # is its topic.
    existence = bool(
        _EXISTENCE.search(q)
        or _EXISTENCE.search(last)
        or _EXISTENCE.search(_PREFACE.sub("", last, count=1))
        or _asks_for_a_paper(asked_clause(last))
    )
    several = several or (existence and bool(_HOW_THEY_DIFFER.search(q)))
    # "Does Quill differ from Harrow?" asks yes or no; "How does Quill differ ...?" compares.
    yes_no = _asks_yes_no(q, existence) or _asks_yes_no(last, existence)
    if _names_a_choice(q):
        return Shape.COMPARISON
    if _across_collection(q, last):
        return Shape.SUPERLATIVE
    compares = _COMPARISON.search(q) or (_OF_EACH.search(last) and _TWO_NAMED.search(q))
    if compares and not (several or existence or yes_no):
        return Shape.COMPARISON
    if several:
        return Shape.SEVERAL
    if existence:
        return Shape.EXISTENCE
    if yes_no:
        return Shape.YESNO
    return Shape.FACT


def asks_existence_yes(question: str) -> bool:
    """Is the question a yes/no about existence ("Is there work on ...?")?

    Such a question is answered "Yes: TITLE [n] ..."; a "which paper" question with the
    title alone.
    """
    return bool(re.match(
        r"^\s*(?:is there|are there|has|have|does any|do any|did any|(?:if|whether) there|any)\b",
        plain_question(question), re.I))  # fmt: skip
