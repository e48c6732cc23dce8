"""Stage 4-5: the selection model (a multimodal reward model), its trainer and `select()`.

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
    "SelectorTrainingConfig": "biomed_vital.selection.trainer",
    "SelectorTrainer": "biomed_vital.selection.trainer",
    "SelectorCollator": "biomed_vital.selection.trainer",
    "pairwise_preference_loss": "biomed_vital.selection.losses",
    "preference_metrics": "biomed_vital.selection.metrics",
    "compute_features": "biomed_vital.selection.features",
    "select": "biomed_vital.selection.select",
    "register_auto_classes": "biomed_vital.selection._auto_registration",
    "degraded_answer_pairs": "biomed_vital.selection.sanity",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.selection._auto_registration import register_auto_classes  # noqa: F401
    from biomed_vital.selection.configuration import SelectorConfig  # noqa: F401
    from biomed_vital.selection.features import compute_features  # noqa: F401
    from biomed_vital.selection.losses import pairwise_preference_loss  # noqa: F401
    from biomed_vital.selection.metrics import preference_metrics  # noqa: F401
    from biomed_vital.selection.modeling import SelectorModel  # noqa: F401
    from biomed_vital.selection.processing import SelectorProcessor  # noqa: F401
    from biomed_vital.selection.sanity import degraded_answer_pairs  # noqa: F401
    from biomed_vital.selection.select import select  # noqa: F401
    from biomed_vital.selection.trainer import SelectorCollator, SelectorTrainer, SelectorTrainingConfig  # noqa: F401
