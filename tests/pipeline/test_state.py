"""Stage markers: written last and atomically, read back, and compared setting by setting."""

from __future__ import annotations

import pytest

from biomed_vital.pipeline.state import MARKER, StageRecord, fingerprint, settings_of


def test_a_marker_round_trips_and_a_missing_one_means_not_done(tmp_path):
    assert StageRecord.read(tmp_path / "judge") is None
    record = StageRecord("judge", "abc", {"judge": {"max_tokens": 512}}, {"judged": 14})
    record.write(tmp_path / "judge")
    assert not list((tmp_path / "judge").glob(".*.tmp"))  # the temporary file was renamed into place
    back = StageRecord.read(tmp_path / "judge")
    assert back == record and back.finished_at > 0


def test_a_damaged_marker_is_named_with_what_to_do(tmp_path):
    (tmp_path / MARKER).write_text("{not json")
    with pytest.raises(ValueError, match=r"stage\.json is not a stage marker.*delete it"):
        StageRecord.read(tmp_path)


def test_changed_settings_name_the_field_and_both_values():
    record = StageRecord("sample", "x", {"sample": {"n_clusters": 3, "seed": 0}})
    assert record.changed_settings({"sample": {"n_clusters": 2, "seed": 0}}) == ["sample.n_clusters: 3 -> 2"]
    assert record.changed_settings({"sample": {"n_clusters": 3, "seed": 0}}) == []


def test_the_fingerprint_follows_settings_and_the_stage_before():
    from biomed_vital.generation import GeneratorConfig

    base = settings_of(GeneratorConfig(n_candidates=2))
    assert fingerprint(base, upstream="a") == fingerprint(
        settings_of(GeneratorConfig(n_candidates=2)), upstream="a"
    )
    assert fingerprint(base, upstream="a") != fingerprint(base, upstream="b")
    assert fingerprint(base, upstream="a") != fingerprint(
        settings_of(GeneratorConfig(n_candidates=3)), upstream="a"
    )
    # where a run writes its progress bars or cache is not part of what it makes
    from biomed_vital.engine.config import EngineConfig

    assert settings_of(EngineConfig(cache_dir="a", show_progress=False)) == settings_of(
        EngineConfig(cache_dir="b")
    )
