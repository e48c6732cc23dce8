"""A sanity-check task for selection models: real answers against degraded ones.

Before clinicians spend time on pairwise comparisons, it is worth checking that a selector set-up (encoders,
text layout, trainer settings) can learn anything at all. `degraded_answer_pairs` makes preference pairs from
figures with real conversations: the chosen side is the real answer, the rejected side the same question
answered badly: with another figure's real answer (`other_figure`), with the real answer cut to its first
third (`truncated`), or with a fixed non-answer sentence (`non_answer`). A selector that cannot rank these on
held-out figures will not learn clinician preferences either.

Only the degradations are constructed; every caption, question and answer comes from the input figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from datasets import Dataset
from datasets import Image as ImageFeature

from biomed_vital import schema

NON_ANSWER = "I cannot determine that from the image."
DEGRADATIONS = ("other_figure", "truncated", "non_answer")


def degraded_answer_pairs(
    figures: Dataset,
    *,
    kinds: Sequence[str] = DEGRADATIONS,
    seed: int = 0,
    source: str = schema.SOURCE_JUDGE,
    flip: bool = False,
    non_answer: str = NON_ANSWER,
) -> Dataset:
    """Preference pairs (the *preferences* columns) of real versus degraded answers, one per turn and kind.

    Args:
        figures: rows with `id`, `image`, `caption`, `mentions` and `messages` (a figures Dataset with
            conversations, or candidates). Other-figure answers are drawn from these rows only, so a split
            by figure before calling this leaks no answer between train and test.
        kinds: which degradations to make, any of `other_figure`, `truncated`, `non_answer`.
        seed: seed of the other-figure draw.
        source: the `source` written on every pair (`judge` or `clinician`).
        flip: prefer the degraded answer instead; builds deliberately conflicting sources for experiments on
            the clinician weight.
        non_answer: the sentence used by `non_answer`.

    Returns:
        A Dataset with the preference columns, `pair_kind` set to `degraded:<kind>`, and `annotator`
        `"degradation"`.

    Example:
        >>> pairs = degraded_answer_pairs(figures, kinds=("truncated", "non_answer"))   # doctest: +SKIP
        >>> pairs[0]["pair_kind"]                                                         # doctest: +SKIP
        'degraded:truncated'
    """
    from biomed_vital.data import format_selector_text, qa_pairs

    unknown = [kind for kind in kinds if kind not in DEGRADATIONS]
    if unknown or not kinds:
        raise ValueError(f"kinds={list(kinds)!r}: use a non-empty subset of {list(DEGRADATIONS)}.")
    missing = [c for c in (schema.ID, schema.IMAGE, schema.MESSAGES) if c not in figures.column_names]
    if missing:
        raise ValueError(
            f"degraded_answer_pairs needs the columns {missing} (the dataset has {figures.column_names})."
        )
    view = figures
    if isinstance(view.features[schema.IMAGE], ImageFeature):
        view = view.cast_column(
            schema.IMAGE, ImageFeature(decode=False)
        )  # pass image bytes through undecoded
    rows = view.select_columns(
        [
            c
            for c in (schema.ID, schema.IMAGE, schema.CAPTION, schema.MENTIONS, schema.MESSAGES)
            if c in view.column_names
        ]
    )
    records = rows.to_list()
    answers = [(str(r[schema.ID]), answer) for r in records for _, answer in qa_pairs(r[schema.MESSAGES])]
    rng = np.random.default_rng(seed)
    columns = list(schema.preference_features())
    output: dict[str, list[Any]] = {name: [] for name in columns}
    for index, record in enumerate(records):
        if record[schema.IMAGE] is None:
            raise ValueError(
                f"row {index} (id {record[schema.ID]!r}) has no image; drop it or attach one first."
            )
        figure_id = str(record[schema.ID])
        caption, mentions = record.get(schema.CAPTION) or "", record.get(schema.MENTIONS) or []
        others = [answer for owner, answer in answers if owner != figure_id]
        for question, answer in qa_pairs(record[schema.MESSAGES]):
            words = answer.split()
            degraded = {
                "other_figure": others[int(rng.integers(len(others)))] if others else non_answer,
                "truncated": " ".join(words[: max(2, len(words) // 3)]),
                "non_answer": non_answer,
            }
            good = format_selector_text(caption, mentions, question, answer)
            for kind in kinds:
                bad = format_selector_text(caption, mentions, question, degraded[kind])
                chosen, rejected = (bad, good) if flip else (good, bad)
                values = {
                    schema.CHOSEN_IMAGE: record[schema.IMAGE],
                    schema.REJECTED_IMAGE: record[schema.IMAGE],
                    schema.CHOSEN_TEXT: chosen,
                    schema.REJECTED_TEXT: rejected,
                    schema.WEIGHT: 1.0,
                    schema.SOURCE: source,
                    schema.ANNOTATOR: "degradation",
                    schema.FIGURE_ID: figure_id,
                    schema.QUESTION: question,
                    schema.PAIR_KIND: f"degraded:{kind}",
                }
                for name in columns:
                    output[name].append(values.get(name))
    return Dataset.from_dict(output, features=schema.preference_features())


__all__ = ["DEGRADATIONS", "NON_ANSWER", "degraded_answer_pairs"]
