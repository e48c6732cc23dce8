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

import pytest  # noqa: E402

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
