"""The checking pipeline (rag.checks): one interface, one ordered list, each check's
verdict named, thresholds from settings.checks. Made-up papers only (tests/made_up.py)."""

from __future__ import annotations

import pytest

from rag.checks import build_checks, run_checks
from rag.checks.answerable import AnswerableCheck
from rag.checks.citations import CitationCheck
from rag.checks.grounding import GroundingCheck, NumbersCheck, QuantityCheck, RestatementCheck
from rag.checks.premise import PremiseCheck, marked_terms
from rag.checks.refusal import AnswerMarginCheck, RefusalCheck, is_refusal
from rag.checks.sides import OtherPaperCheck
from rag.checks.specific import SpecificAnswerCheck, abbreviates, names_in
from rag.settings import CheckSettings, Settings
from rag.types import Draft, Shape, Source
from tests.made_up import source

QUILL, HARROW, SPINDLE = source(0, 1), source(1, 2), source(2, 3)


def draft(text: str, question: str, shape: Shape = Shape.FACT, sources=None, **kw) -> Draft:
    return Draft(question, question, shape, sources or [QUILL, HARROW], text, **kw)


def test_checks_run_in_one_listed_order_with_unique_names() -> None:
    names = [c.name for c in build_checks(CheckSettings())]
    assert names == ["other_paper", "refusal", "answer_margin", "citations", "premise",
                     "restatement", "numbers", "quantity", "grounding", "specific",
                     "answerable"]  # fmt: skip


def test_a_grounded_fact_passes_every_check() -> None:
    d = draft("Quill lowers word error rate by 12% on eleven languages [1].",
              "By how much does Quill lower word error rate?")  # fmt: skip
    assert run_checks(d, build_checks(CheckSettings())) is None
    assert d.signals["grounding"] == 1.0


def test_a_comparison_part_is_cut_where_it_turns_to_the_other_paper() -> None:
    asked = "How does Quill differ from Harrow?"
    part = draft(" adds sparse adapters, while Harrow learns tokens.", asked, Shape.COMPARISON,
                 [QUILL])  # fmt: skip
    assert OtherPaperCheck()(part) is None
    assert part.text == " adds sparse adapters."
    assert part.notes == ["[1]: the part on the other paper was cut"]
    about_the_other = draft(" is compared with Harrow.", asked, Shape.COMPARISON, [QUILL])
    assert OtherPaperCheck()(about_the_other).check == "other_paper"
    # Not a comparison part (or no second side): untouched.
    fact = draft("Quill adds adapters, while Harrow learns tokens [1].", asked, Shape.FACT)
    assert OtherPaperCheck()(fact) is None and "Harrow" in fact.text


def test_refusal() -> None:
    assert is_refusal("The sources do not say.")
    assert is_refusal("The provided sources do not contain that information.")
    assert not is_refusal("Harrow needs no transcribed audio [2].")
    verdict = RefusalCheck()(draft("The sources do not say.", "How big is Quill?"))
    assert verdict and verdict.check == "refusal"
    assert RefusalCheck()(draft("  ", "How big is Quill?"))


def test_answer_margin_is_measured_and_withholds_only_when_set() -> None:
    def with_margin(check: AnswerMarginCheck):
        d = draft("Quill trains 3% of the weights [1].", "How much of Quill is trained?")
        d.signals.update(answer_logprob=-1.0, refusal_logprob=-1.2)
        return check(d), d.signals["answer_margin"]

    verdict, margin = with_margin(AnswerMarginCheck(None))
    assert verdict is None and margin == pytest.approx(0.2)
    verdict, _ = with_margin(AnswerMarginCheck(0.5))
    assert verdict and verdict.check == "answer_margin"


def test_citation_check_repairs_markers_and_never_withholds() -> None:
    d = draft("Harrow needs no transcribed audio [1]. Quill trains 3% of its weights [7].",
              "What do Quill and Harrow need?")  # fmt: skip
    assert CitationCheck(0.8)(d) is None
    assert d.text == "Harrow needs no transcribed audio [2]. Quill trains 3% of its weights [1]."
    assert d.invalid_citations == [7]
    after_title = draft(" learns tokens [2] from speech.", "Which paper?", Shape.EXISTENCE,
                        [HARROW], scaffold="Harrow [2]")  # fmt: skip
    CitationCheck(0.8)(after_title)
    assert after_title.text == "learns tokens from speech."  # the scaffold holds the marker


