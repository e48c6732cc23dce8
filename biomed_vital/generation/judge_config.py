"""``JudgeConfig``: the options of :class:`~biomed_vital.generation.GPT4VJudge`.

Defaults that differ from :class:`~biomed_vital.generation.task.TaskConfig`: ``max_tokens=400`` (a score
and a short rationale; TaskConfig: 1024).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from biomed_vital.generation.task import TaskConfig

__all__ = ["JudgeConfig"]


@dataclass
class JudgeConfig(TaskConfig):
    """How :class:`~biomed_vital.generation.GPT4VJudge` asks for 0-10 scores.

    Example:
        >>> JudgeConfig(granularity="conversation").granularity
        'conversation'
    """

    max_tokens: int = field(default=400, metadata={"help": "Most tokens a reply may have."})
    granularity: Literal["turn", "conversation"] = field(
        default="turn",
        metadata={
            "help": "turn: score each question-answer pair (judge_score is their mean); conversation: one "
            "score per conversation."
        },
    )
    structured_output: bool | None = field(
        default=None,
        metadata={
            "help": "Ask for JSON through response_format (json_schema); empty: on for OpenAI and Azure, off "
            "for other OpenAI-compatible servers, whose text replies are parsed."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.granularity not in ("turn", "conversation"):
            raise ValueError(f"granularity must be 'turn' or 'conversation', got {self.granularity!r}")
