"""Does an abstract support a sentence? An offline overlap check, used to score citations.

No entailment model ships offline here, so support is lexical: a sentence is supported by
an abstract when most of its content words occur in the abstract (title included) and
every number it states does. How well this agrees with the truth is measured, not assumed:
``python -m eval.support`` scores it on the question set's reference answers against their
gold abstracts (should be supported) and against the most similar non-gold abstract that
retrieval returned (should not); see eval/README.md for the numbers.
"""

from __future__ import annotations

import re

from rag.terms import content_terms, numbers_in

MIN_TERM_SHARE = 0.6  # of the sentence's content words that must be in the abstract
_MARKERS = re.compile(r"\[\d[\d,\s–-]*\]")


def strip_markers(text: str) -> str:
    """The text without [n] citation markers."""
    return _MARKERS.sub("", text)


def supports(sentence: str, title: str, abstract: str) -> bool:
    """Whether ``abstract`` (with ``title``) backs ``sentence`` (see module docstring)."""
    sentence = strip_markers(sentence)
    terms = content_terms(sentence)
    numbers = numbers_in(sentence)
    if not terms and not numbers:
        return True  # nothing checkable ("Yes.")
    source_terms = content_terms(f"{title} {abstract}")
    if not numbers <= numbers_in(f"{title} {abstract}"):
        return False
    return not terms or len(terms & source_terms) / len(terms) >= MIN_TERM_SHARE


def main() -> int:
    """Agreement of :func:`supports` with the question set (positives and hard negatives)."""
    from eval.dataset import DEFAULT_QUESTIONS, load_questions
    from rag.loaders import load_default_corpus
    from rag.pipeline import Assistant
    from rag.settings import Settings

    papers = load_default_corpus()
    by_id = {p.doc_id: p for p in papers}
    questions = [q for q in load_questions(DEFAULT_QUESTIONS, papers) if q.reference and q.gold]
    assistant = Assistant(Settings.load())
    true_pos = false_neg = true_neg = false_pos = 0
    for q in questions:
        for doc_id in q.gold[:1]:
            paper = by_id[doc_id]
            if supports(q.reference, paper.title, paper.text):
                true_pos += 1
            else:
                false_neg += 1
        other = next(
            (
                s
                for s in assistant.search(q.question, q.history, top_k=10)
                if s.doc_id not in q.gold
            ),
            None,
        )
        if other is not None:
            if supports(q.reference, other.title, other.text):
                false_pos += 1
            else:
                true_neg += 1
    total = true_pos + false_neg + true_neg + false_pos
    print(
        f"pairs {total}: supported gold {true_pos}/{true_pos + false_neg}, "
        f"rejected hard negative {true_neg}/{true_neg + false_pos}, "
        f"accuracy {(true_pos + true_neg) / total:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
