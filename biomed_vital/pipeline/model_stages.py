"""The pipeline's model stages: train_selector, select, tune, evaluate.

Each ``run_<stage>(context)`` reads what the stages before it saved, writes its own folder, and returns a
JSON-ready summary. ``selector_model`` / ``base_model`` set to ``tiny`` build small random models offline
(recorded as stand-ins in the run summary): they show the machinery, not a useful model.

Example:
    >>> from biomed_vital.pipeline import Pipeline, PipelineConfig
    >>> Pipeline(PipelineConfig(output_dir="runs/vital")).run()   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from biomed_vital.pipeline.config import STAND_IN
from biomed_vital.pipeline.context import RunContext

__all__ = ["run_evaluate", "run_select", "run_train_selector", "run_tune", "tuned_model_path"]


def _splits(pairs: Any) -> tuple[Any, Any]:
    if hasattr(pairs, "keys"):
        return pairs["train"], pairs.get("test")
    return pairs, None


def _finite(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and math.isfinite(v) and not k.endswith(("_runtime", "_per_second"))
    }


def run_train_selector(context: RunContext) -> dict[str, Any]:
    """Train the selector on the preference pairs; save it with its processor to ``train_selector/model``."""
    from biomed_vital.selection import SelectorModel, SelectorProcessor, SelectorTrainer

    train, test = _splits(context.load("preferences", "pairs"))
    name = context.pipeline.selector_model
    if name == STAND_IN:
        from biomed_vital.testing import tiny_selector

        model, processor = tiny_selector(seed=context.pipeline.seed)
    else:
        model, processor = SelectorModel.from_pretrained(name), SelectorProcessor.from_pretrained(name)
    output = context.path("train_selector", "model")
    args = dataclasses.replace(
        context.sections["train_selector"], output_dir=str(output), disable_tqdm=not context.show_progress
    )
    trainer = SelectorTrainer(model, args, train_dataset=train, processing_class=processor)
    result = trainer.train()
    trainer.save_model(str(output))
    summary: dict[str, Any] = {
        "selector": name,
        "train_pairs": len(train),
        "train_loss": result.training_loss,
    }
    if test is not None and len(test):
        summary["eval"] = _finite(trainer.evaluate(test))
        summary["eval_pairs"] = len(test)
    scores = ", ".join(f"{k} {v:.3g}" for k, v in summary.get("eval", {}).items())
    context.log(
        f"trained on {len(train)} pairs, loss {result.training_loss:.3g}"
        + (f"; held-out pairs: {scores}" if scores else "")
    )
    return summary


def run_select(context: RunContext) -> dict[str, Any]:
    """Score every judged candidate with the trained selector and keep the best."""
    from biomed_vital.selection import SelectorModel, SelectorProcessor, select

    folder = context.folder("train_selector") / "model"
    model, processor = SelectorModel.from_pretrained(folder), SelectorProcessor.from_pretrained(folder)
    judged = context.load("judge", "judged")
    config = context.sections["select"]
    selected = select(
        judged, model, processor, config=config, output_dir=str(context.path("select", "report"))
    )
    selected.save_to_disk(str(context.path("select", "selected")))
    context.log(f"kept {len(selected)} of {len(judged)} candidates")
    return {
        "candidates": len(judged),
        "selected": len(selected),
        "top_fraction": config.top_fraction,
        "threshold": config.threshold,
        "selector": str(folder),
    }


def tuned_model_path(context: RunContext) -> Path:
    """The tuned model's folder: the merged model when the tuning trained an adapter."""
    merged = context.folder("tune") / "merged"
    return merged if merged.is_dir() else context.folder("tune") / "model"


def _base_model(context: RunContext) -> str:
    name = context.pipeline.base_model
    if name != STAND_IN:
        return name
    from biomed_vital.testing import tiny_llava

    folder = context.folder("tune") / "base"
    if not (folder / "config.json").is_file():
        tiny_llava(out_dir=str(folder), seed=context.pipeline.seed)
    return str(folder)


def run_tune(context: RunContext) -> dict[str, Any]:
    """Instruction-tune the base model on the selected conversations (LLaVA-Med's stage 2)."""
    from biomed_vital.tuning import VisualInstructionTrainer, merge_adapter, training_rows

    base = _base_model(context)
    rows = training_rows(
        context.load("select", "selected"), source=str(context.folder("select") / "selected")
    )
    output = context.path("tune", "model")
    args = dataclasses.replace(
        context.sections["tune"], output_dir=str(output), disable_tqdm=not context.show_progress
    )
    trainer = VisualInstructionTrainer(base, args, train_dataset=rows)
    result = trainer.train()
    trainer.save_model()
    if args.method != "full":
        merge_adapter(output, context.path("tune", "merged"), base_model=base)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    context.log(
        f"tuned {base} ({args.method}) on {len(rows)} conversations; loss {losses[0]:.3g} -> {losses[-1]:.3g}"
        if losses
        else f"tuned {base} on {len(rows)} conversations"
    )
    return {
        "base_model": base,
        "method": args.method,
        "rows": len(rows),
        "train_loss": result.training_loss,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "model": str(tuned_model_path(context)),
    }


