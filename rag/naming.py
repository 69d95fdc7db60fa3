"""A short name for a paper whose file gave no title: the method, model or benchmark its
abstract introduces ("we propose Quill, ..." -> "Quill").

A list reply names each paper before saying what it does; for a titleless paper the
first words of its abstract make a poor name, and the user asked "which paper". Coined
names are written in a way ordinary words are not (two or more capitals: "HarrowNet",
"QLT", "Spin-2"), and a paper's own name is the one it introduces ("propose", "called")
or repeats. Field acronyms every abstract uses ("LLM", "NLP") are never a name.
"""

from __future__ import annotations

import re
from collections import Counter

_NAME = re.compile(r"(?<![\w\\-])([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)(?![\w-])")
# Verbs that introduce a name right after them ("we introduce Quill", "called Quill").
_DIRECT_VERBS = (
    "propose|proposes|present|presents|introduce|introduces|called|named|dubbed|termed|"
    "coined|release|releases"
)
_INTRODUCED = re.compile(
    rf"\b(?:{_DIRECT_VERBS}|proposed|introducing|term|develop|develops|build|builds|"
    r"construct|constructs|create|creates|curate|curates)\b[^.]{0,40}$"
    # "... we build an evaluation dataset, Quill-Noise, which ...": the kind of thing, then
    # its name in apposition.
    r"|\b(?:dataset|benchmark|framework|model|method|approach|corpus|suite|toolkit|system|"
    r"algorithm|metric|architecture|pipeline|technique|agent)s?,\s*$",
    re.IGNORECASE,
)
# "we introduce Quill": a name written like an ordinary capitalised word counts only when
# the verb introduces it directly ("introduce Indonesian models" would name nothing).
_DIRECTLY = re.compile(rf"\b(?:{_DIRECT_VERBS})\s+$", re.IGNORECASE)
_COMMON = {
    "ai", "api", "apis", "cpu", "cpus", "gpu", "gpus", "llm", "llms", "lm", "lms", "ml",
    "nlp", "nlu", "nlg", "qa", "rl", "sota", "ood", "iid", "url", "usa", "uk", "eu", "ii",
    "iii", "iv", "gpt", "bert", "rlhf", "sft", "dpo", "ppo", "mlp", "cnn", "rnn", "lstm",
    "moe", "kv", "rag", "icl", "asr", "tts", "mt", "ner", "pos", "f1", "bleu", "rouge",
}  # fmt: skip
INTRODUCED_WEIGHT = 2  # an introduced name counts as two more mentions
MIN_SCORE = 3  # a name must be introduced, or repeated three times


def _coined(word: str) -> bool:
    capitals = sum(c.isupper() for c in word)
    if capitals < 2 or word.lower() in _COMMON:
        return False
    if re.fullmatch(r"[a-z]?[A-Z]+s", word):  # a plural acronym ("MLLMs"): a kind of thing
        return False
    return word.split("-")[0].lower() not in _COMMON  # "NLP-based" describes, it names nothing


def _plain_names(abstract: str, words: list[re.Match[str]]) -> set[str]:
    """Capitalised words the abstract introduces directly and uses again ("we introduce
    Quill, ... Quill is ..."): names with one capital that :func:`_coined` cannot tell.
    ``words``: the abstract's :data:`_NAME` matches."""
    introduced = {
        m.group(1)
        for m in words
        if re.fullmatch(r"[A-Z][a-z0-9]+", m.group(1))
        and _DIRECTLY.search(abstract[max(0, m.start() - 20) : m.start()])
    }
    uses = Counter(m.group(1) for m in words)
    return {w for w in introduced if uses[w] >= 2}


def paper_name(abstract: str, introduced_only: bool = False) -> str | None:
    """The name the abstract gives its own method, model or benchmark, if any.

    ``introduced_only``: only a name the abstract introduces ("we propose Quill"), not one
    it merely repeats (a titled paper's abstract repeats the names of what it builds on).
    """
    words = list(_NAME.finditer(abstract))
    plain = _plain_names(abstract, words)
    scores: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    introduced: set[str] = set()
    for match in words:
        word = match.group(1)
        if not (_coined(word) or word in plain):
            continue
        first_seen.setdefault(word, match.start())
        scores[word] += 1
        if _INTRODUCED.search(abstract[max(0, match.start() - 60) : match.start()]):
            scores[word] += INTRODUCED_WEIGHT
            introduced.add(word)
    if introduced_only:
        scores = Counter({w: n for w, n in scores.items() if w in introduced})
    if not scores:
        return None
    best = max(scores, key=lambda w: (scores[w], -first_seen[w]))
    return best if scores[best] >= MIN_SCORE else None
