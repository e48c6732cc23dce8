"""``PreferenceBuildConfig``: the options of :func:`~biomed_vital.preferences.build_preferences`.

Every option of :class:`~biomed_vital.preferences.ClinicianPairConfig` and
:class:`~biomed_vital.preferences.JudgePairConfig` (their shared fields once), plus how the two sets
of pairs are mixed and split. No default is changed. ``PreferenceBuildConfig.from_preset("biomed-vital")``
builds the authors' training and test pairs (:mod:`biomed_vital.presets.preferences`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biomed_vital.preferences.clinician_config import ClinicianPairConfig
from biomed_vital.preferences.judge_pairs_config import JudgePairConfig
from biomed_vital.preferences.pair_config import positive_weight

__all__ = ["PreferenceBuildConfig"]


@dataclass
class PreferenceBuildConfig(ClinicianPairConfig, JudgePairConfig):
    """How clinician pairs and judge pairs are built, mixed and split.

    Example:
        >>> config = PreferenceBuildConfig(clinician_weight=100.0, test_size=0.1)
        >>> config.min_gap, config.contradictions, config.judge_pairs
        (2.0, 'drop', True)
    """

    clinician_weight: float | None = field(
        default=None,
        metadata={
            "help": "Weight of clinician pairs in the mix (judge pairs keep weight). Needed when both kinds "
            "are built; the paper swept 1, 10, 100, 200, 300 and 400."
        },
    )
    judge_pairs: bool = field(
        default=True,
        metadata={"help": "Build judge-score pairs from the judged rows (off: only clinician pairs)."},
    )
    test_size: float = field(
        default=0.0,
        metadata={
            "help": "Hold out figures as a test split: a fraction (0 < x < 1) or a number of figures "
            "(a whole number >= 1); 0: no split."
        },
    )
    split_seed: int | None = field(
        default=None, metadata={"help": "Seed of the split by figure (empty: seed)."}
    )
    stratify_by_source: bool = field(
        default=True,
        metadata={"help": "Split figures with clinician pairs apart from judge-only figures."},
    )
    clinician_train_pairs: int | None = field(
        default=None,
        metadata={
            "help": "With pairing='score_levels': the first this many clinician pairs (in record order) go to "
            "the train split and the rest to test (the paper: 50); empty: all to train."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.clinician_weight is not None:
            positive_weight(self.clinician_weight, "clinician_weight")
        if (
            isinstance(self.test_size, bool)
            or not isinstance(self.test_size, (int, float))
            or self.test_size < 0
        ):
            raise ValueError(
                f"test_size must be 0, a fraction or a number of figures, got {self.test_size!r}"
            )
        if self.test_size >= 1 and not float(self.test_size).is_integer():
            raise ValueError(
                f"test_size {self.test_size} is neither a fraction (0 < x < 1) nor a whole number of figures"
            )
        if self.pairing == "score_levels" and self.test_size:
            raise ValueError(
                "pairing='score_levels' splits the items of each score level into train and test itself; "
                "leave test_size at 0"
            )
        if self.clinician_train_pairs is not None:
            if self.pairing != "score_levels":
                raise ValueError(
                    "clinician_train_pairs applies with pairing='score_levels'; to split by figure, use test_size"
                )
            if isinstance(self.clinician_train_pairs, bool) or self.clinician_train_pairs < 0:
                raise ValueError(
                    f"clinician_train_pairs must be a whole number >= 0, got {self.clinician_train_pairs!r}"
                )

    @property
    def split_test_size(self) -> float | int:
        """``test_size`` as :func:`~biomed_vital.preferences.train_test_split_by_figure` takes it."""
        return int(self.test_size) if self.test_size >= 1 else float(self.test_size)
