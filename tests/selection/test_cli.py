from __future__ import annotations

import json

import pytest
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


def test_a_first_selector_trains_offline_from_encoder_folders(tmp_path, small_pairs, capsys):
    from biomed_vital.selection import SelectorModel
    from biomed_vital.testing import tiny_image_encoder, tiny_text_encoder

    tiny_image_encoder("vit", tmp_path / "encoders" / "vision")
    tiny_text_encoder(tmp_path / "encoders" / "text")
    small_pairs.save_to_disk(str(tmp_path / "pairs"))

    command = [
        "train-selector",
        str(tmp_path / "pairs"),
        "--vision-model",
        str(tmp_path / "encoders" / "vision"),
    ]
    command += [
        "--text-model",
        str(tmp_path / "encoders" / "text"),
        "--freeze-vision",
        "--num-train-epochs",
        "1",
    ]
    assert main([*command, "--output-dir", str(tmp_path / "selector"), "--report-to", "none"]) == 0

    assert "saved the selector" in capsys.readouterr().out
    selector = SelectorModel.from_pretrained(tmp_path / "selector")
    assert selector.config.vision_config.model_type == "vit" and selector.config.freeze_vision
    assert (tmp_path / "selector" / "processor_config.json").is_file()


@pytest.mark.parametrize(
    ("start", "answer"),
    [
        (
            [],
            "nothing to start from: give --model (a saved selector), --biomedclip (an open_clip checkpoint) or both",
        ),
        (["--vision-model", "encoders/vision"], "--vision-model needs --text-model too"),
        (["--text-model", "encoders/text"], "--text-model needs --vision-model too"),
        (
            ["--model", "selector", "--text-model", "encoders/text"],
            "give one start, not --model and --text-model",
        ),
        (
            [
                "--biomedclip",
                "biomedclip",
                "--vision-model",
                "encoders/vision",
                "--text-model",
                "encoders/text",
            ],
            "give one start, not --biomedclip and --vision-model with --text-model",
        ),
    ],
    ids=["nothing", "vision only", "text only", "model and an encoder", "biomedclip and encoders"],
)
def test_train_selector_says_what_to_start_from(start, answer, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train-selector", str(tmp_path / "pairs"), *start, "--output-dir", str(tmp_path / "sel")])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert answer in err
