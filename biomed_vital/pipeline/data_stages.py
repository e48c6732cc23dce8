"""The pipeline's data stages: figures, sample, annotate, generate, judge, preferences.

Each ``run_<stage>(context)`` reads what the stages before it saved, writes its own folder, and returns a
JSON-ready summary; :class:`~biomed_vital.pipeline.Pipeline` writes the stage's marker after it returns.

Example:
    >>> from biomed_vital.pipeline import Pipeline, PipelineConfig
    >>> Pipeline(PipelineConfig(output_dir="runs/vital", until="judge")).run()   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import Any

from biomed_vital.pipeline.context import PipelineStopped, RunContext

__all__ = [
    "split_figures",
    "run_annotate",
    "run_figures",
    "run_generate",
    "run_judge",
    "run_preferences",
    "run_sample",
]


def split_figures(context: RunContext) -> tuple[Any, Any, Any]:
    """The pool, the held-out figures and the unreadable ones, as the ``figures`` stage splits them."""
    from biomed_vital.data import load_demo_figures, load_figure_source
    from biomed_vital.schema import ERROR

    config = context.pipeline
    figures = (
        load_demo_figures()
        if config.figures == "demo"
        else load_figure_source(config.figures, config.image_root)
    )
    broken = figures.filter(lambda row: row[ERROR] != "")
    usable = figures.filter(lambda row: row[ERROR] == "")
    if len(usable) == 0:
        raise ValueError(f"none of the {len(figures)} figures in {config.figures} could be read")
    evaluated = "evaluate" in config.stages() and not context.evaluation.questions
    # hold back at most half the pool, so a small pool still leaves figures to make data from
    held = min(context.evaluation.held_out if evaluated else 0, len(usable) // 2)
    shuffled = usable.shuffle(seed=config.seed)
    return shuffled.select(range(held, len(shuffled))), shuffled.select(range(held)), broken


def run_figures(context: RunContext) -> dict[str, Any]:
    """Load the pool, set unreadable figures aside (listed), and hold ``evaluate.held_out`` figures back."""
    from biomed_vital.data import summarize_figures

    pool, held_out, broken = split_figures(context)
    print(summarize_figures(pool), flush=True)
    pool.save_to_disk(str(context.path("figures", "pool")))
    held_out.save_to_disk(str(context.path("figures", "held_out")))
    if len(broken):
        broken.remove_columns([c for c in broken.column_names if c == "image"]).to_json(
            str(context.path("figures", "unreadable.jsonl"))
        )
    context.log(f"{len(pool)} figures in the pool, {len(held_out)} held out, {len(broken)} unreadable")
    return {"pool": len(pool), "held_out": len(held_out), "unreadable": len(broken)}


def run_sample(context: RunContext) -> dict[str, Any]:
    """Draw ``clinicians.k`` figures spread over clusters of their embeddings (and modalities)."""
    from biomed_vital.sampling import DemonstrationSampler

    pool = context.load("figures", "pool")
    config = context.sections["sample"]
    if config.cache_dir is None:
        config = dataclasses.replace(config, cache_dir=str(context.cache_dir / "embeddings"))
    k = min(context.clinicians.k, len(pool))
    sampler = DemonstrationSampler(config=config)
    drawn = sampler.sample(pool, k=k)
    drawn.save_to_disk(str(context.path("sample", "figures")))
    plot = sampler.plot(context.path("sample", "sampling.png"))
    modalities = sorted(set(drawn["modality"]))
    context.log(f"drew {len(drawn)} of {len(pool)} figures; modalities {', '.join(modalities)}")
    return {"drawn": len(drawn), "pool": len(pool), "modalities": modalities, "plot": str(plot)}


def run_annotate(context: RunContext) -> dict[str, Any]:
    """Two answers per question for the drawn figures, the clinicians' judgements, the approved demonstrations."""
    from biomed_vital.annotation import annotation_agreement, simulate_annotations
    from biomed_vital.generation import GPT4VGenerator
    from biomed_vital.sampling import select_demonstrations

    drawn = context.load("sample", "figures")
    # zero-shot: two-answer mode shows only two-answer demonstrations, and the approved ones do not exist yet
    two_answers = dataclasses.replace(
        context.sections["generate"], two_answers=True, n_candidates=1, demonstrations=None
    )
    candidates_dir = context.path("annotate", "candidates")
    annotations = context.path("annotate", "annotations.jsonl")
    if not candidates_dir.exists():
        generator = GPT4VGenerator(config=two_answers, engine=context.engine())
        candidates = generator.generate(drawn)
        context.record_requests("annotate", generator)
        candidates.save_to_disk(str(candidates_dir))
    candidates = context.load("annotate", "candidates")
    source = context.clinicians.source
    if source == "imported":
        shutil.copyfile(str(context.clinicians.annotations), annotations)
    elif source == "simulated":
        annotations.unlink(missing_ok=True)
        simulate_annotations(candidates, annotations)
    else:
        raise PipelineStopped(
            f"the answers for clinicians are in {candidates_dir}. Start the app with `biomed-vital annotate "
            f"{candidates_dir} --out {annotations} --annotator NAME`, then run again with "
            f"--clinicians.annotations {annotations} (or --clinicians.simulate to go on without clinicians)"
        )
    agreement = annotation_agreement(str(annotations))
    try:
        demonstrations = select_demonstrations(
            candidates, str(annotations), per_modality=context.clinicians.per_modality
        )
        demonstrations.save_to_disk(str(context.path("annotate", "demonstrations")))
        approved = len(demonstrations)
    except ValueError as reason:  # no conversation approved whole: the judgements still make clinician pairs
        context.log(f"no demonstrations ({reason}); generation goes on without clinician demonstrations")
        approved = 0
    context.log(f"{source} judgements on {len(candidates)} answers; {approved} demonstrations")
    return {
        "source": source,
        "answers": len(candidates),
        "judgements": sum(agreement.judgements_by_annotator.values()),
        "demonstrations": approved,
        "agreement": str(agreement),
    }


