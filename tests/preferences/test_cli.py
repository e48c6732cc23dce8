"""``biomed-vital preferences`` build/summary on real demonstrations with stand-in images."""

from __future__ import annotations

import json

import pytest
from datasets import load_from_disk

from biomed_vital.cli.commands.preferences import main
from biomed_vital.data import qa_pairs


def test_build_mixes_splits_saves_and_summarises(tmp_path, candidates, candidate_rows, capsys):
    scores = [8.0 if r["candidate_id"].endswith("orig") else 2.0 for r in candidate_rows]
    judged = candidates.add_column("judge_score", scores).add_column("judge_status", ["ok"] * len(scores))
    judged.save_to_disk(tmp_path / "judged")
    annotations = tmp_path / "annotations.jsonl"
    with annotations.open("w") as handle:
        for orig, swap in zip(candidate_rows[0:20:2], candidate_rows[1:20:2], strict=True):
            question = qa_pairs(orig["messages"])[0][0]
            record = {"candidate_id_a": swap["candidate_id"], "candidate_id_b": orig["candidate_id"]}
            handle.write(
                json.dumps({**record, "question": question, "choice": "B", "annotator": "rad-1"}) + "\n"
            )

    code = main(
        ["build", "--judged", str(tmp_path / "judged"), "--annotations", str(annotations), "--min-gap", "3"]
        + ["--clinician-weight", "50", "--test-size", "0.2", "--output", str(tmp_path / "pairs")]
    )
    assert code == 0
    splits = load_from_disk(tmp_path / "pairs")
    assert set(splits) == {"train", "test"}
    train = splits["train"]
    assert set(zip(train["source"], train["weight"], strict=True)) == {("clinician", 50.0), ("judge", 1.0)}
    assert main(["summary", str(tmp_path / "pairs")]) == 0
    out = capsys.readouterr().out
    assert "[test]" in out and "clinician records: 10 (10 pairwise" in out


def test_bad_annotations_exit_with_the_record_named(tmp_path, candidates, capsys):
    candidates.save_to_disk(tmp_path / "candidates")
    annotations = tmp_path / "annotations.jsonl"
    annotations.write_text(json.dumps({"candidate_id": "missing", "question": "q", "accepted": True}) + "\n")
    code = main(["build", "--candidates", str(tmp_path / "candidates"), "--annotations", str(annotations)])
    assert code == 2
    assert "record 0: the answer names candidate 'missing'" in capsys.readouterr().err


def _annotations(tmp_path, candidate_rows, count=6):
    path = tmp_path / "annotations.jsonl"
    with path.open("w") as handle:
        for orig, swap in zip(
            candidate_rows[0 : 2 * count : 2], candidate_rows[1 : 2 * count : 2], strict=True
        ):
            record = {"candidate_id_a": orig["candidate_id"], "candidate_id_b": swap["candidate_id"]}
            question = qa_pairs(orig["messages"])[0][0]
            handle.write(json.dumps({**record, "question": question, "choice": "A"}) + "\n")
    return path


def test_options_come_from_a_config_file_and_flags_override_it(tmp_path, candidates, candidate_rows, capsys):
    scores = [7.0 if r["candidate_id"].endswith("orig") else 3.0 for r in candidate_rows]
    judged = candidates.add_column("judge_score", scores).add_column("judge_status", ["ok"] * len(scores))
    judged.save_to_disk(tmp_path / "judged")
    annotations = _annotations(tmp_path, candidate_rows)
    config = tmp_path / "preferences.yaml"
    config.write_text("clinician_weight: 20\nmin-gap: 5\npairs_per_item: 1\n")
    arguments = ["build", "--config", str(config), "--judged", str(tmp_path / "judged")]
    arguments += ["--annotations", str(annotations), "--output", str(tmp_path / "pairs")]
    # min_gap 5 from the file leaves no judge pairs (every gap is 4); the flag lowers it
    assert main([*arguments, "--min_gap", "4"]) == 0
    pairs = load_from_disk(tmp_path / "pairs")
    assert set(zip(pairs["source"], pairs["weight"], strict=True)) == {("clinician", 20.0), ("judge", 1.0)}
    assert main(arguments) == 0
    assert set(load_from_disk(tmp_path / "pairs")["source"]) == {"clinician"}
    assert main([*arguments, "--no-judge-pairs", "--output", str(tmp_path / "only")]) == 0
    only = load_from_disk(tmp_path / "only")
    assert set(only["source"]) == {"clinician"} and set(only["weight"]) == {20.0}
    assert "6 preference pairs over 6 figures" in capsys.readouterr().out


def test_help_lists_the_actions_and_mistakes_are_one_line(tmp_path, capsys):
    from biomed_vital.cli import main as biomed_vital_main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "build" in out and "summary" in out
    assert main([]) == 2 and main(["bogus"]) == 2
    assert "unknown action 'bogus'; choose from build, summary" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--min-gap", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "biomed-vital preferences build: error: min_gap must be a positive number "
        "(equal scores cannot be ordered), got 0.0"
    )
    assert biomed_vital_main(["preferences", "build"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("biomed-vital preferences: error: nothing to build") and "\n" not in err
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    assert "is not a folder written by save_to_disk" in capsys.readouterr().err
