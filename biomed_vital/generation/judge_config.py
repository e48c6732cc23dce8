"""``JudgeConfig``: the options of :class:`~biomed_vital.generation.GPT4VJudge`.

Defaults that differ from :class:`~biomed_vital.generation.task.TaskConfig`: ``max_tokens=400`` (a score
and a short rationale; TaskConfig: 1024).

``JudgeConfig.from_preset("biomed-vital")`` is the authors' judge: their criteria (in this library's words),
temperature 0, the score read from the first line of a text reply, and each candidate scored on its first
question-answer pair only (:mod:`biomed_vital.presets.judging`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from biomed_vital.generation.paper_prompts import PROMPT_STYLES, PromptStyle
from biomed_vital.generation.task import TaskConfig

__all__ = ["GRANULARITIES", "SCORE_PARSINGS", "JudgeConfig"]

#: What one judge request rates: each pair, the first pair only, or the whole conversation.
GRANULARITIES: tuple[str, ...] = ("turn", "first_pair", "conversation")
#: Where the score is read from: anywhere in the reply, or the first line only.
SCORE_PARSINGS: tuple[str, ...] = ("anywhere", "first_line")


@dataclass
class JudgeConfig(TaskConfig):
    """How :class:`~biomed_vital.generation.GPT4VJudge` asks for 0-10 scores.

    Example:
        >>> JudgeConfig(granularity="conversation").granularity
        'conversation'
    """

    max_tokens: int = field(default=400, metadata={"help": "Most tokens a reply may have."})
    granularity: Literal["turn", "first_pair", "conversation"] = field(
        default="turn",
        metadata={
            "help": "turn: score each question-answer pair (judge_score is their mean); first_pair: score the "
            "first pair only, one request per candidate (the paper's); conversation: one score per "
            "conversation."
        },
    )
    score_parsing: Literal["anywhere", "first_line"] = field(
        default="anywhere",
        metadata={
            "help": "anywhere: the score in JSON or the first score-like phrase of the reply; first_line: the "
            "first whole number on the reply's first line, as the paper read it."
        },
    )
    prompt_style: PromptStyle = field(
        default="library",
        metadata={
            "help": "Built-in prompt: library (this library's criteria) or biomed-vital (the authors' criteria, "
            "in this library's words)."
        },
    )
    structured_output: bool | None = field(
        default=None,
        metadata={
            "help": "Ask for JSON through response_format (json_schema); empty: on for OpenAI and Azure, off "
            "for other OpenAI-compatible servers, whose text replies are parsed."
        },
    )

    report_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder for report.html, a page of the judged candidates (thumbnails, conversations, "
            "scores and rationales, filterable by modality and sortable by score); empty: none."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {list(GRANULARITIES)}, got {self.granularity!r}")
        if self.score_parsing not in SCORE_PARSINGS:
            raise ValueError(
                f"score_parsing must be one of {list(SCORE_PARSINGS)}, got {self.score_parsing!r}"
            )
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {list(PROMPT_STYLES)}, got {self.prompt_style!r}")
        if self.prompt_style == "biomed-vital" and self.granularity == "conversation":
            raise ValueError(
                "prompt_style='biomed-vital' rates one question-answer pair per request; use granularity "
                "'first_pair' (the paper's) or 'turn'"
            )
