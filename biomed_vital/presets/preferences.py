"""The ``biomed-vital`` preset's preference-pair settings, from the authors' ``filter/train_clip_filter.py``.

Judge pairs: two distinct integer score levels drawn at random, one item from each (whatever its figure), the
items of every level split 80/20 (in row order) into train and test; 30,000 training draws and 10,000 test
draws. Clinician pairs: the first 50 go to training. The clinician weight was swept, not set.
"""

from __future__ import annotations

from typing import Any

from biomed_vital.preferences.mixing import PAPER_CLINICIAN_WEIGHTS

__all__ = ["BIOMED_VITAL", "BIOMED_VITAL_SWEEPS"]

BIOMED_VITAL: dict[str, dict[str, Any]] = {
    "JudgePairConfig": {
        # an item is a candidate's first question-answer pair, scored by judge_score (the first pair's score)
        "unit": "first_pair",
        "pairing": "score_levels",
        "min_gap": 1.0,
        "level_train_fraction": 0.8,
        "num_pairs": 30_000,
        "num_test_pairs": 10_000,
    },
    "PreferenceBuildConfig": {"clinician_train_pairs": 50},
}

BIOMED_VITAL_SWEEPS: dict[str, tuple[Any, ...]] = {"clinician_weight": PAPER_CLINICIAN_WEIGHTS}
