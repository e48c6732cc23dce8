"""The pipeline's stages, in order: each reads the folders of the stages before it and writes its own.

=================  ==========================================================================================
stage              writes (under the run's folder)
=================  ==========================================================================================
``figures``        ``figures/pool`` (the figures the data is made from), ``figures/held_out`` (for evaluation)
``sample``         ``sample/figures``: a diverse draw for the clinicians; ``sample/sampling.png``
``annotate``       ``annotate/candidates`` (two answers per question), ``annotate/annotations.jsonl``,
                   ``annotate/demonstrations`` (the approved conversations)
``generate``       ``generate/candidates``: conversations for the pool, few-shot with the demonstrations
``judge``          ``judge/judged``: a score for every candidate
``preferences``    ``preferences/pairs``: clinician and judge pairs, mixed and weighted
``train_selector`` ``train_selector/model``: the trained selector and its processor
``select``         ``select/selected`` and ``select/report`` (counts, cut-offs, score histogram)
``tune``           ``tune/model`` (and ``tune/merged`` for an adapter): the tuned model and its card
``evaluate``       ``evaluate/questions.jsonl``, ``evaluate/answers/*.jsonl``, ``evaluate/report``
=================  ==========================================================================================

The stages themselves are in :mod:`biomed_vital.pipeline.data_stages` and
:mod:`biomed_vital.pipeline.model_stages`; this module is their one registry.

Example:
    >>> STAGE_NAMES[0], STAGE_NAMES[-1]
    ('figures', 'evaluate')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["STAGES", "STAGE_NAMES", "PipelineStage", "stage"]


@dataclass(frozen=True)
class PipelineStage:
    """One stage: its name, what it does, the run's settings it depends on, and the function that runs it.

    ``sections`` name the config sections whose values decide the stage's output (the stage's fingerprint);
    ``run(context)`` writes the stage folder and returns a JSON-ready summary.
    """

    name: str
    description: str
    sections: tuple[str, ...]
    module: str

    @property
    def run(self) -> Callable[[Any], dict[str, Any]]:
        """The function that runs the stage (imported when needed: the model stages import torch)."""
        import importlib

        return getattr(importlib.import_module(self.module), f"run_{self.name}")


_DATA = "biomed_vital.pipeline.data_stages"
_MODEL = "biomed_vital.pipeline.model_stages"

STAGES: tuple[PipelineStage, ...] = (
    PipelineStage("figures", "load the pool and hold figures back for evaluation", ("figures",), _DATA),
    PipelineStage("sample", "draw a diverse set of figures for clinicians", ("sample", "clinicians"), _DATA),
    PipelineStage(
        "annotate",
        "two answers per question for the drawn figures; clinicians compare them",
        ("generate", "clinicians", "endpoint"),
        _DATA,
    ),
    PipelineStage(
        "generate",
        "conversations for the pool, few-shot with the approved ones",
        ("generate", "endpoint"),
        _DATA,
    ),
    PipelineStage("judge", "a model judge scores every candidate", ("judge", "endpoint"), _DATA),
    PipelineStage("preferences", "clinician and judge preference pairs", ("preferences",), _DATA),
    PipelineStage(
        "train_selector", "train the selection model on the pairs", ("train_selector", "models"), _MODEL
    ),
    PipelineStage("select", "score every candidate and keep the best", ("select",), _MODEL),
    PipelineStage("tune", "instruction-tune the base model on the selected data", ("tune", "models"), _MODEL),
    PipelineStage(
        "evaluate",
        "answer held-out questions; a judge scores them against references",
        ("evaluate", "generate", "endpoint"),
        _MODEL,
    ),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


def stage(name: str) -> PipelineStage:
    """The stage called ``name``.

    Example:
        >>> stage("judge").sections
        ('judge', 'endpoint')
    """
    for candidate in STAGES:
        if candidate.name == name:
            return candidate
    raise ValueError(f"no pipeline stage {name!r}; the stages are {', '.join(STAGE_NAMES)}")
