"""Preference data for the selection model: clinician judgements and judge-score pairs.

``PreferenceDataset`` builds the *preferences* columns (``chosen_text``/``rejected_text``,
``chosen_image``/``rejected_image``, ``weight``, ``source``, ...) as a ``datasets.Dataset``
from clinician annotations and from judge scores, and mixes the two. Every text goes through
:func:`format_selector_text`, the single layout the selector reads.

Names are loaded lazily; importing this package does not import torch.

Example:
    >>> from biomed_vital.preferences import format_selector_text, qa_pairs
    >>> pairs = qa_pairs([{"role": "user", "content": "What modality?"},
    ...                   {"role": "assistant", "content": "CT."}])
    >>> print(format_selector_text("Head CT.", [], *pairs[0]))
    Caption: Head CT.
    Question: What modality?
    Answer: CT.
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
    "preference_features": "biomed_vital.preferences.dataset",
    "summarize_preferences": "biomed_vital.preferences.dataset",
    "train_test_split_by_figure": "biomed_vital.preferences.dataset",
    "ANNOTATION_CHOICES": "biomed_vital.preferences.annotations",
    "AnnotationError": "biomed_vital.preferences.annotations",
    "AnswerMark": "biomed_vital.preferences.annotations",
    "PairwiseJudgement": "biomed_vital.preferences.annotations",
    "append_annotations": "biomed_vital.preferences.annotations",
    "normalize_annotation": "biomed_vital.preferences.annotations",
    "read_annotations": "biomed_vital.preferences.annotations",
    "DEFAULT_MAX_MENTIONS": "biomed_vital.preferences.text",
    "format_selector_conversation": "biomed_vital.preferences.text",
    "format_selector_text": "biomed_vital.preferences.text",
    "message_text": "biomed_vital.preferences.text",
    "qa_pairs": "biomed_vital.preferences.text",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.preferences.annotations import (  # noqa: F401
        ANNOTATION_CHOICES,
        AnnotationError,
        AnswerMark,
        PairwiseJudgement,
        append_annotations,
        normalize_annotation,
        read_annotations,
    )
    from biomed_vital.preferences.dataset import (  # noqa: F401
        PAPER_CLINICIAN_WEIGHTS,
        PreferenceDataset,
        clinician_weight_sweep,
        deduplicate_preferences,
        mix_preferences,
        preference_build_stats,
        preference_features,
        summarize_preferences,
        train_test_split_by_figure,
    )
    from biomed_vital.preferences.text import (  # noqa: F401
        DEFAULT_MAX_MENTIONS,
        format_selector_conversation,
        format_selector_text,
        message_text,
        qa_pairs,
    )
