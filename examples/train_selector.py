"""Train a BioMed-VITAL selection model and check it on held-out figures.

Offline, on the 58 clinician demonstrations released with BioMed-VITAL (from the shared fixtures; their PMC
images are not available offline, so each figure gets a real image of the same domain as a stand-in):

    python examples/train_selector.py --output-dir selector-demo

This builds the sanity-check task of `degraded_answer_pairs` (real answers against another figure's answer,
a truncated answer and a non-answer), splits it by figure, trains a tiny selector from scratch with
`SelectorTrainer`, evaluates it on the held-out figures, saves the model and processor, and writes
`metrics.json` and `heldout_accuracy.png` (accuracy per degradation kind).

With real encoders (online, or from a local copy) and your own preference pairs (a `save_to_disk` folder
with the preference columns, e.g. from `PreferenceDataset`):

    python examples/train_selector.py --preferences my-preferences/ \\
        --vision-model openai/clip-vit-base-patch16 \\
        --text-model microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext \\
        --freeze-vision --cached-features --clinician-weight 100 --epochs 3 --output-dir vital-selector
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def demonstration_figures(fixtures: Path):
    """The demonstrations as a figures Dataset with conversations, each with a stand-in image.

    `load_figures` reads the LLaVA-format demonstrations as they are (their PMC images are not shipped, so
    rows come back without an image) and the fixture images; each demonstration then borrows a fixture
    image of its own modality, marked with `image_is_stand_in`.
    """
    from biomed_vital.data import load_figures

    demonstrations = fixtures / "clinician_demonstrations.jsonl"
    images = fixtures / "images.jsonl"
    if not demonstrations.is_file() or not images.is_file():
        raise SystemExit(
            f"no demonstrations at {demonstrations}: pass --fixtures FOLDER, or --preferences with your own pairs"
        )
    stand_ins: dict = {}
    for row in load_figures(images):
        stand_ins.setdefault(row["modality"], row["image"])
    fallback = stand_ins.get("other") or next(iter(stand_ins.values()))
    figures = load_figures(demonstrations)
    return figures.map(
        lambda row: {
            "image": stand_ins.get(row["modality"], fallback),
            "error": "",
            "image_is_stand_in": True,
        }
    )


def split_by_figure(pairs, test_fraction: float, seed: int):
    import numpy as np

    figures = sorted(set(pairs["figure_id"]))
    rng = np.random.default_rng(seed)
    held_out = set(
        rng.choice(figures, size=max(1, int(len(figures) * test_fraction)), replace=False).tolist()
    )
    test_rows = [i for i, f in enumerate(pairs["figure_id"]) if f in held_out]
    train_rows = [i for i, f in enumerate(pairs["figure_id"]) if f not in held_out]
    return pairs.select(train_rows), pairs.select(test_rows)


def plot_accuracy(per_kind: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3.2))
    axis.bar(list(per_kind), list(per_kind.values()), color="tab:blue")
    axis.axhline(0.5, color="grey", linestyle="--", label="chance")
    axis.set_ylim(0, 1)
    axis.set_ylabel("held-out pairwise accuracy")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--preferences", type=Path, help="a save_to_disk folder of preference pairs")
    parser.add_argument("--vision-model", help="Hub id or folder of a vision encoder (ViT, CLIP, SigLIP)")
    parser.add_argument("--text-model", help="Hub id or folder of a text encoder (BERT, PubMedBERT, ...)")
    parser.add_argument("--freeze-vision", action="store_true")
    parser.add_argument("--freeze-text", action="store_true")
    parser.add_argument("--cached-features", action="store_true", help="encode once, train only the head")
    parser.add_argument("--clinician-weight", type=float, default=None)
    parser.add_argument("--loss-type", choices=["logistic", "hinge"], default="logistic")
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", type=Path, default=Path("selector-demo"))
    args = parser.parse_args()

    from datasets import load_from_disk

    from biomed_vital.preferences import degraded_answer_pairs
    from biomed_vital.selection import (
        SelectorModel,
        SelectorProcessor,
        SelectorTrainer,
        SelectorTrainingConfig,
        compute_features,
    )
    from biomed_vital.testing import build_tiny_tokenizer, tiny_selector

    if args.preferences is not None:
        pairs = load_from_disk(str(args.preferences))
    else:
        pairs = degraded_answer_pairs(demonstration_figures(args.fixtures), seed=args.seed)
    train, test = split_by_figure(pairs, args.test_fraction, args.seed)
    print(f"{len(train)} training pairs, {len(test)} held-out pairs (split by figure)")

    freeze = {"freeze_vision": args.freeze_vision, "freeze_text": args.freeze_text}
    if args.vision_model or args.text_model:
        if not (args.vision_model and args.text_model):
            raise SystemExit("pass both --vision-model and --text-model")
        model = SelectorModel.from_encoders(args.vision_model, args.text_model, **freeze)
        processor = SelectorProcessor.from_encoders(args.vision_model, args.text_model)
        learning_rate = args.learning_rate or 2e-5
    else:
        # A tiny selector from scratch; its tokenizer is trained on the training texts only.
        max_length = args.max_length or 64
        tokenizer = build_tiny_tokenizer(train["chosen_text"], vocab_size=600, model_max_length=max_length)
        model, processor = tiny_selector(
            tokenizer=tokenizer,
            num_layers=1,
            max_text_length=max_length,
            seed=args.seed,
            text_pooling="mean",
            head_dropout=0.0,
            **freeze,
        )
        learning_rate = args.learning_rate or 3e-3
    if args.cached_features:
        if not (args.freeze_vision and args.freeze_text):
            raise SystemExit(
                "--cached-features needs --freeze-vision and --freeze-text (features must not change)"
            )
        train = compute_features(train, model, processor)
        test = compute_features(test, model, processor)

    config = SelectorTrainingConfig(
        str(args.output_dir / "checkpoints"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=learning_rate,
        warmup_steps=3,
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        loss_type=args.loss_type,
        clinician_weight=args.clinician_weight,
        max_length=args.max_length,
    )
    trainer = SelectorTrainer(model, config, train_dataset=train, processing_class=processor)
    trainer.train()
    metrics = trainer.evaluate(test)
    per_kind = {}
    if "pair_kind" in test.column_names:
        for kind in sorted(set(test["pair_kind"])):
            subset = test.filter(lambda row, kind=kind: row["pair_kind"] == kind)
            per_kind[kind.removeprefix("degraded:")] = trainer.evaluate(subset)["eval_pairwise_accuracy"]

    trainer.save_model(str(args.output_dir))
    summary = {"heldout": metrics, "heldout_accuracy_by_kind": per_kind}
    (args.output_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    if per_kind:
        plot_accuracy(per_kind, args.output_dir / "heldout_accuracy.png")
    print(
        f"held-out pairwise accuracy {metrics['eval_pairwise_accuracy']:.3f}, ROC-AUC {metrics['eval_roc_auc']:.3f}"
    )
    for kind, accuracy in per_kind.items():
        print(f"  {kind}: {accuracy:.3f}")
    print(f"saved to {args.output_dir} (load with AutoModel.from_pretrained after `import biomed_vital`)")


if __name__ == "__main__":
    main()
