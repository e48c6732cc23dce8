"""``JudgePairConfig``: the options of :meth:`~biomed_vital.preferences.PreferenceDataset.from_judge_scores`.

Adds to :class:`~biomed_vital.preferences.pair_config.PairConfig`; changes none of its defaults.
``JudgePairConfig.from_preset("biomed-vital")`` samples pairs as the authors did: integer score levels drawn
at random, items split 80/20 within each level, 30,000 training draws (:mod:`biomed_vital.presets.preferences`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from biomed_vital.preferences.pair_config import PairConfig

__all__ = ["JUDGE_UNITS", "PAIRINGS", "JudgePairConfig", "JudgeUnit", "Pairing"]

JudgeUnit = Literal["auto", "turn", "first_pair", "conversation"]
#: What one judged item is: ``turn`` (a question and its answer), ``first_pair`` (a candidate's first question
#: and answer, scored by ``judge_score``), ``conversation``, or ``auto``.
JUDGE_UNITS: tuple[str, ...] = ("auto", "turn", "first_pair", "conversation")

Pairing = Literal["anchored", "score_levels"]
#: How pairs are drawn: ``anchored`` (each item anchors pairs, within its group first) or ``score_levels`` (two
#: score levels drawn at random, one item from each, items split into train and test within each level).
PAIRINGS: tuple[str, ...] = ("anchored", "score_levels")


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
            "first_pair: each candidate's first question/answer with judge_score (judged with "
            "granularity='first_pair'); conversation: each candidate with judge_score; auto: turn when "
            "judge_turn_scores is present."
        },
    )
    pairing: Pairing = field(
        default="anchored",
        metadata={
            "help": "anchored: every item anchors pairs_per_item pairs, within its figure (or question) when it "
            "can; score_levels: draw two score levels at least min_gap apart, one item from each, with the items "
            "of each level split into train and test (the paper's; gives a train and a test split)."
        },
    )
    level_train_fraction: float = field(
        default=0.8,
        metadata={
            "help": "score_levels: the share of each level's items (the first ones, in row order) that train "
            "pairs draw from; test pairs draw from the rest."
        },
    )
    num_pairs: int | None = field(
        default=None,
        metadata={"help": "score_levels: training pairs to draw (required); repeats are merged (votes)."},
    )
    num_test_pairs: int = field(
        default=0,
        metadata={"help": "score_levels: test pairs to draw from the held-out items of each level."},
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
            raise ValueError(f"unit must be one of {list(JUDGE_UNITS)}, got {self.unit!r}")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {list(PAIRINGS)}, got {self.pairing!r}")
        if not 0 < self.level_train_fraction < 1:
            raise ValueError(
                f"level_train_fraction must be between 0 and 1, got {self.level_train_fraction!r}"
            )
        for name in ("num_pairs", "num_test_pairs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if self.pairing == "score_levels" and not self.num_pairs:
            raise ValueError(
                "pairing='score_levels' needs num_pairs, the training pairs to draw (the paper: 30000)"
            )
