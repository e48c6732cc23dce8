"""Dataset and model cards for every stage, and pushes to the Hugging Face Hub.

Each stage's ``datasets.Dataset`` goes to the Hub with a card that says what the stage is, what is
in it and how to cite BioMed-VITAL; models go with a card that says what they are and how to load
them. Cards never carry API keys or tokens: values that look like one are redacted.

One concern per module: ``dataset_cards`` (:func:`dataset_card`), ``model_cards``
(:func:`model_card`), ``push`` (:func:`push_dataset_to_hub`, :func:`push_model_to_hub`),
``redaction`` (:func:`redact`), ``citation`` (:data:`CITATION`) and ``markdown`` (the table
cells and card file both kinds of card are written with). Names load lazily, so
``import biomed_vital.hub`` imports neither ``huggingface_hub`` nor ``datasets``.

Example:
    >>> from datasets import Dataset
    >>> from biomed_vital.hub import dataset_card
    >>> figures = Dataset.from_dict({"id": ["f1"], "caption": ["(caption text)"], "modality": ["ct_scan"]})
    >>> dataset_card(figures, stage="figures", repo_id="user/figures").data.tags
    ['biomed_vital', 'figures', 'biomedical']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

# module -> the public names it defines (each loads on first use)
_PUBLIC_NAMES: dict[str, tuple[str, ...]] = {
    "dataset_cards": ("dataset_card",),
    "model_cards": ("model_card", "MODEL_KINDS"),
    "push": ("push_dataset_to_hub", "push_model_to_hub"),
    "redaction": ("redact", "REDACTED"),
    "citation": ("CITATION",),
}

__getattr__, __dir__, __all__ = attach(
    __name__, {name: f"{__name__}.{module}" for module, names in _PUBLIC_NAMES.items() for name in names}
)

if TYPE_CHECKING:
    from biomed_vital.hub.citation import CITATION
    from biomed_vital.hub.dataset_cards import dataset_card
    from biomed_vital.hub.model_cards import MODEL_KINDS, model_card
    from biomed_vital.hub.push import push_dataset_to_hub, push_model_to_hub
    from biomed_vital.hub.redaction import REDACTED, redact
