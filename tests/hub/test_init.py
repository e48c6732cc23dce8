"""The public names of biomed_vital.hub, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import biomed_vital.hub as hub


def test_every_public_name_resolves():
    from biomed_vital.hub import CITATION, dataset_card, model_card, push_dataset_to_hub, redact

    assert callable(dataset_card) and callable(model_card) and callable(push_dataset_to_hub)
    assert callable(redact) and CITATION.startswith("@inproceedings")
    for name in (
        "dataset_card",
        "model_card",
        "push_dataset_to_hub",
        "push_model_to_hub",
        "redact",
        "CITATION",
    ):
        assert name in hub.__all__ and name in dir(hub)


def test_importing_the_hub_module_stays_light():
    # redact() is plain Python: using it must not pull in the Hub client, datasets or torch either.
    heavy = ("torch", "transformers", "trl", "huggingface_hub", "datasets")
    code = f"import sys, biomed_vital.hub as hub; hub.redact('x'); print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
