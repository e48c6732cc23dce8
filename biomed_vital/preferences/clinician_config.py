"""``ClinicianPairConfig``: the options of
:meth:`~biomed_vital.preferences.PreferenceDataset.from_clinician_annotations`.

Adds to :class:`~biomed_vital.preferences.pair_config.PairConfig`; changes none of its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from biomed_vital.preferences.pair_config import PairConfig

__all__ = ["CONTRADICTIONS", "ClinicianPairConfig", "Contradictions", "check_contradictions"]

Contradictions = Literal["drop", "keep"]
#: What may happen to a pair whose reverse is also present (A>B and B>A).
CONTRADICTIONS: tuple[str, ...] = ("drop", "keep")


@dataclass
class ClinicianPairConfig(PairConfig):
    """How clinician annotation records become pairs.

    Example:
        >>> ClinicianPairConfig(contradictions="keep").pair_marks_across_annotators
        False
    """

    pair_marks_across_annotators: bool = field(
        default=False,
        metadata={
            "help": "Pair one clinician's accepted answer with another clinician's rejected answer to the "
            "same question (default: only marks by the same annotator are paired)."
        },
    )
    contradictions: Contradictions = field(
        default="drop",
        metadata={
            "help": "What to do with contradictory pairs (A>B and B>A from different records): drop both "
            "or keep both. Either way they are counted."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_contradictions(self.contradictions)


def check_contradictions(value: str) -> None:
    """Raise a ``ValueError`` unless ``value`` is one of :data:`CONTRADICTIONS`.

    Example:
        >>> check_contradictions("keep")
    """
    if value not in CONTRADICTIONS:
        raise ValueError(f"contradictions must be 'drop' or 'keep', got {value!r}")
