"""``biomed-vital preferences`` build/summary on real demonstrations with stand-in images."""

from __future__ import annotations

import json

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
