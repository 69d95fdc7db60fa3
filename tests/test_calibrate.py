"""The calibration replays read recorded runs the way the product decided (no model)."""

from __future__ import annotations

import json
from pathlib import Path

from eval.calibrate_verdict import agreement, main, read_leads


def test_the_verdict_margin_is_replayed_from_recorded_yes_leads(tmp_path: Path, capsys) -> None:
    questions = tmp_path / "questions.jsonl"
    rows = [("q1", "yes", 2.0), ("q2", "no", 0.5), ("q3", "no", -1.0), ("q4", "yes", None)]
    questions.write_text("".join(
        json.dumps({"id": qid, "type": "yesno", "label": label}) + "\n" for qid, label, _ in rows
    ))  # fmt: skip
    records = [{"id": qid, "signals": {} if lead is None else {"yes_lead": lead}}
               for qid, _, lead in rows]  # fmt: skip
    runs = tmp_path / "runs.json"
    runs.write_text(json.dumps([{"records": records}]))

    leads = read_leads(runs, questions)
    assert leads == [(2.0, "yes"), (0.5, "no"), (-1.0, "no")]  # q4 was not scored
    assert agreement(leads, 0.0) == 2 / 3  # q2 leans yes below a margin of 0.5
    assert agreement(leads, 1.0) == 1.0
    assert main([str(runs), "--questions", str(questions)]) == 0
    assert "| 1.00 | 1.000 |" in capsys.readouterr().out