def run_generate(context: RunContext) -> dict[str, Any]:
    """Conversations for every pool figure, few-shot with the clinician-approved demonstrations."""
    from biomed_vital.generation import GPT4VGenerator

    pool = context.load("figures", "pool")
    config = context.sections["generate"]
    demonstrations = context.path("annotate", "demonstrations")
    used = config.demonstrations
    if config.demonstrations is None and demonstrations.exists():
        config = dataclasses.replace(config, demonstrations=str(demonstrations))
        used = str(demonstrations)
    generator = GPT4VGenerator(config=config, engine=context.engine())
    candidates = generator.generate(pool)
    context.record_requests("generate", generator)
    candidates.save_to_disk(str(context.path("generate", "candidates")))
    ok = sum(status == "ok" for status in candidates["status"])
    context.log(f"{ok}/{len(candidates)} candidates generated (demonstrations: {used or 'none, zero-shot'})")
    prompt_shas = sorted(set(candidates["prompt_sha"])) if "prompt_sha" in candidates.column_names else []
    return {"candidates": len(candidates), "ok": ok, "demonstrations": used, "prompt_shas": prompt_shas}


def run_judge(context: RunContext) -> dict[str, Any]:
    """A score for every candidate from the model judge."""
    from biomed_vital.generation import GPT4VJudge

    candidates = context.load("generate", "candidates")
    judge = GPT4VJudge(config=context.sections["judge"], engine=context.engine())
    judged = judge.score(candidates)
    context.record_requests("judge", judge)
    judged.save_to_disk(str(context.path("judge", "judged")))
    scores = [
        s for s, status in zip(judged["judge_score"], judged["judge_status"], strict=True) if status == "ok"
    ]
    mean = sum(scores) / len(scores) if scores else None
    context.log(
        f"{len(scores)}/{len(judged)} candidates judged; mean score {mean if mean is None else round(mean, 2)}"
    )
    return {"judged": len(scores), "candidates": len(judged), "mean_score": mean}


def run_preferences(context: RunContext) -> dict[str, Any]:
    """Clinician pairs from the annotations and judge pairs from the scores, mixed with the clinician weight."""
    from biomed_vital.preferences import build_preferences, summarize_preferences

    annotations = context.path("annotate", "annotations.jsonl")
    pairs = build_preferences(
        context.load("judge", "judged"),
        str(annotations) if annotations.is_file() else None,
        candidates=context.load("annotate", "candidates") if annotations.is_file() else None,
        config=context.sections["preferences"],
    )
    pairs.save_to_disk(str(context.path("preferences", "pairs")))
    splits = dict(pairs) if hasattr(pairs, "keys") else {"train": pairs}
    for name, split in splits.items():
        context.log(f"{name}: {summarize_preferences(split)}")
    return {name: len(split) for name, split in splits.items()}
