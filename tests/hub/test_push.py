"""Pushes through the fake Hub: datasets with their stage card, models with their model card."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset, DatasetDict, Image, load_dataset
from huggingface_hub import DatasetCard, HfApi, ModelCard
from PIL import Image as PILImage

from biomed_vital.hub import model_card, push_dataset_to_hub, push_model_to_hub
from biomed_vital.testing import FakeHub
from tests.hub.helpers import SECRET, stand_in_candidates


def test_push_dataset_to_hub_uploads_data_and_card_and_loads_back():
    candidates = stand_in_candidates()
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
            push_dataset_to_hub(stand_in_candidates(), "user/never", stage="raw")
        with pytest.raises(TypeError, match="expected a datasets.Dataset"):
            push_dataset_to_hub([{"id": "x"}], "user/never", stage="figures")
        assert hub.repos() == []


def test_a_failed_card_upload_keeps_the_data_and_says_how_to_retry(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("card upload refused")

    with FakeHub() as hub:
        monkeypatch.setattr(DatasetCard, "push_to_hub", refuse)
        with pytest.raises(RuntimeError, match=r"data is on the Hub at user/kept.*dataset_card\("):
            push_dataset_to_hub(stand_in_candidates(), "user/kept", stage="candidates")
        assert any(path.endswith(".parquet") for path in hub.files("user/kept", repo_type="dataset"))


def test_push_dataset_dict_keeps_every_split_loadable():
    splits = DatasetDict({"train": stand_in_candidates(), "test": stand_in_candidates().select([1, 3])})
    with FakeHub() as hub:
        push_dataset_to_hub(splits, "user/split-candidates", stage="judged")
        loaded = load_dataset("user/split-candidates")
        readme = hub.read_text("user/split-candidates", "README.md", repo_type="dataset")
    assert {name: dataset.num_rows for name, dataset in loaded.items()} == {"train": 4, "test": 2}
    assert loaded["test"]["candidate_id"] == ["c2", "c4"]
    assert "| test | 2 |" in readme


def test_model_card_push_round_trip():
    card = model_card(repo_id="user/vital-vlm", model_kind="vlm", description="Tuned stand-in model.")
    with FakeHub() as hub:
        HfApi().create_repo("user/vital-vlm")
        card.push_to_hub("user/vital-vlm")
        reloaded = ModelCard.load("user/vital-vlm")
        assert hub.read_text("user/vital-vlm", "README.md") == str(card)
    assert reloaded.data.tags == ["biomed_vital", "vlm", "biomedical"]


def test_push_model_to_hub_uploads_model_processor_and_card_in_one_commit():
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from biomed_vital.testing.tiny_models import tiny_llava

    model, processor = tiny_llava()
    names: list[str] = []

    def card(repo_id: str) -> ModelCard:
        names.append(repo_id)
        return model_card(repo_id=repo_id, model_kind="vlm", description="Tiny stand-in VLM.")

    with FakeHub() as hub:
        push_model_to_hub(model, "user/vital-vlm", card=card, processor=processor, private=True)
        commits = hub.commits("user/vital-vlm")
        files = set(hub.files("user/vital-vlm"))
        readme = hub.read_text("user/vital-vlm", "README.md")
        reloaded = AutoModelForImageTextToText.from_pretrained("user/vital-vlm")
        AutoProcessor.from_pretrained("user/vital-vlm")
        assert hub.is_private("user/vital-vlm")
    assert names == ["user/vital-vlm"]
    assert commits[-1]["title"] == "Upload BioMed-VITAL model"
    assert {"README.md", "config.json", "model.safetensors", "tokenizer.json"} <= files
    assert 'AutoModelForImageTextToText.from_pretrained("user/vital-vlm")' in readme
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(reloaded.state_dict()[name], tensor)
