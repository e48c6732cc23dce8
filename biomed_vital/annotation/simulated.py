"""A rule in place of clinicians, for demos and tests: every record it writes says ``"simulated": true``.

The rule prefers the answer that shares more words with the figure's caption and in-text mentions (a proxy
for "grounded in the figure", not a clinical judgement), accepts that answer, and calls a tie when both
share as many. Real clinician judgements come from the annotation app (:func:`launch_annotation_app`).

Example:
    >>> simulate_annotations(candidates, "annotations.jsonl")            # doctest: +SKIP
    12
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["SIMULATED_ANNOTATOR", "simulate_annotations"]

SIMULATED_ANNOTATOR = "simulated-annotator"

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if len(word) > 3}


def simulate_annotations(
    candidates: Any, out: str | os.PathLike[str], *, annotator: str = SIMULATED_ANNOTATOR
) -> int:
    """Judge every two-answer item of ``candidates`` by the rule above; append the records to ``out``.

    Returns the number of items judged. The records have the annotation app's schema plus
    ``"simulated": true``, so every pair and card built from them can say so.
    """
    from biomed_vital.annotation.items import annotation_items
    from biomed_vital.annotation.session import AnnotationSession

    items, _ = annotation_items(candidates)
    session = AnnotationSession(items, out, annotator)
    captions, mentions = candidates["caption"], candidates["mentions"]
    for item in items:
        shown = session.show(item)
        context = _words(" ".join([captions[item.row] or "", *(mentions[item.row] or [])]))
        overlap_a, overlap_b = (len(_words(answer) & context) for answer in shown.answers)
        choice = "tie" if overlap_a == overlap_b else "A" if overlap_a > overlap_b else "B"
        marks = {choice: True} if choice in ("A", "B") else {}
        session.judge(item, choice, marks=marks, extra={"simulated": True})
    return len(items)
