"""Preference data for the selection model: clinician judgements and judge-score pairs.

``PreferenceDataset`` builds the *preferences* columns (``chosen_text``/``rejected_text``,
``chosen_image``/``rejected_image``, ``weight``, ``source``, ...) as a ``datasets.Dataset``
from clinician annotations and from judge scores, and mixes the two. Every text goes through
:func:`biomed_vital.data.format_selector_text`, the single layout the selector reads.

Names are loaded lazily; importing this package does not import torch.

Example:
    >>> from biomed_vital.preferences import PreferenceDataset
    >>> pairs = PreferenceDataset.from_judge_scores(judged, min_gap=2)     # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "PreferenceDataset": "biomed_vital.preferences.dataset",
    "PAPER_CLINICIAN_WEIGHTS": "biomed_vital.preferences.dataset",
    "clinician_weight_sweep": "biomed_vital.preferences.dataset",
    "deduplicate_preferences": "biomed_vital.preferences.dataset",
    "mix_preferences": "biomed_vital.preferences.dataset",
    "preference_build_stats": "biomed_vital.preferences.dataset",
    "summarize_preferences": "biomed_vital.preferences.dataset",
    "train_test_split_by_figure": "biomed_vital.preferences.dataset",
    "degraded_answer_pairs": "biomed_vital.preferences.degraded",
    "ANNOTATION_CHOICES": "biomed_vital.preferences.annotations",
    "AnnotationError": "biomed_vital.preferences.annotations",
    "AnswerMark": "biomed_vital.preferences.annotations",
    "PairwiseJudgement": "biomed_vital.preferences.annotations",
    "append_annotations": "biomed_vital.preferences.annotations",
    "normalize_annotation": "biomed_vital.preferences.annotations",
    "read_annotations": "biomed_vital.preferences.annotations",
}

# Moved for one release: the text layout and conversation helpers to the data layer, the schema to schema.py.
_DEPRECATED: dict[str, str] = {
    "DEFAULT_MAX_MENTIONS": "biomed_vital.data.text",
    "format_selector_conversation": "biomed_vital.data.text",
    "format_selector_text": "biomed_vital.data.text",
    "message_text": "biomed_vital.data.conversations",
    "qa_pairs": "biomed_vital.data.conversations",
    "preference_features": "biomed_vital.schema",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES, deprecated=_DEPRECATED)

if TYPE_CHECKING:
    from biomed_vital.preferences.annotations import (
        ANNOTATION_CHOICES,
        AnnotationError,
        AnswerMark,
        PairwiseJudgement,
        append_annotations,
        normalize_annotation,
        read_annotations,
    )
    from biomed_vital.preferences.dataset import (
        PAPER_CLINICIAN_WEIGHTS,
        PreferenceDataset,
        clinician_weight_sweep,
        deduplicate_preferences,
        mix_preferences,
        preference_build_stats,
        summarize_preferences,
        train_test_split_by_figure,
    )
    from biomed_vital.preferences.degraded import degraded_answer_pairs