def test_restatement_of_the_question_is_withheld_but_a_yes_no_verdict_is_not() -> None:
    echo = draft("Spindle prunes attention heads [3].", "Does Spindle prune attention heads?",
                 sources=[SPINDLE])  # fmt: skip
    assert RestatementCheck()(echo).check == "restatement"
    echo.shape = Shape.YESNO
    echo.text = "Yes, Spindle prunes attention heads [3]."
    assert RestatementCheck()(echo) is None
    for bare in ("Yes: Yes.", "No: no", "Yes."):  # a verdict with no finding to check or cite
        echo.text = bare
        assert "no finding" in RestatementCheck()(echo).reason
    titled = draft("prunes attention heads.", "Which paper prunes attention heads?",
                   Shape.EXISTENCE, [SPINDLE], scaffold="Spindle [3]")  # fmt: skip
    assert RestatementCheck()(titled).check == "restatement"  # its line quotes the abstract
    titled.text = "scores each head by its gradient."
    assert RestatementCheck()(titled) is None


def test_numbers_not_in_the_sources_are_withheld() -> None:
    verdict = NumbersCheck()(draft("Quill covers 14 languages [1].", "How wide is Quill?"))
    assert verdict.check == "numbers" and "14" in verdict.reason
    spelled = draft("Quill covers eleven languages [1].", "How many languages does Quill cover?")
    assert NumbersCheck()(spelled) is None


def test_a_share_must_be_a_share_in_the_sources() -> None:
    # Quill's abstract states 11 as a count of languages and 12 and 3 as percentages.
    as_share = draft("Quill replays 11% of its data [1].", "How much data does Quill replay?")
    verdict = NumbersCheck()(as_share)
    assert verdict.check == "numbers" and "11%" in verdict.reason
    assert NumbersCheck()(draft("Quill trains 3 percent of its weights [1].", "Quill?")) is None
    asked = draft("Yes, by 11% [1].", "Does Quill gain 11% on eleven languages?")
    assert NumbersCheck()(asked) is None  # the question gave the share


def test_a_repeated_name_or_number_of_the_question_must_be_in_a_cited_source() -> None:
    check = PremiseCheck()
    # Quill's abstract names no lab and no 90B model: the draft took both from the question.
    lab = draft("Nimbus Labs built Quill to lower word error rate [1].",
                "Why did Nimbus Labs build Quill?")  # fmt: skip
    verdict = check(lab)
    assert verdict.check == "premise" and '"Nimbus"' in verdict.reason
    size = draft("Quill shrinks the 90B encoder with sparse adapters [1].",
                 "How does Quill shrink a 90B encoder?")  # fmt: skip
    assert '"90B"' in check(size).reason
    # Harrow is a source, but not the one cited for the claim.
    borrowed = draft("Quill borrows Harrow's tokens [1].",
                     "Which tokens does Quill take from Harrow?")  # fmt: skip
    assert '"Harrow"' in check(borrowed).reason
    # Harrow's fact added to an answer about Quill: [2] does not name Quill.
    mixed = draft("Quill freezes its acoustic encoder [1]; it learns 512 token types [2].",
                  "What does Quill freeze, and how many token types does it learn?")  # fmt: skip
    assert "[2]" in check(mixed).reason


def test_a_premise_denied_stated_or_spelled_out_passes() -> None:
    check = PremiseCheck()
    denied = draft("Quill's abstract names no lab; it adds sparse adapters [1].",
                   "Why did Nimbus Labs build Quill?")  # fmt: skip
    assert check(denied) is None
    assert check(draft("Quill lowers WER by 12% [1].", "By how much does Quill lower WER?")) is None
    stated = draft("Quill trains 3% of the weights [1].", "How much of Quill is trained?")
    assert check(stated) is None
    both = draft("Quill needs transcripts [1]; Harrow needs none [2].",
                 "Which of Quill and Harrow needs no transcripts?", Shape.SUPERLATIVE)  # fmt: skip
    assert check(both) is None  # each cited paper is one the question names
    yes_no = draft("No: Quill names no lab [1].", "Did Nimbus Labs build Quill?", Shape.YESNO)
    assert check(yes_no) is None
    assert marked_terms("What did Nimbus Labs' Quill-7B add in 2021 to Quill-based ASR?") == [
        "Nimbus", "Labs", "Quill", "7B", "2021", "ASR"]  # fmt: skip
    # A quoted title names a paper whose abstract may lack it; a sentence opens capitalised.
    assert marked_terms("Do 'Fast And Small Ears' and Quill differ? At what stage?") == ["Quill"]


