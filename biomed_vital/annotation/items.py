"""What a clinician judges: one question about a figure with two candidate answers (an *item*).

Items come from two-answer candidates (``GPT4VGenerator(two_answers=True)``): the two rows of one
``pair_id`` (``answer_variant`` ``A`` and ``B``) ask the same questions, so question *i* with the
two answers to it is one item. Candidates that failed (``status="error"``), pairs that are not
complete and figures with no image are left out, each with the reason, so the app can say why.

Example:
    >>> items, skipped = annotation_items(candidates)   # doctest: +SKIP
    >>> items[0].item_id, items[0].question              # doctest: +SKIP
    ('pydicom_ct_small-c0#0', 'What kind of image is this?')
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biomed_vital import schema

__all__ = ["AnnotationItem", "annotation_items"]


@dataclass(frozen=True)
class AnnotationItem:
    """One question about one figure with two answers, in the generator's order (variant A, variant B)."""

    item_id: str  # "<pair_id>#<question number>"
    figure_id: str
    row: int  # candidates row of variant A (image, caption, mentions)
    question: str
    answers: tuple[str, str]
    candidate_ids: tuple[str, str]
    turn: int
    modality: str = ""


def _mentions(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(m) for m in value]


def annotation_items(candidates: Any) -> tuple[list[AnnotationItem], list[str]]:
    """Every item of two-answer ``candidates``, in candidate order, and why any were left out.

    Args:
        candidates: a candidates Dataset from ``GPT4VGenerator(two_answers=True)`` (``pair_id``,
            ``answer_variant``, ``candidate_id``, ``messages``, ``status``, the figure columns).

    Returns:
        ``(items, skipped)``: the items, and one line per left-out pair or figure saying why.

    Raises:
        ValueError: the candidates are not two-answer candidates (no ``pair_id`` column).

    Example:
        >>> items, skipped = annotation_items(load_stage("candidates/"))   # doctest: +SKIP
    """
    from datasets import Image as ImageFeature

    from biomed_vital.data.conversations import qa_pairs

    needed = [schema.ID, schema.CANDIDATE_ID, schema.MESSAGES, schema.PAIR_ID, schema.ANSWER_VARIANT]
    missing = [column for column in needed if column not in candidates.column_names]
    if missing:
        raise ValueError(
            f"the candidates have no {', '.join(missing)} column(s): the annotation app compares two answers "
            "to one question, so generate the candidates with two answers (biomed-vital generate --two-answers "
            "true, or GPT4VGenerator(two_answers=True))"
        )
    columns = [
        *needed,
        *(c for c in (schema.STATUS, schema.MODALITY, schema.IMAGE) if c in candidates.column_names),
    ]
    view = candidates.select_columns(columns)
    if schema.IMAGE in columns and isinstance(view.features[schema.IMAGE], ImageFeature):
        view = view.cast_column(schema.IMAGE, ImageFeature(decode=False))
    table = view.to_dict()
    n = len(view)
    statuses: Sequence[Any] = table.get(schema.STATUS) or [schema.STATUS_OK] * n
    images: Sequence[Any] = table.get(schema.IMAGE) or [None] * n
    modalities: Sequence[Any] = table.get(schema.MODALITY) or [""] * n

    pairs: dict[str, dict[str, int]] = defaultdict(dict)
    order: list[str] = []
    for row in range(n):
        pair_id = table[schema.PAIR_ID][row]
        if pair_id is None:
            continue
        if pair_id not in pairs:
            order.append(pair_id)
        pairs[pair_id][str(table[schema.ANSWER_VARIANT][row])] = row

    items: list[AnnotationItem] = []
    skipped: list[str] = []
    for pair_id in order:
        variants = pairs[pair_id]
        figure_id = str(table[schema.ID][next(iter(variants.values()))])
        if set(variants) != {"A", "B"}:
            skipped.append(
                f"figure {figure_id!r} ({pair_id}): answer variants {sorted(variants)}, not A and B"
            )
            continue
        row_a, row_b = variants["A"], variants["B"]
        failed = [v for v, r in variants.items() if statuses[r] != schema.STATUS_OK]
        if failed:
            skipped.append(
                f"figure {figure_id!r} ({pair_id}): generation failed for answer(s) {', '.join(failed)}"
            )
            continue
        image = images[row_a]
        if image is None or (isinstance(image, dict) and not image.get("bytes") and not image.get("path")):
            skipped.append(f"figure {figure_id!r} ({pair_id}): no image")
            continue
        turns_a = qa_pairs(table[schema.MESSAGES][row_a])
        turns_b = qa_pairs(table[schema.MESSAGES][row_b])
        for turn, ((question_a, answer_a), (question_b, answer_b)) in enumerate(
            zip(turns_a, turns_b, strict=False)
        ):
            if " ".join(question_a.split()) != " ".join(question_b.split()):
                skipped.append(
                    f"figure {figure_id!r} ({pair_id}) question {turn + 1}: A and B ask different questions"
                )
                continue
            items.append(
                AnnotationItem(
                    item_id=f"{pair_id}#{turn}",
                    figure_id=figure_id,
                    row=row_a,
                    question=question_a,
                    answers=(answer_a, answer_b),
                    candidate_ids=(
                        str(table[schema.CANDIDATE_ID][row_a]),
                        str(table[schema.CANDIDATE_ID][row_b]),
                    ),
                    turn=turn,
                    modality=str(modalities[row_a] or ""),
                )
            )
    return items, skipped
