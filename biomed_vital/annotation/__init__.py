"""The clinician annotation app: two answers side by side, judgements saved as they are made.

* :func:`annotation_app` builds the Gradio app for one annotator (``biomed-vital annotate`` starts it);
* :func:`annotation_items` turns two-answer candidates into items (a question and its two answers);
* :class:`AnnotationSession` keeps an annotator's progress in the append-only JSONL log whose record
  schema is :mod:`biomed_vital.preferences.annotations`;
* :func:`annotation_agreement` measures agreement between annotators and position bias.

The records go straight into ``PreferenceDataset.from_clinician_annotations`` (clinician pairs) and
:func:`biomed_vital.sampling.select_demonstrations` (the demonstrations). The app needs Gradio:
``pip install "biomed_vital[annotate]"``; the rest of this package does not.

Example:
    >>> from biomed_vital.annotation import annotation_app, annotation_agreement
    >>> annotation_app("candidates/", "annotations.jsonl", annotator="rad-1").launch()   # doctest: +SKIP
    >>> print(annotation_agreement("annotations.jsonl"))                                 # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from biomed_vital._lazy import attach

_LAZY_ATTRIBUTES: dict[str, str] = {
    "annotation_app": "biomed_vital.annotation.app",
    "launch_annotation_app": "biomed_vital.annotation.app",
    "AnnotationAppConfig": "biomed_vital.annotation.app_config",
    "AnnotationItem": "biomed_vital.annotation.items",
    "annotation_items": "biomed_vital.annotation.items",
    "AnnotationSession": "biomed_vital.annotation.session",
    "AgreementReport": "biomed_vital.annotation.agreement",
    "annotation_agreement": "biomed_vital.annotation.agreement",
    "SHORTCUTS": "biomed_vital.annotation.page",
    "SIMULATED_ANNOTATOR": "biomed_vital.annotation.simulated",
    "simulate_annotations": "biomed_vital.annotation.simulated",
}

__getattr__, __dir__, __all__ = attach(__name__, _LAZY_ATTRIBUTES)

if TYPE_CHECKING:
    from biomed_vital.annotation.agreement import AgreementReport, annotation_agreement
    from biomed_vital.annotation.app import annotation_app, launch_annotation_app
    from biomed_vital.annotation.app_config import AnnotationAppConfig
    from biomed_vital.annotation.items import AnnotationItem, annotation_items
    from biomed_vital.annotation.page import SHORTCUTS
    from biomed_vital.annotation.session import AnnotationSession
    from biomed_vital.annotation.simulated import SIMULATED_ANNOTATOR, simulate_annotations
