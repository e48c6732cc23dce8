"""Dataset and model cards, and pushes through the fake Hub."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from datasets import Dataset, DatasetDict, Image, List, Value, load_dataset
from huggingface_hub import DatasetCard, HfApi, ModelCard
from PIL import Image as PILImage

from biomed_vital.hub import CITATION, dataset_card, model_card, push_dataset_to_hub
from biomed_vital.schema import STAGES
from biomed_vital.testing import FakeHub

SECRET = "sk-proj-9f8e7d6c5b4a3210aa"
HF_SECRET = "hf_AbCdEfGhIjKlMnOpQrSt"


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.fixture(scope="module")
def real_figures(fixtures_dir):
    """Figures built from the real fixture records (captions, sources and licences as shipped)."""
    records = [json.loads(line) for line in (fixtures_dir / "images.jsonl").read_text().splitlines() if line]
    return (
        Dataset.from_dict(
            {
                "id": [r["id"] for r in records],
                "image": [str(fixtures_dir / r["image"]) for r in records],
                "caption": [r["caption"] for r in records],
                "mentions": [[] for _ in records],
                "modality": [r["modality"] for r in records],
                "domain": [r["domain"] for r in records],
                "source": [r["source"] for r in records],
                "license": [r["license"] for r in records],
            }
        )
        .cast_column("image", Image())
        .cast_column("mentions", List(Value("string")))
    )


def _stand_in_candidates() -> Dataset:
    # Synthetic protocol data, labelled as such; no medical content.
    return Dataset.from_dict(
        {
            "id": ["fig-1", "fig-1", "fig-2", "fig-3"],
            "caption": ["(synthetic stand-in caption)"] * 4,
            "modality": ["ct_scan", "ct_scan", "mri", "histology"],
            "candidate_id": ["c1", "c2", "c3", "c4"],
            "messages": [[{"role": "user", "content": "(stand-in question)"}]] * 4,
            "generator": ["gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o-mini"],
            "prompt_sha": ["a1b2c3", "a1b2c3", "a1b2c3", "d4e5f6"],
            "status": ["ok", "ok", "error", "ok"],
            "error": ["", "", "RateLimitError after 6 attempts", ""],
            "judge_score": [8.5, None, None, 3.0],
        }
    )


# ---------------------------------------------------------------------- dataset cards
def test_figures_card_from_real_fixtures_lists_sources_licences_and_modalities(real_figures):
    card = dataset_card(real_figures, stage="figures", repo_id="user/vital-figures")
    metadata = _front_matter(str(card))
    assert metadata["tags"] == ["biomed_vital", "figures", "biomedical"]
    assert metadata["size_categories"] == ["n<1K"]
    assert metadata["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    text = card.text
    assert f"| train | {real_figures.num_rows} |" in text
    assert "| `image` | image | yes |" in text
    assert "| `mentions` | list<string> | yes |" in text
    assert "## Image sources and licences" in text
    assert "PyPI wheel pydicom==3.0.2" in text
    assert "**by `modality`**" in text and "| CT | 2 |" in text
    assert "**by `domain` flag" in text
    assert 'load_dataset("user/vital-figures", split="train")' in text
    assert CITATION in text


def test_candidates_card_counts_status_generator_and_prompt_sha():
    card = dataset_card(_stand_in_candidates(), stage="judged", repo_id="user/judged")
    text = card.text
    assert "**by `status`**" in text and "| ok | 3 | 75.0% |" in text and "| error | 1 | 25.0% |" in text
    assert "**by `generator`**" in text and "| gpt-4o-mini | 1 | 25.0% |" in text
    assert "**by `prompt_sha`**" in text and "| a1b2c3 | 3 | 75.0% |" in text
    # the judge score summary counts failed judgements as missing, never as a score
    assert "| `judge_score` | 2 | 2 | 3 | 5.75 | 8.5 |" in text
    assert "| `candidate_id` | string | yes |" in text and "| `judge_score` | float64 | yes |" in text
    assert _front_matter(str(card))["task_categories"] == ["visual-question-answering", "image-text-to-text"]


def test_preferences_card_counts_source_but_does_not_call_it_an_image_source():
    pairs = Dataset.from_dict(
        {
            "chosen_text": ["(stand-in A)", "(stand-in B)", "(stand-in C)"],
            "rejected_text": ["(stand-in D)", "(stand-in E)", "(stand-in F)"],
            "weight": [5.0, 1.0, 1.0],
            "source": ["clinician", "judge", "judge"],
            "annotator": ["clinician-1", "gpt-4o", "gpt-4o"],
            "figure_id": ["f1", "f2", "f3"],
        }
    )
    text = dataset_card(pairs, stage="preferences").text
    assert "| clinician | 1 | 33.3% |" in text and "| judge | 2 | 66.7% |" in text
    assert "Image sources" not in text
    assert "| `weight` | 3 | 0 | 1 | 2.33 | 5 |" in text
    assert 'load_from_disk("path/to/preferences")' in text


def test_dataset_dict_card_has_one_config_entry_per_split():
    splits = DatasetDict({"train": _stand_in_candidates(), "test": _stand_in_candidates().select([0])})
    card = dataset_card(splits, stage="candidates", repo_id="user/candidates")
    files = _front_matter(str(card))["configs"][0]["data_files"]
    assert files == [{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}]
    assert "| test | 1 |" in card.text


def test_cards_never_contain_secrets():
    extra = {"openai_api_key": SECRET, "hf_token": "plain-looking-value", "note": f"called with {HF_SECRET}"}
    card = dataset_card(
        _stand_in_candidates(),
        stage="candidates",
        description=f"Generated with key {SECRET}",
        extra={**extra, "license": "cc-by-4.0", "n_figures": 3},
    )
    text = str(card)
    for secret in (SECRET, HF_SECRET, "plain-looking-value"):
        assert secret not in text
    assert "| openai_api_key | [redacted] |" in text and "| n_figures | 3 |" in text
    assert _front_matter(text)["license"] == "cc-by-4.0"
    model = model_card(
        repo_id="user/m",
        model_kind="vlm",
        description=f"tuned ({SECRET})",
        training={"learning_rate": 2e-4, "wandb_api_key": "abc123456789", "run": f"Bearer {HF_SECRET}"},
        usage=f'client = OpenAI(api_key="{SECRET}")',
    )
    for secret in (SECRET, HF_SECRET, "abc123456789"):
        assert secret not in str(model)


def test_bad_stage_and_bad_input_are_reported_clearly():
    with pytest.raises(ValueError, match="unknown stage 'candidate'.*figures, candidates"):
        dataset_card(_stand_in_candidates(), stage="candidate")
    with pytest.raises(TypeError, match="expected a datasets.Dataset"):
        dataset_card([{"id": "x"}], stage="figures")
    assert set(STAGES) == {"figures", "candidates", "judged", "preferences", "selected", "training"}


# ---------------------------------------------------------------------- model cards
def test_model_card_yaml_and_sections_parse():
    card = model_card(
        repo_id="user/vital-selector",
        model_kind="selector",
        description="Selection model trained on stand-in preference pairs.",
        base_models=["user/tiny-vit", "user/tiny-bert"],
        datasets=["user/vital-preferences"],
        metrics={"eval_accuracy": 0.8125, "eval_loss": 0.41},
        training={"learning_rate": 1e-4, "num_train_epochs": 3, "clinician_weight": 5.0},
    )
    parsed = ModelCard(str(card))
    assert parsed.data.base_model == ["user/tiny-vit", "user/tiny-bert"]
    assert parsed.data.datasets == ["user/vital-preferences"]
    assert parsed.data.tags == ["biomed_vital", "selector", "biomedical"]
    assert parsed.data.library_name == "transformers"
    assert "| eval_accuracy | 0.8125 |" in card.text and "| clinician_weight | 5.0 |" in card.text
    assert 'AutoModel.from_pretrained("user/vital-selector")' in card.text
    adapter = model_card(
        repo_id="user/vital-lora",
        model_kind="vlm-adapter",
        description="LoRA",
        base_models=["user/tiny-llava"],
    )
    assert adapter.data.pipeline_tag == "image-text-to-text" and adapter.data.library_name == "peft"
    assert 'PeftModel.from_pretrained(base, "user/vital-lora")' in adapter.text
    with pytest.raises(ValueError, match="unknown model_kind"):
        model_card(repo_id=None, model_kind="classifier", description="")


# ---------------------------------------------------------------------- pushes
def test_push_dataset_to_hub_uploads_data_and_card_and_loads_back():
    candidates = _stand_in_candidates()
    with FakeHub() as hub:
        url = push_dataset_to_hub(
            candidates,
            "user/vital-candidates",
            stage="candidates",
            private=True,
            card_extra={"description": "Stand-in candidates for a protocol test.", "api_key": SECRET},
        )
        assert url.startswith("https://huggingface.co/datasets/user/vital-candidates/commit/")
        readme = hub.read_text("user/vital-candidates", "README.md", repo_type="dataset")
        commits = hub.commits("user/vital-candidates", repo_type="dataset")
        loaded = load_dataset("user/vital-candidates", split="train")
        assert hub.is_private("user/vital-candidates", repo_type="dataset")
    assert commits[-1]["title"] == "Add the BioMed-VITAL candidates dataset card"
    assert commits[-2]["title"] == "Upload the BioMed-VITAL candidates dataset"
    parsed = DatasetCard(readme)
    assert parsed.data.tags == ["biomed_vital", "candidates", "biomedical"]
    assert parsed.data.dataset_info["features"]  # the features datasets wrote are kept
    assert "Stand-in candidates for a protocol test." in readme and SECRET not in readme
    assert loaded.to_dict() == candidates.to_dict()


def test_push_dataset_with_images_keeps_the_image_feature():
    pictures = Dataset.from_dict(
        {"id": ["a", "b"], "image": [PILImage.new("L", (5, 5), 30), PILImage.new("L", (5, 5), 200)]}
    ).cast_column("image", Image())
    with FakeHub():
        push_dataset_to_hub(pictures, "user/pictures", stage="figures")
        loaded = load_dataset("user/pictures", split="train")
    assert type(loaded.features["image"]).__name__ == "Image"
    assert [im.getpixel((0, 0)) for im in loaded["image"]] == [30, 200]


def test_push_with_a_bad_stage_uploads_nothing():
    with FakeHub() as hub:
        with pytest.raises(ValueError, match="unknown stage"):
            push_dataset_to_hub(_stand_in_candidates(), "user/never", stage="raw")
        assert hub.repos() == []


def test_a_failed_card_upload_keeps_the_data_and_says_how_to_retry(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("card upload refused")

    with FakeHub() as hub:
        monkeypatch.setattr(DatasetCard, "push_to_hub", refuse)
        with pytest.raises(RuntimeError, match=r"data is on the Hub at user/kept.*dataset_card\("):
            push_dataset_to_hub(_stand_in_candidates(), "user/kept", stage="candidates")
        assert any(path.endswith(".parquet") for path in hub.files("user/kept", repo_type="dataset"))


def test_model_card_push_round_trip():
    card = model_card(repo_id="user/vital-vlm", model_kind="vlm", description="Tuned stand-in model.")
    with FakeHub() as hub:
        HfApi().create_repo("user/vital-vlm")
        card.push_to_hub("user/vital-vlm")
        reloaded = ModelCard.load("user/vital-vlm")
        assert hub.read_text("user/vital-vlm", "README.md") == str(card)
    assert reloaded.data.tags == ["biomed_vital", "vlm", "biomedical"]


def test_importing_the_hub_module_stays_light():
    code = "import sys, biomed_vital.hub; print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_push_dataset_dict_keeps_every_split_loadable():
    splits = DatasetDict({"train": _stand_in_candidates(), "test": _stand_in_candidates().select([1, 3])})
    with FakeHub() as hub:
        push_dataset_to_hub(splits, "user/split-candidates", stage="judged")
        loaded = load_dataset("user/split-candidates")
        readme = hub.read_text("user/split-candidates", "README.md", repo_type="dataset")
    assert {name: dataset.num_rows for name, dataset in loaded.items()} == {"train": 4, "test": 2}
    assert loaded["test"]["candidate_id"] == ["c2", "c4"]
    assert "| test | 2 |" in readme
