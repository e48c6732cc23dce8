"""Pools for the sampling tests: synthetic figures (labelled stand-in text) with images that differ by cluster."""

from __future__ import annotations

import io

import numpy as np
import pytest

MODALITY_COUNTS = {"ct_scan": 20, "mri": 20, "histology": 12, "chest_xray": 2}


def pattern_png(index: int, group: int, size: int = 24) -> bytes:
    """A synthetic grey-level pattern: the group sets the brightness and stripes, the index adds noise."""
    from PIL import Image

    rng = np.random.default_rng(index)
    pixels = np.full((size, size), 40 + 50 * group, dtype=np.float32)
    pixels[:: 2 + group] += 60
    pixels += rng.normal(0, 6, size=(size, size))
    buffer = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def make_pool(counts: dict[str, int] | None = None, *, broken: int = 0):
    """A figures Dataset; each modality has its own image pattern and its own synthetic caption words."""
    from datasets import Dataset, Features, Image, List, Value

    counts = counts or MODALITY_COUNTS
    rows = []
    for group, (modality, count) in enumerate(counts.items()):
        for i in range(count):
            index = len(rows)
            rows.append(
                {
                    "id": f"{modality}-{i:03d}",
                    "image": {"bytes": pattern_png(index, group), "path": None},
                    "caption": f"Synthetic stand-in caption {modality} group {group} item {i}.",
                    "mentions": [
                        f"Synthetic stand-in mention {i} of {modality}.",
                        "A second synthetic mention.",
                    ],
                    "modality": modality,
                }
            )
    for i in range(broken):
        rows[i * 3]["image"] = {"bytes": b"synthetic bytes that are not an image", "path": None}
    features = Features(
        {
            "id": Value("string"),
            "image": Image(),
            "caption": Value("string"),
            "mentions": List(Value("string")),
            "modality": Value("string"),
        }
    )
    return Dataset.from_list(rows, features=features)


@pytest.fixture
def pool():
    return make_pool()


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "embedding-cache")


@pytest.fixture(scope="session")
def tiny_encoder_dirs(tmp_path_factory):
    """A tiny ViT image encoder and a tiny BERT text encoder saved as Hub encoders are."""
    from biomed_vital.testing import tiny_image_encoder, tiny_text_encoder

    folder = tmp_path_factory.mktemp("encoders")
    tiny_image_encoder("vit", folder / "vit")
    tiny_text_encoder(folder / "bert")
    return str(folder / "vit"), str(folder / "bert")
