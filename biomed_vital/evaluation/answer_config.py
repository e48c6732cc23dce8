"""``AnswerConfig``: the options of :class:`~biomed_vital.evaluation.QuestionAnswerer`.

Defaults that differ from :class:`~biomed_vital.generation.TaskConfig`: ``max_tokens=512`` (one answer;
TaskConfig: 1024).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from biomed_vital.generation.task import TaskConfig

__all__ = ["AnswerConfig"]


@dataclass
class AnswerConfig(TaskConfig):
    """How :class:`~biomed_vital.evaluation.QuestionAnswerer` asks a model to answer evaluation questions.

    Example:
        >>> AnswerConfig(with_context=False, image_root="images/").with_context
        False
    """

    max_tokens: int = field(default=512, metadata={"help": "Most tokens a reply may have."})
    with_context: bool = field(
        default=True,
        metadata={
            "help": "Show the model the figure's caption and mentions (how LLaVA-Med's text-only GPT-4 wrote the "
            "reference answers); off for a vision model that must read the image."
        },
    )
    image_root: str | None = field(
        default=None,
        metadata={"help": "Folder of the questions' images; when given, each request carries the image."},
    )
