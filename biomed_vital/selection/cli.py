"""Command-line entry points of the selection stage: `train-selector` and `select`.

Both read and write `save_to_disk` folders, so they chain with the other `biomed-vital` commands.

Example:
    $ biomed-vital train-selector preferences/ --vision-model openai/clip-vit-base-patch16 \\
        --text-model microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext --freeze-vision \\
        --clinician-weight 100 --out selector/
    $ biomed-vital select candidates/ --model selector/ --top-fraction 0.2 --per-modality --out selected/
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path


def train_selector_main(argv: Sequence[str] | None = None, prog: str = "biomed-vital train-selector") -> int:
    """Train a selector on saved preference pairs and save it (model, processor, `eval_metrics.json`).

    Example:
        >>> train_selector_main(["pairs/", "--model", "selector-start/", "--out", "selector/"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog=prog, description="Train a selection model on preference pairs.")
    parser.add_argument("preferences", type=Path, help="save_to_disk folder of preference pairs")
    parser.add_argument("--eval", type=Path, help="save_to_disk folder of held-out pairs to evaluate on")
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--model", help="a saved selector (folder or Hub id) to continue from")
    start.add_argument("--vision-model", help="vision encoder checkpoint; needs --text-model")
    parser.add_argument("--text-model", help="text encoder checkpoint (with --vision-model)")
    parser.add_argument("--freeze-vision", action="store_true")
    parser.add_argument("--freeze-text", action="store_true")
    parser.add_argument("--cached-features", action="store_true", help="encode once and train only the head")
    parser.add_argument("--clinician-weight", type=float)
    parser.add_argument("--loss-type", choices=["logistic", "hinge"], default="logistic")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained selector")
    args = parser.parse_args(argv)
    if args.vision_model and not args.text_model:
        parser.error("--vision-model needs --text-model")

    from biomed_vital.data import load_stage
    from biomed_vital.selection import (
        SelectorModel,
        SelectorProcessor,
        SelectorTrainer,
        SelectorTrainingConfig,
        compute_features,
    )

    train = load_stage(args.preferences)
    evaluation = load_stage(args.eval) if args.eval else None
    if args.model:
        model = SelectorModel.from_pretrained(args.model)
        processor = SelectorProcessor.from_pretrained(args.model)
        model.config.freeze_vision = args.freeze_vision or model.config.freeze_vision
        model.config.freeze_text = args.freeze_text or model.config.freeze_text
        model._apply_freezing()
    else:
        model = SelectorModel.from_encoders(
            args.vision_model, args.text_model, freeze_vision=args.freeze_vision, freeze_text=args.freeze_text
        )
        processor = SelectorProcessor.from_encoders(args.vision_model, args.text_model)
    if args.cached_features:
        if not (model.config.freeze_vision and model.config.freeze_text):
            parser.error("--cached-features needs frozen encoders: add --freeze-vision --freeze-text")
        train = compute_features(train, model, processor)
        evaluation = compute_features(evaluation, model, processor) if evaluation is not None else None

    config = SelectorTrainingConfig(
        str(args.out / "checkpoints"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        loss_type=args.loss_type,
        clinician_weight=args.clinician_weight,
        max_length=args.max_length,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
    )
    trainer = SelectorTrainer(model, config, train_dataset=train, processing_class=processor)
    trainer.train()
    trainer.save_model(str(args.out))
    if evaluation is not None:
        metrics = trainer.evaluate(evaluation)
        (args.out / "eval_metrics.json").write_text(json.dumps(metrics, indent=2))
        print(json.dumps({k: v for k, v in metrics.items() if not k.endswith(("_runtime", "_per_second"))}))
    print(f"saved the selector to {args.out}")
    return 0


def select_main(argv: Sequence[str] | None = None, prog: str = "biomed-vital select") -> int:
    """Score saved candidates with a selector and save the kept rows plus the selection report.

    Example:
        >>> select_main(["candidates/", "--model", "selector/", "--top-fraction", "0.2", "--out", "selected/"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        prog=prog, description="Keep the best candidates according to a selector."
    )
    parser.add_argument("candidates", type=Path, help="save_to_disk folder of candidates")
    parser.add_argument("--model", required=True, help="a saved selector (folder or Hub id)")
    parser.add_argument("--top-fraction", type=float)
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--per-modality", action="store_true")
    parser.add_argument("--score-by", choices=["qa_mean", "conversation"], default="qa_mean")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-workers", type=int)
    parser.add_argument("--out", type=Path, required=True, help="folder for the selected Dataset")
    parser.add_argument("--report", type=Path, help="folder for the selection report (default: OUT/report)")
    args = parser.parse_args(argv)

    from biomed_vital.data import load_stage
    from biomed_vital.selection import select

    candidates = load_stage(args.candidates)
    selected = select(
        candidates,
        args.model,
        top_fraction=args.top_fraction,
        threshold=args.threshold,
        per_modality=args.per_modality,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        output_dir=args.report or args.out / "report",
        score_by=args.score_by,
    )
    selected.save_to_disk(str(args.out / "data"))
    print(f"kept {len(selected)} of {len(candidates)} candidates; saved to {args.out / 'data'}")
    return 0


__all__ = ["select_main", "train_selector_main"]
