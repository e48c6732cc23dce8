"""The fake Hub: the real huggingface_hub / datasets / transformers push and download code, no network."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from biomed_vital.testing import FakeHub


@pytest.fixture()
def hub():
    with FakeHub() as fake:
        yield fake


def _tiny_bert():
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    return BertModel(config)


def test_dataset_push_then_load_dataset_round_trip(hub):
    from datasets import Dataset, load_dataset

    dataset = Dataset.from_dict({"id": ["a", "b", "c"], "score": [1.5, 2.0, 7.25]})
    url = dataset.push_to_hub("user/scores")
    assert "user/scores" in str(url)
    files = hub.files("user/scores", repo_type="dataset")
    assert "README.md" in files
    assert any(path.startswith("data/train-") and path.endswith(".parquet") for path in files)
    loaded = load_dataset("user/scores", split="train")
    assert loaded.to_dict() == dataset.to_dict()


def test_dataset_with_images_round_trips_pixels(hub):
    from datasets import Dataset, Image, load_dataset
    from PIL import Image as PILImage

    pictures = [PILImage.new("RGB", (8, 6), (10 * i, 50, 200)) for i in range(3)]
    dataset = Dataset.from_dict({"id": ["p0", "p1", "p2"], "image": pictures}).cast_column("image", Image())
    dataset.push_to_hub("user/pictures", private=True)
    assert hub.is_private("user/pictures", repo_type="dataset")
    loaded = load_dataset("user/pictures", split="train")
    assert loaded["id"] == ["p0", "p1", "p2"]
    assert [image.tobytes() for image in loaded["image"]] == [p.tobytes() for p in pictures]


def test_model_push_then_from_pretrained_has_the_same_weights(hub):
    import torch
    from transformers import AutoModel

    model = _tiny_bert()
    model.push_to_hub("user/tiny-bert", commit_message="Add a tiny BERT")
    assert {"config.json", "model.safetensors", "README.md"} <= set(hub.files("user/tiny-bert"))
    assert hub.commits("user/tiny-bert")[-1]["title"] == "Add a tiny BERT"
    reloaded = AutoModel.from_pretrained("user/tiny-bert")
    expected = model.state_dict()
    for name, tensor in reloaded.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_hf_api_upload_folder_snapshot_and_hub_download(hub, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    folder = tmp_path / "artifact"
    (folder / "nested").mkdir(parents=True)
    (folder / "notes.txt").write_text("synthetic test text\n")
    (folder / "nested" / "weights.bin").write_bytes(bytes(range(256)) * 10)
    api = HfApi()
    api.create_repo("user/artifact")
    api.create_repo("user/artifact", exist_ok=True)  # the 409 is handled by exist_ok
    api.upload_folder(repo_id="user/artifact", folder_path=folder, commit_message="Upload the artifact")
    assert hub.read_text("user/artifact", "notes.txt") == "synthetic test text\n"
    assert sorted(api.list_repo_files("user/artifact")) == [
        ".gitattributes",
        "nested/weights.bin",
        "notes.txt",
    ]
    assert api.file_exists("user/artifact", "nested/weights.bin")
    assert not api.file_exists("user/artifact", "missing.txt")
    downloaded = hf_hub_download("user/artifact", "nested/weights.bin")
    assert Path(downloaded).read_bytes() == bytes(range(256)) * 10
    snapshot = snapshot_download("user/artifact")
    assert sorted(os.listdir(os.path.join(snapshot, "nested"))) == ["weights.bin"]


def test_missing_repos_and_files_raise_the_real_hub_errors(hub):
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("user/does-not-exist")
    HfApi().create_repo("user/empty")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("user/empty", "config.json")
    with pytest.raises(KeyError, match="no model repo"):
        hub.files("user/never-created")


def test_later_commits_keep_earlier_revisions_downloadable(hub):
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi()
    api.create_repo("user/versions", repo_type="dataset")
    first = api.upload_file(
        path_or_fileobj=io.BytesIO(b"one"), path_in_repo="v.txt", repo_id="user/versions", repo_type="dataset"
    )
    api.upload_file(
        path_or_fileobj=io.BytesIO(b"two"), path_in_repo="v.txt", repo_id="user/versions", repo_type="dataset"
    )
    assert hub.read_text("user/versions", "v.txt", repo_type="dataset") == "two"
    old = hf_hub_download("user/versions", "v.txt", repo_type="dataset", revision=first.oid)
    assert Path(old).read_bytes() == b"one"
    assert len(hub.commits("user/versions", repo_type="dataset")) == 3  # initial + two uploads


def test_exit_restores_offline_mode_env_and_client_factory():
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    offline_before = constants.HF_HUB_OFFLINE
    factory_before = _http._GLOBAL_CLIENT_FACTORY
    token_before = os.environ.get("HF_TOKEN")
    with FakeHub() as hub:
        assert constants.HF_HUB_OFFLINE is False
        assert os.environ["HF_TOKEN"] == hub.token
        cache = hub.cache_dir
        assert os.path.isdir(cache)
    assert offline_before == constants.HF_HUB_OFFLINE
    assert _http._GLOBAL_CLIENT_FACTORY is factory_before
    assert os.environ.get("HF_TOKEN") == token_before
    assert not os.path.exists(cache)


def test_the_token_is_sent_and_kept_nowhere(hub, tmp_path):
    from datasets import Dataset
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    Dataset.from_dict({"id": ["a", "b"], "note": ["synthetic test text", "x"]}).push_to_hub("user/notes")
    _tiny_bert().push_to_hub("user/tiny-bert")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("synthetic test text\n")
    HfApi().upload_folder(repo_id="user/tiny-bert", folder_path=tmp_path / "folder")

    # the token travels with every write: one with another token is refused, as the Hub refuses it
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(token="hf_not_the_token").create_repo("user/other")
    assert refused.value.response.status_code == 401
    assert ("model", "user/other") not in hub.repos()

    # ... and is kept nowhere: the request log, the files and commits of every repo, the download cache
    kept = list(hub.requests())
    for repo_type, repo_id in hub.repos():
        kept += [str(commit) for commit in hub.commits(repo_id, repo_type)]
        kept += [content.decode("latin-1") for content in hub.files(repo_id, repo_type).values()]
    kept += [path.read_bytes().decode("latin-1") for path in Path(hub.cache_dir).rglob("*") if path.is_file()]
    assert len(hub.requests()) > 10 and len(kept) > 20
    assert [text for text in kept if hub.token in text] == []


def test_pushing_again_replaces_the_data(hub):
    from datasets import Dataset, load_dataset

    Dataset.from_dict({"id": ["a", "b", "c"]}).push_to_hub("user/again")
    Dataset.from_dict({"id": ["x", "y"]}).push_to_hub("user/again")
    assert load_dataset("user/again", split="train")["id"] == ["x", "y"]
    parquet = [p for p in hub.files("user/again", repo_type="dataset") if p.endswith(".parquet")]
    assert len(parquet) == 1
