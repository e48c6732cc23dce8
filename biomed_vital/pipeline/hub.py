"""Push every artifact of a finished run to the Hub, with cards that record where it came from.

Datasets (candidates, judged, preferences, selected) go up with their stage card; the selector and the tuned
model with a model card. Every card carries the run's provenance: the source figures, the generator and judge
models, the prompt hashes and demonstrations, request counts and spend, the selector and selection ratio, the
training recipe, the evaluation table, and what ran against stand-ins (the simulated clinicians among them).
Repositories are private unless the run says ``--public``.

Example:
    >>> summary = Pipeline(PipelineConfig(output_dir="runs/vital", push_to_hub="my-org/vital")).run()  # doctest: +SKIP
    >>> summary["pushed"]["selected"]                                                              # doctest: +SKIP
    'my-org/vital-selected'
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biomed_vital.pipeline.runner import Pipeline

__all__ = ["provenance", "push_run"]

# (artifact name in the repository id, stage folder, data contract stage)
_DATASETS: tuple[tuple[str, str, str], ...] = (
    ("candidates", "generate/candidates", "candidates"),
    ("judged", "judge/judged", "judged"),
    ("preferences", "preferences/pairs", "preferences"),
    ("selected", "select/selected", "selected"),
)


def provenance(pipeline: Pipeline, summary: dict[str, Any]) -> dict[str, Any]:
    """The facts about a run that every card it pushes records."""
    context = pipeline.context
    stages = summary.get("stages", {})
    return {
        "source figures": pipeline.config.figures,
        "generator and judge model": context.sections["backend"].model,
        "prompt hashes": ", ".join(stages.get("generate", {}).get("prompt_shas", [])) or "not recorded",
        "demonstrations": stages.get("generate", {}).get("demonstrations") or "none (zero-shot)",
        "clinician judgements": stages.get("annotate", {}).get("source", "not used"),
        "requests and spend": json.dumps(summary.get("requests", {}), sort_keys=True),
        "selector": pipeline.config.selector_model,
        "selection": json.dumps(
            {k: stages.get("select", {}).get(k) for k in ("selected", "candidates", "top_fraction")}
        ),
        "evaluation": json.dumps(stages.get("evaluate", {}).get("open_chat", {}), sort_keys=True),
        "ran against stand-ins": "; ".join(f"{k}: {v}" for k, v in summary.get("stand_ins", {}).items())
        or "none",
    }


def push_run(pipeline: Pipeline, summary: dict[str, Any]) -> dict[str, str]:
    """Push the run's datasets and models as ``<push_to_hub>-<artifact>``; returns the repository ids."""
    from huggingface_hub import HfApi

    from biomed_vital.hub import model_card, push_dataset_to_hub, push_model_to_hub
    from biomed_vital.schema import load_stage
    from biomed_vital.selection import SelectorModel, SelectorProcessor

    prefix = pipeline.config.push_to_hub
    assert prefix
    private = not pipeline.config.public
    facts = provenance(pipeline, summary)
    root = pipeline.context.root
    pushed: dict[str, str] = {}
    for name, folder, stage in _DATASETS:
        if not (root / folder).exists():
            continue
        repo_id = f"{prefix}-{name}"
        push_dataset_to_hub(
            load_stage(str(root / folder)),
            repo_id,
            stage=stage,
            private=private,
            card_extra={"description": f"The {name} of a BioMed-VITAL pipeline run.", **facts},
        )
        pushed[name] = repo_id
    selector = root / "train_selector" / "model"
    if selector.is_dir():
        repo_id = f"{prefix}-selector"
        card = model_card(
            repo_id=repo_id,
            model_kind="selector",
            description="The selection model of a BioMed-VITAL pipeline run.",
            datasets=[pushed["preferences"]] if "preferences" in pushed else [],
            metrics=summary.get("stages", {}).get("train_selector", {}).get("eval") or {},
            training=facts,
        )
        push_model_to_hub(
            SelectorModel.from_pretrained(selector),
            repo_id,
            card=card,
            processor=SelectorProcessor.from_pretrained(selector),
            private=private,
        )
        pushed["selector"] = repo_id
    tuned = root / "tune" / ("merged" if (root / "tune" / "merged").is_dir() else "model")
    if tuned.is_dir():
        repo_id = f"{prefix}-model"
        api = HfApi()
        api.create_repo(repo_id, private=private, exist_ok=True)
        # the tuning card (data, recipe, metrics) is already in the folder; the run's facts go beside it
        # (uploaded from memory: a finished stage's folder is not written to again)
        api.upload_folder(
            repo_id=repo_id,
            folder_path=os.fspath(tuned),
            commit_message="Upload the BioMed-VITAL tuned model",
        )
        api.upload_file(
            path_or_fileobj=(json.dumps(facts, indent=2) + "\n").encode(),
            path_in_repo="run_provenance.json",
            repo_id=repo_id,
            commit_message="Add the run's provenance",
        )
        pushed["model"] = repo_id
    return pushed
