"""Tune a LLaVA-style model on clinician-aligned conversations with LLaVA-Med's two stages, then let it answer.

Offline, on a tiny LLaVA built from a config and the 58 clinician demonstrations released with BioMed-VITAL
(from the shared fixtures; their PMC images are not available offline, so each figure gets a real fixture image
of the same modality as a stand-in, marked `image_is_stand_in`):

    python examples/tune_llava.py --output-dir tune-demo

Stage 1 (alignment) trains only the projector on the figures' captions; stage 2 (instruction) tunes the
language model with LoRA on the conversations, the projector trained fully; the adapter is merged into the
stage-1 model; the merged model answers the first question of each held-out figure. The folder then holds
`stage1/`, `stage2/` (adapter and model card), `merged/`, `answers.jsonl` (LLaVA-Med's answer-file format)
and `summary.json` (losses, sizes).

With a real model and selected data (a GPU; for several, replace `python` with
`accelerate launch --config_file examples/accelerate/ddp.yaml`):

    python examples/tune_llava.py --model llava-hf/llava-1.5-7b-hf --data selected/data \\
        --captions figures/ --max-steps -1 --output-dir llava-vital
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def demonstration_figures(fixtures: Path):
    """The demonstrations as figures with conversations, each with a real fixture image of its modality."""
    from biomed_vital.data import load_figures

    demonstrations, images = fixtures / "clinician_demonstrations.jsonl", fixtures / "images.jsonl"
    if not demonstrations.is_file() or not images.is_file():
        raise SystemExit(
            f"no demonstrations at {demonstrations}: pass --fixtures FOLDER, or --data with your own"
        )
    stand_ins: dict = {}
    for row in load_figures(images):
        stand_ins.setdefault(row["modality"], row["image"].resize((64, 64)))
    fallback = stand_ins.get("other") or next(iter(stand_ins.values()))
    return load_figures(demonstrations).map(
        lambda row: {
            "image": stand_ins.get(row["modality"], fallback),
            "error": "",
            "image_is_stand_in": True,
        }
    )


def losses(trainer) -> list[float]:
    return [round(entry["loss"], 4) for entry in trainer.state.log_history if "loss" in entry]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="tune-demo")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--model", help="a Hub id or folder (default: a tiny LLaVA built from a config)")
    parser.add_argument("--data", help="training data: a saved stage, LLaVA JSON or Hub id (default: demos)")
    parser.add_argument(
        "--captions", help="figures with captions for stage 1 (default with --data: no stage 1)"
    )
    parser.add_argument("--image-root", help="folder the image paths of JSON data resolve against")
    parser.add_argument("--method", default="lora", choices=["full", "lora", "qlora"])
    parser.add_argument("--max-steps", type=int, default=12, help="steps per stage; -1: the recipe's epochs")
    parser.add_argument("--held-out", type=int, default=6, help="figures kept back to answer questions about")
    arguments = parser.parse_args()

    from transformers import AutoModelForImageTextToText, AutoProcessor

    from biomed_vital.testing import tiny_llava
    from biomed_vital.tuning import (
        VisualInstructionConfig,
        VisualInstructionTrainer,
        caption_rows,
        generate_answers,
        load_training_data,
        merge_adapter,
        training_rows,
    )

    out = Path(arguments.output_dir)
    tiny = arguments.model is None
    model = arguments.model
    if tiny:
        model = str(out / "base")
        tiny_llava(out_dir=model)  # random weights: this run shows the machinery, not a useful model
    if arguments.data:
        figures = load_training_data(arguments.data, image_root=arguments.image_root)
        captions = (
            load_training_data(arguments.captions, image_root=arguments.image_root, stage="alignment")
            if arguments.captions
            else None
        )
        held_out = None
    else:
        demonstrations = demonstration_figures(arguments.fixtures)
        held_out = demonstrations.select(range(len(demonstrations) - arguments.held_out, len(demonstrations)))
        # named rows, so the model card says what the data was
        figures = training_rows(
            demonstrations.select(range(len(demonstrations) - arguments.held_out)),
            source="clinician demonstrations, stand-in images",
        )
        captions = caption_rows(
            demonstrations.select(range(len(demonstrations) - arguments.held_out)),
            source="figure captions of the clinician demonstrations",
        )
    small = dict(per_device_train_batch_size=4, global_batch_size=8, max_length=512) if tiny else {}
    common = dict(
        max_steps=arguments.max_steps, logging_steps=1, save_strategy="no", report_to="none", **small
    )

    # Stage 1: the projector learns to map image features into the language model's space, on captions.
    start = model
    stage1 = None
    if captions is not None:
        stage1_args = VisualInstructionConfig(str(out / "stage1"), stage="alignment", **common)
        stage1 = VisualInstructionTrainer(model, stage1_args, train_dataset=captions)
        stage1.train()
        stage1.save_model()
        start = str(out / "stage1")

    # Stage 2: instruction tuning on the conversations, from the stage-1 model.
    stage2_args = VisualInstructionConfig(str(out / "stage2"), method=arguments.method, **common)
    stage2 = VisualInstructionTrainer(start, stage2_args, train_dataset=figures)
    stage2.train()
    stage2.save_model()

    summary: dict = {
        "stage2": {"rows": len(stage2.train_dataset), "method": arguments.method, "losses": losses(stage2)},
    }
    if stage1 is not None:
        summary["stage1"] = {"rows": len(stage1.train_dataset), "losses": losses(stage1)}
    tuned = out / "stage2"
    if arguments.method != "full":
        tuned = merge_adapter(out / "stage2", out / "merged", base_model=start)
    if held_out is not None:
        questions = held_out.map(lambda row: {"question": row["messages"][0]["content"]})
        answers = generate_answers(
            AutoModelForImageTextToText.from_pretrained(tuned),
            AutoProcessor.from_pretrained(tuned),
            questions.select_columns(["id", "image", "question"]),
            output_file=out / "answers.jsonl",
            model_id=tuned.name,
            max_new_tokens=24,
        )
        summary["answers"] = len(answers)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"model card: {out / 'stage2' / 'README.md'}")


if __name__ == "__main__":
    main()
