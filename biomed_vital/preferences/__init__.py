"""Preference data for the selection model: clinician judgements and judge-score pairs.

``PreferenceDataset`` builds the *preferences* columns (``chosen_text``/``rejected_text``,
``chosen_image``/``rejected_image``, ``weight``, ``source``, ...) as a ``datasets.Dataset``
from clinician annotations and from judge scores; functions mix, deduplicate, split and
summarise the pairs, and ``build_preferences`` does all of it from one ``PreferenceBuildConfig``.
Every text goes through :func:`biomed_vital.data.format_selector_text`, the single layout the
selector reads.

One module per concern: ``clinician`` and ``judge_pairs`` (the two builders), ``assembly`` (the
Arrow table both write), ``dedup``, ``mixing``, ``splits``, ``summary`` (build statistics),
``build`` (the whole build), ``annotations`` (the clinician record), ``degraded`` (sanity-check
pairs), and one config dataclass per file (``pair_config``, ``clinician_config``,
``judge_pairs_config``, ``build_config``).

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
    "PairConfig": "biomed_vital.preferences.pair_config",
    "ClinicianPairConfig": "biomed_vital.preferences.clinician_config",
    "JudgePairConfig": "biomed_vital.preferences.judge_pairs_config",
    "PreferenceBuildConfig": "biomed_vital.preferences.build_config",
    "build_preferences": "biomed_vital.preferences.build",
    "PAPER_CLINICIAN_WEIGHTS": "biomed_vital.preferences.mixing",
    "clinician_weight_sweep": "biomed_vital.preferences.mixing",
    "mix_preferences": "biomed_vital.preferences.mixing",
    "deduplicate_preferences": "biomed_vital.preferences.dedup",
    "train_test_split_by_figure": "biomed_vital.preferences.splits",
    "preference_build_stats": "biomed_vital.preferences.summary",
    "summarize_preferences": "biomed_vital.preferences.summary",
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
    from biomed_vital.preferences.build import build_preferences
    from biomed_vital.preferences.build_config import PreferenceBuildConfig
    from biomed_vital.preferences.clinician_config import ClinicianPairConfig
    from biomed_vital.preferences.dataset import PreferenceDataset
    from biomed_vital.preferences.dedup import deduplicate_preferences
    from biomed_vital.preferences.degraded import degraded_answer_pairs
    from biomed_vital.preferences.judge_pairs_config import JudgePairConfig
    from biomed_vital.preferences.mixing import (
        PAPER_CLINICIAN_WEIGHTS,
        clinician_weight_sweep,
        mix_preferences,
    )
    from biomed_vital.preferences.pair_config import PairConfig
    from biomed_vital.preferences.splits import train_test_split_by_figure
    from biomed_vital.preferences.summary import preference_build_stats, summarize_preferences
