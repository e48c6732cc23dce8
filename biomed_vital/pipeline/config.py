"""The whole pipeline's own options: where the run lives, what it starts from, and the stages without a config.

The stages that have a config dataclass of their own (the sampler, the generator, the judge, the preference
builder, the selector's training, ``select()``, the tuning trainer) keep it: a pipeline config is those
dataclasses nested under one section each (``generate: {n_candidates: 2}`` in YAML, ``--generate.n_candidates 2``
on the command line), next to the three below. ``biomed-vital run --help`` lists every option.

Example:
    >>> from biomed_vital.pipeline import PipelineConfig
    >>> PipelineConfig(output_dir="runs/vital", figures="figures.jsonl").until
    'evaluate'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from biomed_vital.pipeline.stages import STAGE_NAMES

__all__ = ["ClinicianConfig", "EvaluateStageConfig", "PipelineConfig", "STAND_IN"]

#: the value of ``base_model`` / ``selector_model`` that builds a tiny random model from a config (offline demo)
STAND_IN = "tiny"


@dataclass
class PipelineConfig:
    """Where a run writes, what it starts from, which stages run, and where the models come from.

    Example:
        >>> PipelineConfig(output_dir="runs/vital", figures="demo", until="select").stages()[-1]
        'select'
    """

    output_dir: str = field(
        default="runs/biomed-vital",
        metadata={"help": "The run's folder: one sub-folder per stage, the request cache and the summary."},
    )
    figures: str = field(
        default="demo",
        metadata={
            "help": "The figure pool: a file or folder load_figures reads, a saved Dataset, a Hub id, or "
            "'demo' (the built-in demo figures)."
        },
    )
    image_root: str | None = field(
        default=None, metadata={"help": "Folder the figures' relative image paths resolve against."}
    )
    until: str = field(
        default="evaluate",
        metadata={"help": f"Stop after this stage (one of: {', '.join(STAGE_NAMES)})."},
    )
    dry_run: bool = field(
        default=False,
        metadata={"help": "Print the plan, the request count and the projected spend; run nothing."},
    )
    allow_config_change: bool = field(
        default=False,
        metadata={
            "help": "Rerun stages whose saved output was made with other settings (and every stage after); "
            "without it such a run stops before touching anything."
        },
    )
    stand_in: bool | None = field(
        default=None,
        metadata={
            "help": "Answer generation and judging with the built-in offline stand-in server. Default: only "
            "when no --base_url is given and no OPENAI_API_KEY / AZURE_OPENAI_API_KEY is set."
        },
    )
    selector_model: str = field(
        default=STAND_IN,
        metadata={
            "help": "The selector to train: a folder or Hub id of a SelectorModel, or 'tiny' (a small random "
            "selector built offline; shows the machinery, selects no better than chance)."
        },
    )
    base_model: str = field(
        default=STAND_IN,
        metadata={
            "help": "The model to tune: a Hub id or folder of an image-text-to-text model (e.g. "
            "llava-hf/llava-1.5-7b-hf), or 'tiny' (a small random LLaVA built offline)."
        },
    )
    push_to_hub: str | None = field(
        default=None,
        metadata={
            "help": "Push every artifact of the run to the Hub as NAMESPACE/PREFIX-<artifact> (private by "
            "default), with provenance cards."
        },
    )
    public: bool = field(default=False, metadata={"help": "Make pushed repositories public."})
    seed: int = field(default=0, metadata={"help": "Seed of the held-out split and the stand-in server."})

    def __post_init__(self) -> None:
        if self.until not in STAGE_NAMES:
            raise ValueError(f"until must be one of {', '.join(STAGE_NAMES)}; got {self.until!r}")

    def stages(self) -> list[str]:
        """The stages this run goes through, in order."""
        return list(STAGE_NAMES[: STAGE_NAMES.index(self.until) + 1])

    def uses_stand_in(self, base_url: str | None) -> bool:
        """Whether generation and judging go to the offline stand-in server."""
        if self.stand_in is not None:
            return self.stand_in
        has_key = any(os.environ.get(name) for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"))
        return base_url is None and not has_key


@dataclass
class ClinicianConfig:
    """Where the clinicians' judgements come from: the annotation app, a file of them, or a simulation.

    Example:
        >>> ClinicianConfig(simulate=True).source
        'simulated'
    """

    k: int = field(default=60, metadata={"help": "Figures drawn for the clinicians to annotate."})
    annotations: str | None = field(
        default=None,
        metadata={
            "help": "Annotation records (JSONL, the app's format) to import. Without it and without --simulate, "
            "the run stops after writing the candidates to annotate and says how to start the app."
        },
    )
    simulate: bool = field(
        default=False,
        metadata={
            "help": "Let a rule stand in for clinicians (prefer the answer sharing more words with the figure's "
            "caption and mentions). Every record, pair and card says it is simulated."
        },
    )
    per_modality: int = field(
        default=1, metadata={"help": "Approved conversations kept as demonstrations per modality."}
    )

    @property
    def source(self) -> str:
        """``imported``, ``simulated`` or ``app``."""
        return "imported" if self.annotations else "simulated" if self.simulate else "app"


@dataclass
class EvaluateStageConfig:
    """What the tuned model is evaluated on.

    By default the run holds back ``held_out`` figures before anything else: the generator writes their
    reference conversations, and the tuned model (and the base model, for the win rate) answer the first
    question of each; the judge scores both answers against the reference as LLaVA-Med's open-chat protocol
    does. ``questions`` evaluates on a LLaVA-Med question file instead, ``vqa`` adds a VQA benchmark.

    Example:
        >>> EvaluateStageConfig(held_out=4).held_out
        4
    """

    held_out: int = field(
        default=50, metadata={"help": "Figures held back from every other stage for the evaluation."}
    )
    questions: str | None = field(
        default=None,
        metadata={"help": "A LLaVA-Med question file to evaluate on instead of the held-out figures."},
    )
    image_root: str | None = field(
        default=None, metadata={"help": "Folder the question file's image names resolve against."}
    )
    vqa: str | None = field(
        default=None,
        metadata={"help": "A VQA-RAD / SLAKE / PathVQA file or folder, or a Hub id, evaluated as well."},
    )
    compare_base: bool = field(
        default=True,
        metadata={"help": "Also answer with the untuned base model and report the tuned model's win rate."},
    )
    max_new_tokens: int = field(default=256, metadata={"help": "Most tokens per generated answer."})
    batch_size: int = field(default=8, metadata={"help": "Questions per generate() call."})
    bootstrap_samples: int = field(
        default=2000, metadata={"help": "Bootstrap resamples for the win-rate interval."}
    )
