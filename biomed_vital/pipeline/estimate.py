"""What a run will send before it sends anything: requests per stage and the projected spend.

Example:
    >>> from biomed_vital.pipeline import Pipeline, PipelineConfig
    >>> print(Pipeline(PipelineConfig(output_dir="runs/vital", dry_run=True)).describe())   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from biomed_vital.pipeline.runner import Pipeline

__all__ = ["projected_requests"]


def projected_requests(pipeline: Pipeline) -> list[str]:
    """Lines of the plan that project the model calls of the stages still to run (nothing is sent)."""
    from biomed_vital.generation import GPT4VGenerator
    from biomed_vital.pipeline.data_stages import split_figures

    context = pipeline.context
    to_run = {step.stage for step in pipeline.plan() if step.action != "reuse"}
    if not to_run & {"annotate", "generate", "judge", "evaluate"}:
        return ["  no model calls left to make"]
    pool, held_out, _ = split_figures(context)
    generate = context.sections["generate"]
    engine = context.engine()
    try:
        lines = [
            f"model calls ({context.sections['backend'].model}; upper bounds, every reply at max_tokens):"
        ]
        drawn = min(context.clinicians.k, len(pool))
        if "annotate" in to_run:
            two = dataclasses.replace(generate, two_answers=True, n_candidates=1, demonstrations=None)
            estimate = GPT4VGenerator(config=two, engine=engine).estimate_cost(pool.select(range(drawn)))
            lines.append(f"  annotate   {estimate} (two answers for the {drawn} drawn figures)")
        if "generate" in to_run:
            estimate = GPT4VGenerator(config=generate, engine=engine).estimate_cost(pool)
            lines.append(f"  generate   {estimate}")
        if "judge" in to_run:
            candidates = len(pool) * generate.n_candidates
            lines.append(
                f"  judge      about {candidates:,} requests, one per candidate (spend known after generate)"
            )
        if "evaluate" in to_run and len(held_out):
            one = dataclasses.replace(generate, two_answers=False, n_candidates=1)
            estimate = GPT4VGenerator(config=one, engine=engine).estimate_cost(held_out)
            models = 2 if context.evaluation.compare_base else 1
            lines.append(f"  evaluate   {estimate} (references for {len(held_out)} held-out figures)")
            lines.append(
                f"             and about {len(held_out) * models:,} review requests"
                + (f" + {len(held_out):,} pairwise comparisons" if models > 1 else "")
            )
        if "endpoint" in context.stand_ins:
            lines.append(
                f"  (sent to {context.stand_ins['endpoint']}: it costs nothing; spend shown at list prices)"
            )
        return lines
    finally:
        context.close()
