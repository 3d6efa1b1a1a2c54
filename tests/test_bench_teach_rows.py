"""``bench/teach.py``'s seed recipe turns the seed's free-text replies into training rows
(no model: the slow smoke test's tiny replies are rarely parseable, so it cannot show this)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from teach import seed_rows


def test_a_seed_reply_becomes_one_prompt_completion_row_per_pair() -> None:
    reply = ("**Question 1:** How tall is the Eiffel Tower?\n**Answer 1:** 330 metres.\n\n"
             "**Question 2:** Where does the Nile end?\n**Answer 2:** In the Mediterranean.")
    rows = seed_rows(reply)
    assert [(r["prompt"][-1]["content"], r["completion"][-1]["content"]) for r in rows] == [
        ("How tall is the Eiffel Tower?", "330 metres."),
        ("Where does the Nile end?", "In the Mediterranean.")]
    assert seed_rows("no pairs in here") == []
