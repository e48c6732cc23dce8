"""``PairwiseJudgeConfig``: the options of :class:`~biomed_vital.evaluation.PairwiseJudge`.

Defaults are :class:`~biomed_vital.generation.TaskConfig`'s (``temperature=0.0``, ``max_tokens=1024``:
an explanation and the verdict); nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biomed_vital.generation.task import TaskConfig

__all__ = ["PairwiseJudgeConfig"]


@dataclass
class PairwiseJudgeConfig(TaskConfig):
    """How :class:`~biomed_vital.evaluation.PairwiseJudge` asks which of two answers is better.

    Example:
        >>> PairwiseJudgeConfig(image_root="vqa_rad/images").image_root
        'vqa_rad/images'
    """

    instruction: str | None = field(
        default=None,
        metadata={
            "help": "Replace the instruction that ends each comparison (empty: the built-in one, which asks for "
            "[[A]], [[B]] or [[tie]] on the last line)."
        },
    )
    image_root: str | None = field(
        default=None,
        metadata={
            "help": "Folder of the questions' images; when given, each comparison shows the judge the image."
        },
    )
    bootstrap_samples: int = field(
        default=2000, metadata={"help": "Bootstrap resamples of the questions for the win rate's interval."}
    )
    confidence: float = field(
        default=0.95, metadata={"help": "Coverage of the win rate's bootstrap interval."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.bootstrap_samples < 1:
            raise ValueError(f"bootstrap_samples must be >= 1, got {self.bootstrap_samples}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