def _held_out_questions(context: RunContext) -> str:
    """A LLaVA-Med question file from the held-out figures: the generator's first exchange is the reference."""
    from biomed_vital import schema
    from biomed_vital.evaluation import write_questions
    from biomed_vital.generation import GPT4VGenerator

    held_out = context.load("figures", "held_out")
    if len(held_out) == 0:
        raise ValueError(
            "no figures were held out for evaluation (evaluate.held_out is 0 or the pool is too small); "
            "set --evaluate.held_out or give --evaluate.questions"
        )
    config = dataclasses.replace(context.sections["generate"], two_answers=False, n_candidates=1)
    generator = GPT4VGenerator(config=config, engine=context.engine())
    references = generator.generate(held_out)
    context.record_requests("evaluate references", generator)
    images = context.path("evaluate", "images")
    images.mkdir(exist_ok=True)
    questions: list[dict[str, Any]] = []
    for row in references:  # a candidate keeps its figure's columns (id, image, caption, mentions, domain)
        messages = row[schema.MESSAGES] or []
        if row[schema.STATUS] != "ok" or len(messages) < 2:
            continue
        image_file = f"{row[schema.ID]}.png"
        row[schema.IMAGE].convert("RGB").save(images / image_file)
        questions.append(
            {
                "question_id": str(len(questions)),
                "question": messages[0]["content"],
                "reference_answer": messages[1]["content"],
                "caption": row[schema.CAPTION],
                "fig_label": row.get("fig_label") or "",
                "mentions": row[schema.MENTIONS],
                "domain": row[schema.DOMAIN],
                "question_type": "conversation",
                "image_file": image_file,
                "pair_id": row[schema.ID],
            }
        )
    if not questions:
        raise ValueError("the generator gave no usable reference conversation for the held-out figures")
    return write_questions(questions, context.path("evaluate", "questions.jsonl"))


def _answer(context: RunContext, model_path: str, questions: Any, image_root: str | None, name: str) -> str:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from biomed_vital.tuning import generate_answers

    settings = context.evaluation
    output = context.path("evaluate", f"answers/{name}.jsonl")
    generate_answers(
        AutoModelForImageTextToText.from_pretrained(model_path),
        AutoProcessor.from_pretrained(model_path),
        questions,
        output_file=output,
        model_id=name,
        image_root=image_root,
        batch_size=settings.batch_size,
        max_new_tokens=settings.max_new_tokens,
    )
    return str(output)


def run_evaluate(context: RunContext) -> dict[str, Any]:
    """The tuned (and base) model answer the evaluation questions; the judge scores them; a report is written."""
    from biomed_vital.evaluation import EvaluationConfig, evaluate, load_vqa, read_questions

    settings = context.evaluation
    question_file = settings.questions or _held_out_questions(context)
    image_root = settings.image_root if settings.questions else str(context.folder("evaluate") / "images")
    models = {"tuned": str(tuned_model_path(context))}
    if settings.compare_base:
        models["base"] = _base_model(context)
    summary: dict[str, Any] = {"questions": question_file}
    questions = read_questions(question_file)
    answers = [_answer(context, path, questions, image_root, name) for name, path in models.items()]
    report = evaluate(
        EvaluationConfig(
            out=str(context.path("evaluate", "report")),
            questions=question_file,
            answers=answers,
            bootstrap_samples=settings.bootstrap_samples,
            seed=context.pipeline.seed,
        ),
        engine=context.engine(),
    )
    summary["open_chat"] = {
        model: {"relative_score": scores.overall.relative_score, "unscorable": len(scores.unscorable)}
        for model, scores in report.open_chat.items()
    }
    summary["win_rates"] = [str(result) for result in report.win_rates]
    if settings.vqa:
        vqa = load_vqa(settings.vqa, split="test")  # the split EvaluationConfig scores
        vqa_answers = [
            _answer(context, path, vqa, settings.image_root, f"vqa-{name}") for name, path in models.items()
        ]
        vqa_report = evaluate(
            EvaluationConfig(out=str(context.path("evaluate", "vqa")), vqa=settings.vqa, answers=vqa_answers),
            engine=context.engine(),
        )
        summary["vqa"] = {model: str(scores) for model, scores in vqa_report.vqa.items()}
    for model, scores in report.open_chat.items():
        context.log(
            f"{model}: relative score {scores.overall.relative_score:.1f} over {scores.overall.n} questions"
        )
    return summary
