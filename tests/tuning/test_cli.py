"""`biomed-vital tune`: flags from VisualInstructionConfig, saved data in, a model with its card out."""

from __future__ import annotations

import json

import pytest

from biomed_vital.cli.main import main as cli


@pytest.fixture()
def saved_selected(tmp_path, short_conversations):
    selected = short_conversations.select(range(6)).add_column(
        "selector_score", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    )
    selected.save_to_disk(tmp_path / "selected" / "data")
    return tmp_path / "selected" / "data"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--model is required"),
        (["--model", "m", "--ratios", "1", "2"], "--ratios needs one value per source"),
        (
            ["--model", "m", "--output-dir", "o", "--stage", "alignment", "--method", "lora"],
            "alignment stage",
        ),
    ],
)
def test_usage_mistakes_are_one_line_errors(saved_selected, capsys, extra, message):
    with pytest.raises(SystemExit) as stop:
        cli(["tune", str(saved_selected), *extra])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_missing_data_is_a_one_line_error(tmp_path, tiny_model_dir, capsys):
    code = cli(
        [
            "tune",
            str(tmp_path / "nowhere"),
            "--model",
            str(tiny_model_dir),
            "--output-dir",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("biomed-vital tune: error:")


@pytest.mark.slow
def test_tune_lora_records_the_selector_and_merges(tmp_path, saved_selected, tiny_model_dir):
    out = tmp_path / "run"
    argv = [
        "tune", str(saved_selected), "--model", str(tiny_model_dir), "--selector", "user/vital-selector",
        "--method", "lora", "--lora-r", "4", "--lora-alpha", "8", "--max-steps", "2", "--use-cpu",
        "--per-device-train-batch-size", "2", "--global-batch-size", "4", "--report-to", "none",
        "--save-strategy", "no", "--output-dir", str(out), "--merge",
    ]  # fmt: skip
    assert cli(argv) == 0
    card = (out / "README.md").read_text()
    assert "user/vital-selector" in card and "| selected |" in card
    assert json.loads((out / "train_metrics.json").read_text())["global_step"] == 2
    assert (out / "merged" / "model.safetensors").is_file()


@pytest.mark.parametrize("typo", ["runs/typo/no_such_model", "./no_such_model"])
def test_a_mistyped_model_folder_is_a_one_line_error_not_a_hub_error(tmp_path, saved_selected, capsys, typo):
    code = cli(["tune", str(saved_selected), "--model", typo, "--output-dir", str(tmp_path / "o")])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1
    assert f"no such folder: {typo} (expected: a model to tune" in error
    assert "huggingface.co" not in error and "Repo id" not in error


def test_merging_a_mistyped_adapter_names_it(tmp_path, tiny_model_dir):
    from biomed_vital.tuning import merge_adapter

    with pytest.raises(
        FileNotFoundError, match=r"no such folder: .*no_such_adapter \(expected: a saved adapter\)"
    ):
        merge_adapter(tmp_path / "no_such_adapter", tmp_path / "merged", base_model=tiny_model_dir)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    with pytest.raises(FileNotFoundError, match=r"has no adapter_config.json"):
        merge_adapter(adapter, tmp_path / "merged", base_model=tiny_model_dir)
