"""Mixing clinician and judge pairs with a weight per source."""

from __future__ import annotations

import pytest

from biomed_vital.preferences import clinician_weight_sweep, mix_preferences, summarize_preferences


def test_mix_sets_weights_by_source(clinician_and_judge):
    clinician, judge = clinician_and_judge
    mixed = mix_preferences(clinician, judge, clinician_weight=100)
    assert len(mixed) == len(clinician) + len(judge) and mixed.column_names == clinician.column_names
    assert set(zip(mixed["source"], mixed["weight"], strict=True)) == {("clinician", 100.0), ("judge", 1.0)}
    mapped = mix_preferences(clinician, judge, clinician_weight={"clinician": 10, "judge": 0.5})
    assert set(mapped.to_pandas().groupby("source")["weight"].first().items()) == {
        ("clinician", 10.0),
        ("judge", 0.5),
    }
    assert mixed[0]["chosen_image"].size == clinician[0]["chosen_image"].size
    with pytest.raises(ValueError, match=r"no weight given for source\(s\) \['judge'\]"):
        mix_preferences(clinician, judge, clinician_weight={"clinician": 10})
    with pytest.raises(ValueError, match="clinician_weight must be a positive finite number"):
        mix_preferences(clinician, judge, clinician_weight=-1)
    summary = summarize_preferences(mixed)
    assert f"clinician{len(clinician):>11,}" in summary
    assert "ties 0" in summary and "judge rows: 116" in summary


def test_weight_sweep_defaults_to_the_paper_values(clinician_and_judge):
    sweep = clinician_weight_sweep(*clinician_and_judge)
    assert list(sweep) == [1.0, 10.0, 100.0, 200.0, 300.0, 400.0]
    assert max(sweep[400.0]["weight"]) == 400.0 and min(sweep[400.0]["weight"]) == 1.0
