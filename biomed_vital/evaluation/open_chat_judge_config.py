"""``OpenChatJudgeConfig``: the options of :class:`~biomed_vital.evaluation.OpenChatJudge`.

Defaults are :class:`~biomed_vital.generation.TaskConfig`'s (``temperature=0.0``, ``max_tokens=1024``:
two scores and an explanation); nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biomed_vital.generation.task import TaskConfig

__all__ = ["OpenChatJudgeConfig"]


@dataclass
class OpenChatJudgeConfig(TaskConfig):
    """How :class:`~biomed_vital.evaluation.OpenChatJudge` asks for the two scores of a review.

    Example:
        >>> OpenChatJudgeConfig(max_tokens=512).max_tokens
        512
    """

    instruction: str | None = field(
        default=None,
        metadata={
            "help": "Replace the instruction that ends each review request (empty: the built-in one, which asks "
            "for the two 1-10 scores on the first line)."
        },
    )