def test_quantity_needs_a_number_in_the_asked_unit_from_a_passage_about_it() -> None:
    check = QuantityCheck((3, 5))
    assert check(draft("Quill uses adapters [1].", "How many languages does Quill cover?"))
    off = draft("Quill covers 3 languages [1].", "How many languages does Quill cover?")
    assert check(off).check == "quantity"  # 3 is a share of weights, not languages
    right = draft("Quill covers 11 languages [1].", "How many languages does Quill cover?")
    assert check(right) is None


def test_quantity_asks_the_model_over_the_number_sentences_when_the_words_differ() -> None:
    task = Source(1, "doc-s", "The Spindle Shared Task",
                  "Spindle is a shared task on tagging bird song. It gathered 1,204 tracks from "
                  "12 countries. Most used sparse adapters.", 1.0, 0.6, None, "")  # fmt: skip
    question = "How many songs did the Spindle task collect?"  # the abstract counts tracks
    asked: list[str] = []

    def lead_of(value: float):
        def yes_lead(job: str, block: str | None = None) -> float:
            asked.append(block or "")
            return value

        return yes_lead

    text = "Spindle collected 1,204 songs [1]."
    assert QuantityCheck((3, 5))(draft(text, question, sources=[task])).check == "quantity"
    sure = draft(text, question, sources=[task], yes_lead=lead_of(0.6))
    assert QuantityCheck((3, 5), min_lead=0.25)(sure) is None
    assert sure.signals["quantity_lead"] == 0.6
    # Only the sentence that holds the number is shown, under its paper's title.
    assert asked[-1] == "[1] The Spindle Shared Task\nIt gathered 1,204 tracks from 12 countries."
    unsure = draft(text, question, sources=[task], yes_lead=lead_of(0.1))
    assert QuantityCheck((3, 5), min_lead=0.25)(unsure).check == "quantity"
    # A draft the word rules pass is not asked.
    before = len(asked)
    kept = draft("Spindle gathered 1,204 tracks [1].", "How many tracks did Spindle gather?",
                 sources=[task], yes_lead=lead_of(-5.0))  # fmt: skip
    assert QuantityCheck((3, 5), min_lead=0.25)(kept) is None and len(asked) == before


def test_grounding_ignores_reporting_words_and_reads_spelled_numbers_on_both_sides() -> None:
    reported = draft("Yes: the authors found that Quill lowers the error rate [1].",
                     "Does Quill lower word error rate?", Shape.YESNO)  # fmt: skip
    assert GroundingCheck(0.5)(reported) is None  # "authors", "found" report; they claim nothing
    tiled = Source(1, "doc-t", "Tiles", "Four-layer tiles render faster.", 1.0, 0.6,
                   None, "")  # fmt: skip
    spelled = draft("Four-layer tiles render faster [1].", "Which tiles render faster?",
                    sources=[tiled])  # fmt: skip
    assert GroundingCheck(0.5)(spelled) is None


def test_grounding_threshold_comes_from_settings() -> None:
    text = "Quill adapters were designed by astronauts aboard orbital stations [1]."
    question = "Who designed Quill?"
    assert GroundingCheck(0.5)(draft(text, question)).check == "grounding"
    assert GroundingCheck(0.0)(draft(text, question)) is None
    strict = Settings.load(min_grounding="0.99").checks
    grounding = next(c for c in build_checks(strict) if c.name == "grounding")
    assert grounding.min_share == 0.99


