"""Stage 4-5: the selection model (a multimodal reward model), its trainer and `select()`.

One concern per module: `configuration` (SelectorConfig), `modeling` (SelectorModel), `processing`
(SelectorProcessor), `auto` (registration with the transformers Auto classes), `training_config`
(SelectorTrainingConfig), `trainer` (SelectorTrainer), `losses`, `metrics`, `embeddings` (cached encoder
outputs for training with frozen towers), `scoring_config` (SelectionConfig), `scoring` (`select()`) and
`biomedclip` (BiomedCLIP's open_clip checkpoint as the selector's towers).

Names load lazily, so `import biomed_vital.selection` does not import torch or transformers.

Example:
    >>> from biomed_vital.selection import SelectorModel, select       # doctest: +SKIP
    >>> model = SelectorModel.from_pretrained("path/to/selector")      # doctest: +SKIP
    >>> selected = select(candidates, model, top_fraction=0.1)         # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "SelectorConfig": "biomed_vital.selection.configuration",
    "SelectorModel": "biomed_vital.selection.modeling",
    "SelectorProcessor": "biomed_vital.selection.processing",
    "SelectorTrainingConfig": "biomed_vital.selection.training_config",
    "SelectorTrainer": "biomed_vital.selection.trainer",
    "SelectorCollator": "biomed_vital.selection.trainer",
    "pairwise_preference_loss": "biomed_vital.selection.losses",
    "preference_metrics": "biomed_vital.selection.metrics",
    "compute_features": "biomed_vital.selection.embeddings",
    "select": "biomed_vital.selection.scoring",
    "SelectionConfig": "biomed_vital.selection.scoring_config",
    "register_auto_classes": "biomed_vital.selection.auto",
    "convert_biomedclip": "biomed_vital.selection.biomedclip",
}

# Moved for one release: the degraded-answer pair builder belongs to the preferences stage.
_DEPRECATED = {"degraded_answer_pairs": "biomed_vital.preferences.degraded"}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES, deprecated=_DEPRECATED)

if TYPE_CHECKING:
    from biomed_vital.selection.auto import register_auto_classes
    from biomed_vital.selection.biomedclip import convert_biomedclip
    from biomed_vital.selection.configuration import SelectorConfig
    from biomed_vital.selection.embeddings import compute_features
    from biomed_vital.selection.losses import pairwise_preference_loss
    from biomed_vital.selection.metrics import preference_metrics
    from biomed_vital.selection.modeling import SelectorModel
    from biomed_vital.selection.processing import SelectorProcessor
    from biomed_vital.selection.scoring import select
    from biomed_vital.selection.scoring_config import SelectionConfig
    from biomed_vital.selection.trainer import SelectorCollator, SelectorTrainer
    from biomed_vital.selection.training_config import SelectorTrainingConfig
