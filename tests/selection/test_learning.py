"""The selector learns real preferences, and the clinician weight steers it (trained from scratch on CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from biomed_vital.selection import SelectorTrainer, SelectorTrainingConfig
from biomed_vital.testing import build_tiny_tokenizer, tiny_selector

pytestmark = pytest.mark.slow

MAX_TOKENS = 64  # left truncation keeps the end of the question and the answer


def _split_by_figure(records, seed, held_out=12):
    order = np.random.default_rng(seed).permutation(len(records))
    test = {int(i) for i in order[:held_out]}
    return [r for i, r in enumerate(records) if i not in test], [
        r for i, r in enumerate(records) if i in test
    ]


def _train(train, seed, tmp_path, epochs=3, **args):
    tokenizer = build_tiny_tokenizer(train["chosen_text"][:300], vocab_size=600, model_max_length=MAX_TOKENS)
    model, processor = tiny_selector(
        tokenizer=tokenizer,
        num_layers=1,
        max_text_length=MAX_TOKENS,
        seed=seed,
        text_pooling="mean",
        head_dropout=0.0,
    )
    config = SelectorTrainingConfig(
        str(tmp_path / f"run-{seed}"),
        num_train_epochs=epochs,
        per_device_train_batch_size=32,
        learning_rate=5e-3,
        warmup_steps=3,
        logging_steps=50,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=seed,
        disable_tqdm=True,
        **args,
    )
    trainer = SelectorTrainer(model, config, train_dataset=train, processing_class=processor)
    trainer.train()
    return trainer


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_held_out_pairwise_accuracy_on_clinician_demonstrations(demonstrations, make_pairs, tmp_path, seed):
    train_records, test_records = _split_by_figure(demonstrations, seed)
    train = make_pairs(train_records, seed=seed)
    test = make_pairs(test_records, seed=seed + 100)
    assert not set(train["figure_id"]) & set(test["figure_id"])

    trainer = _train(train, seed, tmp_path)
    metrics = trainer.evaluate(test)

    assert metrics["eval_num_pairs"] == len(test)
    assert metrics["eval_pairwise_accuracy"] >= 0.75, metrics
    assert metrics["eval_roc_auc"] >= 0.75, metrics


def test_clinician_weight_moves_the_model_towards_clinicians(demonstrations, make_pairs, tmp_path):
    # Clinicians prefer the full answer over a truncated one; the (more numerous) judge pairs say the opposite.
    train_records, test_records = _split_by_figure(demonstrations, seed=0)
    clinician_records, judge_records = train_records[:12], train_records[12:]
    from datasets import concatenate_datasets

    train = concatenate_datasets(
        [
            make_pairs(clinician_records, seed=0, kinds=("truncated",), source="clinician"),
            make_pairs(judge_records, seed=0, kinds=("truncated",), source="judge", flip=True),
        ]
    ).shuffle(seed=0)
    held_out = make_pairs(test_records, seed=1, kinds=("truncated",), source="clinician")

    agreement = {}
    for weight in (1.0, 100.0):
        trainer = _train(train, 0, tmp_path / str(weight), epochs=4, clinician_weight=weight)
        agreement[weight] = trainer.evaluate(held_out)["eval_clinician_alignment"]

    assert agreement[100.0] >= 0.75, agreement
    assert agreement[100.0] - agreement[1.0] >= 0.3, agreement
