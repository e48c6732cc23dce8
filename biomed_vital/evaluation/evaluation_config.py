"""``EvaluationConfig``: what :func:`~biomed_vital.evaluation.evaluate` (and ``biomed-vital evaluate``) evaluates.

One run evaluates one benchmark for one or more models and writes one report folder:

* **open visual chat**: ``questions`` (LLaVA-Med's question file) and one answer file per model; a
  judge model reviews every answer against the reference answers (regenerated first with
  ``reference_model`` when given);
* **existing reviews**: ``reviews`` (review files with the judge's raw replies); scored without any
  model call;
* **VQA**: ``vqa`` (VQA-RAD, SLAKE or PathVQA) and one answer file per model; metrics need no model.

With two or more answer files, ``win_rate`` also compares every pair of models with a pairwise judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["EvaluationConfig"]


@dataclass
class EvaluationConfig:
    """What to evaluate and where the report goes.

    Example:
        >>> EvaluationConfig(out="report/", reviews=["llava-med-review.jsonl"]).mode
        'reviews'
    """

    out: str = field(
        default="", metadata={"help": "Folder for the report (JSON, Markdown table, PNG charts)."}
    )
    answers: list[str] = field(
        default_factory=list,
        metadata={"help": "Answer files (LLaVA-Med JSONL: question_id, text, model_id), one per model."},
    )
    questions: str | None = field(
        default=None,
        metadata={"help": "Open visual chat: LLaVA-Med's question file (e.g. llava_med_eval_qa50_qa.jsonl)."},
    )
    reviews: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Review files (the judge's raw reply in 'result'): scored again without any model call."
        },
    )
    vqa: str | None = field(
        default=None,
        metadata={
            "help": "VQA benchmark: a VQA-RAD / SLAKE / PathVQA file, SLAKE's folder, or a Hub dataset id."
        },
    )
    vqa_benchmark: str | None = field(
        default=None, metadata={"help": "vqa-rad, slake or pathvqa (default: guessed from the path)."}
    )
    vqa_split: str | None = field(
        default="test", metadata={"help": "Split of the VQA benchmark to evaluate."}
    )
    reference_model: str | None = field(
        default=None,
        metadata={
            "help": "Regenerate the open-chat reference answers with this model first (empty: the file's)."
        },
    )
    win_rate: bool = field(
        default=True,
        metadata={"help": "With two or more answer files, compare every pair of models (pairwise judge)."},
    )
    win_rate_questions: Literal["open", "all"] = field(
        default="open",
        metadata={
            "help": "VQA questions the pairwise judge compares: open ones (as BioMed-VITAL reports) or all."
        },
    )
    bootstrap_samples: int = field(
        default=2000, metadata={"help": "Bootstrap resamples for win-rate intervals."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the bootstrap."})
    dry_run: bool = field(
        default=False, metadata={"help": "Print the projected requests and cost; send nothing."}
    )

    @property
    def mode(self) -> str:
        """``open_chat``, ``reviews`` or ``vqa``."""
        if self.reviews:
            return "reviews"
        if self.vqa:
            return "vqa"
        return "open_chat"

    def __post_init__(self) -> None:
        given = [name for name in ("questions", "reviews", "vqa") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of --questions (open visual chat), --reviews (score review files) or --vqa "
                f"(a VQA benchmark); got {', '.join(given) or 'none'}"
            )
        if self.mode != "reviews" and not self.answers:
            raise ValueError(f"--{given[0]} needs --answers: one answer file per model")
        if self.mode == "reviews" and self.answers:
            raise ValueError("--reviews are scored as they are; --answers belong with --questions or --vqa")
        if self.bootstrap_samples < 1:
            raise ValueError(f"bootstrap_samples must be >= 1, got {self.bootstrap_samples}")
        if self.win_rate_questions not in ("open", "all"):
            raise ValueError(f"win_rate_questions must be 'open' or 'all', got {self.win_rate_questions!r}")