def test_answerable_asks_only_fact_drafts_and_withholds_below_its_lead() -> None:
    asked: list[str] = []

    def lead_of(value: float):
        def yes_lead(job: str) -> float:
            asked.append(job)
            return value

        return yes_lead

    question = "Which optimizer does Quill use?"  # the abstract does not say
    d = draft("Quill adds sparse adapters to a frozen encoder [1].", question,
              yes_lead=lead_of(-0.4))  # fmt: skip
    verdict = AnswerableCheck(0.3)(d)
    assert verdict and verdict.check == "answerable"
    assert d.signals["answerable_lead"] == -0.4
    assert "state the answer" in asked[-1]
    assert AnswerableCheck(0.3)(draft("Quill trains 3% of its weights [1].",
                                      "How much of Quill is trained?",
                                      yes_lead=lead_of(1.2))) is None  # fmt: skip
    before = len(asked)
    # Not asked: a yes/no draft (answerable by "no"), a listed paper's line, no threshold.
    assert AnswerableCheck(0.3)(draft("Yes: it does [1].", "Does Quill help?", Shape.YESNO,
                                      yes_lead=lead_of(-5.0))) is None  # fmt: skip
    assert (
        AnswerableCheck(0.3)(
            draft(
                " adds adapters.",
                question,
                Shape.EXISTENCE,
                scaffold="Quill [1]",
                yes_lead=lead_of(-5.0),
            )
        )
        is None
    )
    assert AnswerableCheck(None)(draft("Quill adds adapters [1].", question,
                                       yes_lead=lead_of(-5.0))) is None  # fmt: skip
    assert len(asked) == before
    # As a gate (rag.checks.build_gates): a comparison, before its lines exist, is asked.
    gate = AnswerableCheck(0.3, shapes=(Shape.COMPARISON,))
    assert gate(draft("", "Which of Quill and Harrow trained longer?", Shape.COMPARISON,
                      yes_lead=lead_of(0.1))).check == "answerable"  # fmt: skip
    assert gate(draft("Quill adds adapters [1].", question, yes_lead=lead_of(-5.0))) is None
    assert len(asked) == before + 1


def test_a_which_question_needs_an_answer_that_names_something() -> None:
    check = SpecificAnswerCheck(0.5)
    question = "Which vocoder turns Quill's output into audio?"
    vague = draft("Quill places its sparse adapters after every second encoder layer [1].",
                  question)  # fmt: skip
    verdict = check(vague)
    assert verdict is not None and verdict.check == "specific" and "vocoder" in verdict.reason
    assert check(draft("Quill feeds its output to WaveQuill [1].", question)) is None
    assert check(draft("It uses the vocoder of release 3 [1].", question)) is None
    # Other questions are not this check's: "what", a paper asked for, yes/no; nor unset.
    assert check(draft(vague.text, "What vocoder turns Quill's output into audio?")) is None
    assert check(draft(vague.text, "Which paper adds sparse adapters?")) is None
    assert check(draft(vague.text, question, Shape.YESNO)) is None
    assert SpecificAnswerCheck(None)(draft(vague.text, question)) is None


def test_a_name_most_retrieved_papers_share_is_not_an_answer() -> None:
    shared = [Source(n, f"asr-{n}", f"Made-up ASR paper {n}", "An ASR system for radio.", 0.5,
                     0.5, 0.5, "") for n in (1, 2, 3)]  # fmt: skip
    question = "Which encoder does Quill freeze?"
    answer = "The ASR encoder is frozen [1]."
    assert check_verdict(answer, question, retrieved=shared) == "specific"
    assert check_verdict(answer, question, retrieved=shared[:1]) is None  # one paper's name
    # A capital that only opens a sentence ("Quill", "Both") does not make a name.
    assert names_in("Quill beats Harrow-2 and ASRNet. Both run on 3 TPUs.") == {
        "harrow-2", "asrnet", "3", "tpus"}  # fmt: skip


def test_initials_of_the_questions_own_words_are_not_an_answer() -> None:
    question = "Which voice activity detectors does Quill run before decoding?"
    assert check_verdict("Quill runs VADs before decoding [1].", question) == "specific"
    assert check_verdict("Quill runs HarrowGate before decoding [1].", question) is None
    assert abbreviates("VAD", question) and abbreviates("VADs", question)
    assert not abbreviates("QVD", question) and not abbreviates("V2", question)


def check_verdict(text: str, question: str, **kw) -> str | None:
    verdict = SpecificAnswerCheck(0.5)(draft(text, question, **kw))
    return verdict.check if verdict else None
