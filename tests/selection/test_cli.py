from __future__ import annotations

import json

from datasets import load_from_disk

from biomed_vital.cli import main
from biomed_vital.testing import tiny_selector


def test_train_then_select_from_the_command_line(tmp_path, small_pairs, candidates, capsys):
    tiny_selector(out_dir=tmp_path / "start")
    small_pairs.save_to_disk(str(tmp_path / "pairs"))
    candidates.save_to_disk(str(tmp_path / "candidates"))

    assert (
        main(
            [
                "train-selector",
                str(tmp_path / "pairs"),
                "--model",
                str(tmp_path / "start"),
                "--eval",
                str(tmp_path / "pairs"),
                "--num-train-epochs",
                "1",
                "--per-device-train-batch-size",
                "16",
                "--learning-rate",
                "1e-3",
                "--output-dir",
                str(tmp_path / "selector"),
                "--report-to",
                "none",
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "selector" / "eval_metrics.json").read_text())
    assert "eval_pairwise_accuracy" in metrics

    assert (
        main(
            [
                "select",
                str(tmp_path / "candidates"),
                "--model",
                str(tmp_path / "selector"),
                "--top-fraction",
                "0.5",
                "--num-workers",
                "0",
                "--out",
                str(tmp_path / "selected"),
            ]
        )
        == 0
    )
    selected = load_from_disk(str(tmp_path / "selected" / "data"))
    assert len(selected) == 6  # half of the 11 candidates whose status is ok, rounded up
    assert (tmp_path / "selected" / "report" / "selection_summary.json").is_file()
    assert "kept 6 of 12" in capsys.readouterr().out
