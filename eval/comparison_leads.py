"""The comparison's answerable lead for each comparison-shaped question of some files.

    python -m eval.comparison_leads QUESTIONS.jsonl [...] --out LEADS.json

For each question without history whose shape is a comparison and that retrieval does not
decline: the two papers the reply would be about, and the model's log P("Yes") - log P("No")
asked whether their sentences state the answer (the reply's own gate,
``rag.pipeline.Assistant._gate``, run with no limit). ``checks.min_comparison_lead`` was
chosen from its output (eval/results/README.md).
"""

from __future__ import annotations

import argparse
import json

from rag.pipeline import Assistant
from rag.settings import Settings
from rag.types import Shape


def main() -> None:
    """Print and save one ``{"id", "type", "lead"}`` per comparison-shaped question."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    settings = Settings.load()
    settings.checks.min_comparison_lead = float("-inf")  # asked, never withheld: the lead
    assistant = Assistant(settings)
    leads = []
    for path in args.questions:
        with open(path, encoding="utf-8") as handle:
            questions = [json.loads(line) for line in handle if line.strip()]
        for question in questions:
            if question.get("history"):
                continue
            retrieval = assistant.retrieve_or_abstain(question["question"])
            answer = retrieval.answer
            if answer.shape is not Shape.COMPARISON:
                continue
            lead = None
            if not answer.abstained:
                assistant._gate(answer, retrieval.papers)
                lead = answer.signals.get("answerable_lead")
            leads.append({"id": question["id"], "type": question["type"], "lead": lead})
            print(leads[-1], flush=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(leads, handle, indent=1)


if __name__ == "__main__":
    main()
