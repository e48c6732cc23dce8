"""Shared test setup: offline by construction, real fixtures from ../shared/fixtures when present."""

from __future__ import annotations

import os
from pathlib import Path

# Set before anything imports huggingface_hub: these flags are read at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json  # noqa: E402

import pytest  # noqa: E402

from tests.fixture_data import STAND_IN_SIZE, domain_of  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(os.environ.get("BIOMED_VITAL_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real biomedical fixtures (images, DICOM, clinician demonstrations); skips when absent."""
    if not (SHARED_FIXTURES / "images.jsonl").is_file():
        pytest.skip(
            f"shared fixtures not found at {SHARED_FIXTURES} (set BIOMED_VITAL_FIXTURES to their folder)"
        )
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def clinician_demonstrations_path(fixtures_dir: Path) -> Path:
    """The 58 clinician-selected demonstrations released with BioMed-VITAL (LLaVA format, JSONL)."""
    return fixtures_dir / "clinician_demonstrations.jsonl"


@pytest.fixture(scope="session")
def demonstrations(clinician_demonstrations_path: Path) -> list[dict]:
    return [
        json.loads(line) for line in clinician_demonstrations_path.read_text().splitlines() if line.strip()
    ]


@pytest.fixture(scope="session")
def stand_in_images(fixtures_dir: Path, tmp_path_factory) -> dict[str, str]:
    """One small real image per domain (path to a downscaled PNG copy), used as stand-ins."""
    from PIL import Image as PILImage

    records = [json.loads(line) for line in (fixtures_dir / "images.jsonl").read_text().splitlines() if line]
    folder = tmp_path_factory.mktemp("stand_in_images")
    chosen: dict[str, str] = {}
    for record in records:
        domain = domain_of(record["domain"])
        if domain in chosen:
            continue
        image = PILImage.open(fixtures_dir / record["image"]).convert("RGB")
        image = image.resize((STAND_IN_SIZE, STAND_IN_SIZE))
        path = folder / f"{record['id']}.png"
        image.save(path)
        chosen[domain] = str(path)
    chosen.setdefault("other", next(iter(chosen.values())))
    return chosen


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)
