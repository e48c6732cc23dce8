"""``JudgePairConfig``: the options of :meth:`~biomed_vital.preferences.PreferenceDataset.from_judge_scores`.

Adds to :class:`~biomed_vital.preferences.pair_config.PairConfig`; changes none of its defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from biomed_vital.preferences.pair_config import PairConfig

__all__ = ["JUDGE_UNITS", "JudgePairConfig", "JudgeUnit"]

JudgeUnit = Literal["auto", "turn", "conversation"]
#: What one judged item is: ``turn`` (a question and its answer), ``conversation``, or ``auto``.
JUDGE_UNITS: tuple[str, ...] = ("auto", "turn", "conversation")


@dataclass
class JudgePairConfig(PairConfig):
    """How pairs are sampled from judge scores.

    Example:
        >>> JudgePairConfig(min_gap=3).pairs_per_item
        2
    """

    min_gap: float = field(
        default=2.0,
        metadata={
            "help": "Smallest judge-score difference that makes a pair (> 0: equal scores cannot be ordered)."
        },
    )
    pairs_per_item: int = field(
        default=2, metadata={"help": "How many pairs each usable judged item anchors (>= 1)."}
    )
    seed: int = field(default=0, metadata={"help": "Sampling seed; the same seed gives the same pairs."})
    unit: JudgeUnit = field(
        default="auto",
        metadata={
            "help": "What a judged item is. turn: each question/answer with its judge_turn_scores entry; "
            "conversation: each candidate with judge_score; auto: turn when judge_turn_scores is present."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        min_gap = self.min_gap
        if isinstance(min_gap, bool) or not (
            isinstance(min_gap, (int, float)) and math.isfinite(min_gap) and min_gap > 0
        ):
            raise ValueError(
                f"min_gap must be a positive number (equal scores cannot be ordered), got {min_gap!r}"
            )
        if isinstance(self.pairs_per_item, bool) or not (
            isinstance(self.pairs_per_item, int) and self.pairs_per_item >= 1
        ):
            raise ValueError(f"pairs_per_item must be an integer >= 1, got {self.pairs_per_item!r}")
        if self.unit not in JUDGE_UNITS:
            raise ValueError(f"unit must be 'auto', 'turn' or 'conversation', got {self.unit!r}")
