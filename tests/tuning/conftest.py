"""Shared data for the tuning tests: the clinician demonstrations as training conversations, tiny models.

The conversations are the 58 clinician-selected demonstrations released with BioMed-VITAL. Their PMC images
are not available offline, so each is paired with a real fixture image of the same domain (rows carry
`image_is_stand_in=True`). Training tests keep the first two question-answer pairs of each conversation so
that steps stay short on a 2-core machine; the label-mask test uses whole conversations.
"""

from __future__ import annotations

import pytest
from datasets import Dataset

from tests.fixture_data import demonstration_figures


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads; on a shared 2-core machine extra threads only wait."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def demonstration_conversations(demonstrations, stand_in_images) -> Dataset:
    """All 58 demonstrations as figures with whole conversations and stand-in images."""
    return demonstration_figures(demonstrations, stand_in_images)


@pytest.fixture(scope="session")
def short_conversations(demonstration_conversations) -> Dataset:
    """12 demonstrations cut to their first two question-answer pairs (4 turns each)."""
    return demonstration_conversations.select(range(12)).map(lambda row: {"messages": row["messages"][:4]})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny LLaVA (CLIP + Llama) and its processor saved to a folder, loaded the way Hub ids are."""
    from biomed_vital.testing import tiny_llava

    folder = tmp_path_factory.mktemp("tiny_llava")
    tiny_llava(out_dir=folder, seed=0)
    return folder


def cpu_config(output_dir, **overrides):
    """A VisualInstructionConfig for fast CPU tests (no checkpoints, no reports, small global batch)."""
    from biomed_vital.tuning import VisualInstructionConfig

    settings = dict(
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        per_device_train_batch_size=2,
        global_batch_size=4,
        max_steps=4,
        lora_r=8,
        lora_alpha=16,
        disable_tqdm=True,
    )
    settings.update(overrides)
    return VisualInstructionConfig(str(output_dir), **settings)
