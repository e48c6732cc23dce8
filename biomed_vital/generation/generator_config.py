"""``GeneratorConfig``: the options of :class:`~biomed_vital.generation.GPT4VGenerator`.

Defaults that differ from :class:`~biomed_vital.generation.task.TaskConfig`: ``temperature=0.7``
(varied candidates; TaskConfig: 0.0).

``GeneratorConfig.from_preset("biomed-vital")`` is the authors' generation: their prompts (in this library's
words), the caption under the figure's label, ``max_tokens=4096``, the API's default temperature, no minimum
number of exchanges and the demonstrations' images sent along (:mod:`biomed_vital.presets.generation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from biomed_vital.generation.paper_prompts import PROMPT_STYLES, PromptStyle
from biomed_vital.generation.parsing import DEFAULT_MIN_ROUNDS
from biomed_vital.generation.task import TaskConfig

__all__ = ["GeneratorConfig"]


@dataclass
class GeneratorConfig(TaskConfig):
    """How :class:`~biomed_vital.generation.GPT4VGenerator` asks for candidate conversations.

    Example:
        >>> GeneratorConfig(n_candidates=2, two_answers=True).n_candidates
        2
    """

    temperature: float | None = field(
        default=0.7, metadata={"help": "Sampling temperature (empty: the server's default)."}
    )
    n_candidates: int = field(
        default=1,
        metadata={"help": "Conversations per figure; each is a request with seed = seed + candidate index."},
    )
    two_answers: bool = field(
        default=False,
        metadata={
            "help": "Ask for two answers per question (Answer A / Answer B) and emit them as two paired "
            "candidates for clinician comparison."
        },
    )
    demonstrations: str | None = field(
        default=None,
        metadata={
            "help": "Few-shot demonstrations: a file or folder load_figures reads (e.g. the clinician "
            "demonstrations in LLaVA JSONL); empty: zero-shot."
        },
    )
    demonstration_selection: Literal["per_modality", "same_modality"] = field(
        default="per_modality",
        metadata={
            "help": "per_modality: one demonstration per modality, resampled per request; same_modality: "
            "n_demonstrations of the figure's own modality."
        },
    )
    n_demonstrations: int = field(
        default=1, metadata={"help": "Demonstrations per request with same_modality."}
    )
    attach_demonstration_images: bool = field(
        default=False, metadata={"help": "Send the demonstrations' images too, where they have one."}
    )
    min_rounds: int = field(
        default=DEFAULT_MIN_ROUNDS,
        metadata={"help": "Fewest question-answer exchanges a usable conversation has."},
    )
    prompt_style: PromptStyle = field(
        default="library",
        metadata={
            "help": "Built-in prompts and request layout: library (this library's) or biomed-vital (the "
            "authors' persona and rules, in this library's words)."
        },
    )
    fig_label: bool = field(
        default=False,
        metadata={
            "help": "Put the figure's label (the fig_label column, e.g. 'Figure 2') before its caption in the "
            "request, as the article prints it."
        },
    )
    extra_body: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "Further request parameters, e.g. {top_p: 0.9} (config file only).", "cli": False},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {self.n_candidates}")
        if self.demonstration_selection not in ("per_modality", "same_modality"):
            raise ValueError(
                "demonstration_selection must be 'per_modality' or 'same_modality', "
                f"got {self.demonstration_selection!r}"
            )
        if self.n_demonstrations < 1:
            raise ValueError(f"n_demonstrations must be >= 1, got {self.n_demonstrations}")
        if self.min_rounds < 1:
            raise ValueError(f"min_rounds must be >= 1, got {self.min_rounds}")
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"prompt_style must be one of {list(PROMPT_STYLES)}, got {self.prompt_style!r}")
        self.extra_body = dict(self.extra_body or {})
