"""Does a cited abstract support a sentence of the answer? Two checks, for scoring citations.

- :class:`SupportCheck` (the yardstick of ``citation_precision``/``citation_recall``) is
  independent of the product's own decisions: the product re-points and grounds citations
  by shared content words (``rag/terms.py``); this check instead asks the embedder how
  close the sentence is to the best-matching sentence of the abstract (title included),
  and requires every number (on number boundaries) and every name-like token ("GPT-4",
  "HFT", "GeDi") of the sentence to occur in the abstract. A claim that carries another
  paper's numbers or names fails even when it is about the same topic.
- :func:`supports_lexical` is the product-style word-overlap check that the first sessions
  scored with. It is kept to report where the two disagree.

How well the independent check agrees with the truth is measured, not assumed:
``python -m eval.support --split dev`` scores each reference answer against its gold
abstract (should be supported) and against the most similar non-gold abstract that
retrieval returned for the same question (a hard negative, should not), over a grid of
similarity floors, and the floor is chosen on dev only (eval/README.md has the numbers).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence

import numpy as np

from eval.grading import strip_markers
from rag.terms import content_terms, numbers_in

# Chosen on the dev split by ``python -m eval.support --split dev`` (eval/README.md).
MIN_SIMILARITY = 0.5
MIN_TERM_SHARE = 0.6  # lexical check: share of the sentence's content words in the abstract

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
# A token that names something: two capitals, or a capital and a digit ("GPT-4", "HFT").
_NAME = re.compile(r"(?<![\w-])(?=[\w-]*[A-Z][\w-]*[A-Z0-9])[A-Za-z][\w-]*[A-Za-z0-9]")
_WORD = re.compile(r"[\w-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _numbers(text: str) -> set[str]:
    return {m.group().replace(",", "") for m in _NUMBER.finditer(text)}


def _names(text: str) -> set[str]:
    # Whole tokens: "BERT" is not in "RoBERTa", nor "GPT-4" in "GPT-4o".
    return {m.group().lower().removesuffix("s") for m in _NAME.finditer(text)}


def split_abstract(title: str, abstract: str) -> list[str]:
    """The title and the abstract's sentences (a plain splitter, not the product's)."""
    parts = [title] if title else []
    return parts + [s for s in _SENTENCE_END.split(abstract) if s.strip()]


class SupportCheck:
    """Embedding similarity to the best source sentence + exact numbers and names."""

    def __init__(
        self, embed: Callable[[list[str]], Sequence], min_similarity: float = MIN_SIMILARITY
    ) -> None:
        """``embed``: texts -> unit vectors (the product's embedder, used only to compare)."""
        self.embed = embed
        self.min_similarity = min_similarity
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        # A run asks about the same pair for the whole run, each split and the report.
        self._verdicts: dict[tuple[str, str, str], bool] = {}

    def _source_vectors(self, title: str, abstract: str) -> np.ndarray:
        key = (title, abstract)
        if not split_abstract(title, abstract):
            return np.zeros((1, 1))  # no text: nothing is similar
        if key not in self._cache:
            self._cache[key] = np.asarray(self.embed(split_abstract(title, abstract)))
        return self._cache[key]

    def similarity(self, sentence: str, title: str, abstract: str) -> float:
        """Cosine of the sentence to its best-matching title/abstract sentence."""
        sources = self._source_vectors(title, abstract)
        if sources.shape[1] == 1:
            return 0.0
        vector = np.asarray(self.embed([strip_markers(sentence)]))[0]
        return float(np.max(sources @ vector))

    def exact_parts_match(self, sentence: str, title: str, abstract: str) -> bool:
        """Every number and name-like token of the sentence occurs in the source."""
        sentence = strip_markers(sentence)
        source = f"{title} {abstract}"
        if not _numbers(sentence) <= _numbers(source):
            return False
        source_names = {n.lower() for n in _WORD.findall(source)} | _names(source)
        return all(name in source_names for name in _names(sentence))

    def supports(self, sentence: str, title: str, abstract: str) -> bool:
        """Whether the abstract (with its title) backs the sentence."""
        key = (sentence, title, abstract)
        if key not in self._verdicts:
            self._verdicts[key] = self._supports(sentence, title, abstract)
        return self._verdicts[key]

    def _supports(self, sentence: str, title: str, abstract: str) -> bool:
        text = strip_markers(sentence).strip(" .,;:!?")
        if len(re.findall(r"\w+", text)) < 3:
            return True  # nothing checkable ("Yes.")
        if not self.exact_parts_match(text, title, abstract):
            return False
        return self.similarity(text, title, abstract) >= self.min_similarity


def supports_lexical(sentence: str, title: str, abstract: str) -> bool:
    """The word-overlap check the product's own helpers imply (kept for comparison)."""
    sentence = strip_markers(sentence)
    terms = content_terms(sentence)
    numbers = numbers_in(sentence)
    if not terms and not numbers:
        return True
    if not numbers <= numbers_in(f"{title} {abstract}"):
        return False
    source_terms = content_terms(f"{title} {abstract}")
    return not terms or len(terms & source_terms) / len(terms) >= MIN_TERM_SHARE


SKIPPED_KINDS = ("multi", "comparison", "false_premise")


def validation_pairs(split: str) -> list[tuple[str, str, str, bool]]:
    """(reference answer, title, abstract, should support) over a split's questions: each
    reference against its first gold paper and against the best-ranked non-gold paper."""
    from eval.dataset import load_questions, split_path
    from rag.loaders import load_default_corpus
    from rag.pipeline import Assistant
    from rag.settings import Settings

    papers = load_default_corpus()
    by_id = {p.doc_id: p for p in papers}
    assistant = Assistant(Settings.load())
    pairs = []
    for q in load_questions(split_path(split), papers, split):
        # Single-paper kinds only: a multi-paper or corrective reference also states what
        # other papers say, or the premise it corrects, which its first gold paper lacks.
        if not (q.reference and q.gold and q.answerable) or q.type in SKIPPED_KINDS:
            continue
        gold = by_id[q.gold[0]]
        pairs.append((q.reference, gold.title, gold.text, True))
        ranked = assistant.search(q.question, q.history, top_k=10)
        other = next((s for s in ranked if s.doc_id not in q.gold), None)
        if other is not None:
            pairs.append((q.reference, other.title, other.text, False))
    return pairs


def main(argv: list[str] | None = None) -> int:
    """Agreement of both checks with the split's positives and hard negatives."""
    from rag.embedding import load_embedder
    from rag.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m eval.support", description=__doc__)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    args = parser.parse_args(argv)
    pairs = validation_pairs(args.split)
    model = load_embedder(Settings.load().device, 32, "torch")  # the grader's reference

    def embed(texts: list[str]):
        return model.encode(texts, 16)

    print(f"{args.split}: {sum(p[3] for p in pairs)} gold pairs, "
          f"{sum(not p[3] for p in pairs)} hard negatives")  # fmt: skip
    print("| check | gold supported | hard negatives rejected | accuracy |")
    print("|---|---|---|---|")

    def row(name: str, verdicts: list[bool]) -> None:
        pos = [v for v, p in zip(verdicts, pairs, strict=True) if p[3]]
        neg = [not v for v, p in zip(verdicts, pairs, strict=True) if not p[3]]
        accuracy = (sum(pos) + sum(neg)) / len(pairs)
        print(f"| {name} | {sum(pos)}/{len(pos)} | {sum(neg)}/{len(neg)} | {accuracy:.3f} |")

    row("lexical (product's terms)", [supports_lexical(s, t, a) for s, t, a, _ in pairs])
    check = SupportCheck(embed)
    exact = [check.exact_parts_match(s, t, a) for s, t, a, _ in pairs]
    similar = [check.similarity(s, t, a) for s, t, a, _ in pairs]
    for floor in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        row(f"independent, floor {floor:.2f}",
            [e and sim >= floor for e, sim in zip(exact, similar, strict=True)])  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
