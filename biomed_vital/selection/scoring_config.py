"""``SelectionConfig``: the options of :func:`biomed_vital.selection.select` (which candidates are kept, and
how they are scored).

``SelectionConfig.from_preset("biomed-vital", top_fraction=...)`` is the authors' selection: every candidate
scored on its first question-answer pair, all of them ranked together, the top ``int(fraction * n)`` kept; the
authors kept 10, 40, 80 or 90 % (``biomed_vital.presets.PAPER_TOP_FRACTIONS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from biomed_vital.presets.registry import FromPreset

__all__ = ["FRACTION_ROUNDINGS", "SCORE_UNITS", "SelectionConfig"]

#: What a candidate's score is: the mean over its question-answer pairs, its first pair's, or its whole text's.
SCORE_UNITS: tuple[str, ...] = ("qa_mean", "first_pair", "conversation")
#: How ``top_fraction * n`` becomes a count: rounded up (at least one kept) or down (``int()``, the paper's).
FRACTION_ROUNDINGS: tuple[str, ...] = ("ceil", "floor")


@dataclass
class SelectionConfig(FromPreset):
    """Which candidates ``select()`` keeps and how it scores them.

    Example:
        >>> SelectionConfig(top_fraction=0.2, per_modality=True).score_by
        'qa_mean'
    """

    top_fraction: float | None = field(
        default=None,
        metadata={
            "help": "Keep this fraction of the scored candidates (per modality with per_modality); empty: "
            "no fraction cut-off."
        },
    )
    threshold: float | None = field(
        default=None,
        metadata={
            "help": "Keep candidates scoring at least this; with top_fraction both must hold. With neither, "
            "every scored candidate is kept (pure scoring)."
        },
    )
    per_modality: bool = field(
        default=False,
        metadata={"help": "Apply the cut-off within each modality, so every modality keeps its share."},
    )
    score_by: Literal["qa_mean", "first_pair", "conversation"] = field(
        default="qa_mean",
        metadata={
            "help": "qa_mean: the mean score of the question-answer pairs; first_pair: the score of the first "
            "pair (the paper's); conversation: one score for the whole conversation."
        },
    )
    fraction_rounding: Literal["ceil", "floor"] = field(
        default="ceil",
        metadata={
            "help": "How top_fraction of n becomes a count: ceil keeps at least one; floor is int(), the paper's."
        },
    )
    batch_size: int = field(default=64, metadata={"help": "Candidates per model batch."})
    num_workers: int | None = field(
        default=None,
        metadata={
            "help": "DataLoader worker processes that read rows, decode images and tokenize (empty: up to 4 "
            "when at least two cores are left beside the model, that is beside torch's threads on CPU or one "
            "core with the model on an accelerator, else 0; 0: a background thread of this process)."
        },
    )
    max_length: int | None = field(
        default=None,
        metadata={"help": "Tokens per text (empty: the tokenizer's limit); longer texts are truncated."},
    )

    def __post_init__(self) -> None:
        if self.top_fraction is not None and not 0.0 < self.top_fraction <= 1.0:
            raise ValueError(f"top_fraction must be in (0, 1]; got {self.top_fraction}.")
        if self.score_by not in SCORE_UNITS:
            raise ValueError(f"score_by={self.score_by!r}; use one of {list(SCORE_UNITS)}.")
        if self.fraction_rounding not in FRACTION_ROUNDINGS:
            raise ValueError(
                f"fraction_rounding={self.fraction_rounding!r}; use one of {list(FRACTION_ROUNDINGS)}."
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {self.batch_size}.")
        if self.num_workers is not None and self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0; got {self.num_workers}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)
