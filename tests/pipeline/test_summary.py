"""The run's summary table: reused stages, spend, and what ran against stand-ins."""

from __future__ import annotations

from biomed_vital.pipeline.summary import summary_table

SUMMARY = {
    "output_dir": "runs/x",
    "stages": {"figures": {"pool": 7, "held_out": 2}, "judge": {"judged": 14, "candidates": 14}},
    "seconds": {"judge": 1.5},
    "requests": {"judge": {"sent": 14, "cost_usd": 0.05}},
}


def test_reused_stages_show_no_time_and_spend_is_summed():
    table = summary_table(SUMMARY)
    assert "| figures | reused | pool 7, held_out 2 |" in table
    assert "| judge | 1.5 | judged 14, candidates 14 |" in table
    assert "Model calls this run: 14 sent, spend $0.05." in table
    assert "stand-in" not in table


def test_spend_against_the_stand_in_says_nothing_was_charged():
    table = summary_table({**SUMMARY, "stand_ins": {"endpoint": "the offline stand-in server"}})
    assert "spend $0.05 at list prices (the stand-in server charges nothing)" in table
    assert "- endpoint: the offline stand-in server" in table
