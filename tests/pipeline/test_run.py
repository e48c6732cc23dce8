"""`biomed-vital run` / `demo`: every stage end to end offline, resumed after kill -9, refusing mixed settings.

One demo run (killed during tuning, then resumed) is shared by the slow tests of this module; the stand-in
server answers generation and judging, a rule stands in for clinicians, tiny random models for the selector
and the model to tune: the run's own summary says so, and the tests check that it does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from biomed_vital.cli.main import main
from biomed_vital.pipeline import STAGE_NAMES, ConfigChangedError, StageRecord, demo_pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
# with a key in the environment the demo sends generation and judging to the real model; these tests stay offline
API_KEYS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def _no_api_keys(monkeypatch):
    for name in API_KEYS:
        monkeypatch.delenv(name, raising=False)


def _demo_until_killed(out: Path, stage: str) -> str:
    """Run the demo in a child process and kill -9 it as soon as ``stage`` starts; return what it printed."""
    env = {name: value for name, value in os.environ.items() if name not in API_KEYS}
    env.update(PYTHONPATH=str(REPO_ROOT), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "biomed_vital.cli", "demo", "--output_dir", str(out), "--no_show_progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    printed = []
    assert process.stdout is not None
    for line in process.stdout:
        printed.append(line)
        if line.startswith("== ") and f". {stage}:" in line:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(printed[-20:])
    return "".join(printed)


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "demo"
    killed = _demo_until_killed(out, "tune")
    return out, killed


@pytest.mark.slow
def test_a_demo_killed_during_tuning_resumes_from_tuning_and_finishes(finished_demo, capsys):
    out, killed = finished_demo
    # the kill left every stage before tuning finished, and tuning unfinished
    assert "== 8. select" in killed
    assert StageRecord.read(out / "select") is not None and StageRecord.read(out / "tune") is None
    before = {name: StageRecord.read(out / name) for name in STAGE_NAMES[:8]}

    assert main(["demo", "--output_dir", str(out), "--no_show_progress"]) == 0
    printed = capsys.readouterr().out
    for index, name in enumerate(STAGE_NAMES[:8], 1):
        assert f"== {index}. {name}: done before with the same settings, reused" in printed
        assert StageRecord.read(out / name) == before[name]  # untouched
    assert "== 9. tune: instruction-tune" in printed and "== 10. evaluate:" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["stages"]) == list(STAGE_NAMES)
    assert set(summary["seconds"]) == {"tune", "evaluate"}
    # the summary table says what ran against stand-ins
    table = (out / "summary.md").read_text()
    assert table in printed
    for part in ("endpoint", "clinicians", "selector", "base model"):
        assert f"- {part}: " in table


@pytest.mark.slow
def test_the_demo_hands_every_stage_the_next_ones_input(finished_demo):
    from datasets import load_from_disk
    from transformers import AutoModelForImageTextToText

    out, _ = finished_demo
    summary = json.loads((out / "summary.json").read_text())["stages"]
    pool, held_out = load_from_disk(str(out / "figures/pool")), load_from_disk(str(out / "figures/held_out"))
    assert set(pool["id"]).isdisjoint(held_out["id"]) and len(pool) + len(held_out) == 9
    drawn = load_from_disk(str(out / "sample/figures"))
    assert set(drawn["id"]) <= set(pool["id"]) and (out / "sample/sampling.png").is_file()
    records = [json.loads(line) for line in (out / "annotate/annotations.jsonl").read_text().splitlines()]
    assert records and all(record["simulated"] is True for record in records)
    candidates = load_from_disk(str(out / "generate/candidates"))
    assert len(candidates) == 2 * len(pool) and set(candidates["id"]) == set(pool["id"])
    judged = load_from_disk(str(out / "judge/judged"))
    assert summary["judge"]["judged"] == len(judged)
    pairs = load_from_disk(str(out / "preferences/pairs"))
    assert {"clinician", "judge"} <= set(pairs["source"])
    assert set(candidates["status"]) == {"ok"}
    # the stand-in's two candidates of a figure differ, so the judge makes same-figure pairs
    for figure_id in pool["id"]:
        first, second = (row["messages"] for row in candidates if row["id"] == figure_id)
        assert first != second, figure_id
    assert "judge_same_question" in pairs["pair_kind"]
    # the best half of each modality's candidates is kept: no modality is left out
    selected = load_from_disk(str(out / "select/selected"))
    assert set(selected["candidate_id"]) <= set(candidates["candidate_id"])
    generated = Counter(candidates["modality"])
    assert Counter(selected["modality"]) == {modality: count // 2 for modality, count in generated.items()}
    assert (out / "select/report/score_histogram.png").is_file()
    assert summary["tune"]["rows"] == len(selected)
    # the tuned model loads the way users load it; the held-out figures were the evaluation's questions
    model = AutoModelForImageTextToText.from_pretrained(out / "tune/merged")
    assert model.config.model_type == "llava"
    questions = [json.loads(line) for line in (out / "evaluate/questions.jsonl").read_text().splitlines()]
    assert {q["pair_id"] for q in questions} == set(held_out["id"])
    assert set(summary["evaluate"]["open_chat"]) == {"tuned", "base"}
    assert (out / "evaluate/report").is_dir() and any((out / "evaluate/report").glob("*.png"))


@pytest.mark.slow
def test_a_finished_run_sends_nothing_when_run_again(finished_demo, capsys):
    out, _ = finished_demo
    summary = demo_pipeline(out, show_progress=False).run()
    assert summary["seconds"] == {} and summary["requests"] == {}
    assert "10. evaluate: done before with the same settings" in capsys.readouterr().out


@pytest.mark.slow
def test_push_to_hub_uploads_every_artifact_with_provenance(finished_demo, capsys):
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    from biomed_vital.selection import SelectorModel
    from biomed_vital.testing import FakeHub

    out, _ = finished_demo
    with FakeHub() as hub:
        summary = demo_pipeline(out, "--push_to_hub", "lab/vital-demo", show_progress=False).run()
        pushed = summary["pushed"]
        assert set(pushed) == {"candidates", "judged", "preferences", "selected", "selector", "model"}
        selected = load_dataset("lab/vital-demo-selected", split="train")
        card = DatasetCard(hub.read_text("lab/vital-demo-selected", "README.md", repo_type="dataset"))
        selector = SelectorModel.from_pretrained("lab/vital-demo-selector")
        assert all(
            hub.is_private(repo, repo_type="dataset") for repo in [pushed["selected"], pushed["judged"]]
        )
        provenance = json.loads(hub.read_text("lab/vital-demo-model", "run_provenance.json"))
    assert len(selected) == summary["stages"]["select"]["selected"]
    assert "simulated" in card.text and "stand-in" in card.text
    assert selector.config.model_type == "biomed_vital_selector"
    assert provenance["clinician judgements"] == "simulated"


def test_a_dry_run_prints_the_plan_and_projected_requests_and_writes_nothing(tmp_path, capsys):
    assert main(["demo", "--output_dir", str(tmp_path / "run"), "--dry_run"]) == 0
    printed = capsys.readouterr().out
    for name in STAGE_NAMES:
        assert f"  {name:<15} run " in printed
    assert "generate   14 requests" in printed and "projected spend <= $" in printed
    assert not (tmp_path / "run").exists()


def test_changed_settings_are_refused_before_anything_runs_unless_allowed(tmp_path, capsys):
    out = tmp_path / "run"
    demo_pipeline(out, "--until", "sample", show_progress=False).run()
    figures, sample = StageRecord.read(out / "figures"), StageRecord.read(out / "sample")
    capsys.readouterr()

    changed = ["demo", "--output_dir", str(out), "--until", "sample", "--sample.n_clusters", "2"]
    assert main(changed) == 2
    error = capsys.readouterr().err
    assert (
        error.count("\n") == 1 and "sample.n_clusters: 3 -> 2" in error and "--allow_config_change" in error
    )
    assert StageRecord.read(out / "sample") == sample  # nothing was touched

    assert main([*changed, "--allow_config_change"]) == 0
    assert StageRecord.read(out / "figures") == figures
    rerun = StageRecord.read(out / "sample")
    assert rerun.settings["sample"]["n_clusters"] == 2 and rerun.finished_at > sample.finished_at
    with pytest.raises(ConfigChangedError):
        demo_pipeline(out, "--until", "sample", show_progress=False).run()


def test_without_clinicians_the_run_stops_at_annotation_and_says_how_to_go_on(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["demo", "--output_dir", str(out), "--until", "annotate", "--clinicians.simulate", "false"])
    printed = capsys.readouterr().out
    assert status == 0
    assert f"biomed-vital annotate {out / 'annotate' / 'candidates'}" in printed
    assert "--clinicians.annotations" in printed
    assert StageRecord.read(out / "sample") is not None and StageRecord.read(out / "annotate") is None


@pytest.mark.slow
def test_a_vqa_benchmark_is_answered_by_both_models_and_scored(finished_demo, tmp_path):
    import shutil

    from PIL import Image

    source, _ = finished_demo
    out = tmp_path / "demo"
    shutil.copytree(source, out)  # the shared run stays as it is for the other tests
    demo_pipeline(out, show_progress=False).run()  # finished as the demo leaves it, whichever test ran first
    vqa = REPO_ROOT / "tests" / "evaluation" / "data" / "VQA_RAD Dataset Public.json"
    images = tmp_path / "images"
    images.mkdir()
    for name in {record["image_name"] for record in json.loads(vqa.read_text())}:
        Image.new("RGB", (32, 32)).save(images / name, format="JPEG")  # blank synthetic images
    options = ["--evaluate.vqa", str(vqa), "--evaluate.image_root", str(images), "--allow_config_change"]
    summary = demo_pipeline(out, *options, show_progress=False).run()
    assert set(summary["seconds"]) == {"evaluate"}  # only the changed stage ran
    assert set(summary["stages"]["evaluate"]["vqa"]) == {"vqa-tuned", "vqa-base"}
    for name in ("vqa-tuned", "vqa-base"):
        assert (out / "evaluate" / "answers" / f"{name}.jsonl").read_text().strip()
    assert any((out / "evaluate" / "vqa").iterdir())
