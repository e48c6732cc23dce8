from __future__ import annotations

import pytest
import torch
from trl import RewardConfig, RewardTrainer

from biomed_vital.selection import SelectorCollator, SelectorTrainer, SelectorTrainingConfig, compute_features
from biomed_vital.testing import tiny_selector


def _config(tmp_path, **overrides):
    values = dict(
        max_steps=6,
        per_device_train_batch_size=8,
        learning_rate=3e-3,
        logging_steps=3,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    values.update(overrides)
    return SelectorTrainingConfig(str(tmp_path / "run"), **values)


def _learning_selector():
    """A tiny selector that generalises from `small_pairs` to held-out figures within a few dozen steps: one
    layer per tower, mean-pooled text of 64 tokens (left-truncated, so the answer stays), no head dropout."""
    return tiny_selector(num_layers=1, max_text_length=64, text_pooling="mean", head_dropout=0.0)


def test_defaults_are_resolved_for_a_cpu_machine(tmp_path):
    args = SelectorTrainingConfig(str(tmp_path), use_cpu=True, report_to="none")
    assert args.bf16 is False and args.gradient_checkpointing is False
    assert args.loss_type == "logistic" and args.margin == 0.0
    assert SelectorTrainingConfig(str(tmp_path), use_cpu=True, loss_type="hinge").margin == 1.0
    explicit = SelectorTrainingConfig(str(tmp_path), use_cpu=True, activation_checkpointing=True)
    assert explicit.activation_checkpointing is True and explicit.gradient_checkpointing is True


def test_config_rejects_unknown_loss_and_bad_clinician_weight(tmp_path):
    with pytest.raises(ValueError, match="loss_type"):
        SelectorTrainingConfig(str(tmp_path), use_cpu=True, loss_type="square")
    with pytest.raises(ValueError, match="clinician_weight"):
        SelectorTrainingConfig(str(tmp_path), use_cpu=True, clinician_weight=0.0)


def test_trainer_is_a_reward_trainer_and_requires_its_config(tmp_path, small_pairs):
    model, processor = tiny_selector()
    assert issubclass(SelectorTrainer, RewardTrainer)
    with pytest.raises(TypeError, match="SelectorTrainingConfig"):
        SelectorTrainer(
            model,
            RewardConfig(str(tmp_path), use_cpu=True, bf16=False),
            train_dataset=small_pairs,
            processing_class=processor,
        )
    with pytest.raises(ValueError, match="processing_class"):
        SelectorTrainer(model, _config(tmp_path), train_dataset=small_pairs)


def test_missing_columns_are_named(tmp_path, small_pairs):
    model, processor = tiny_selector()
    with pytest.raises(ValueError, match="rejected_text"):
        SelectorTrainer(
            model,
            _config(tmp_path),
            train_dataset=small_pairs.remove_columns("rejected_text"),
            processing_class=processor,
        )


def test_collator_puts_chosen_first_and_applies_the_clinician_weight(small_pairs):
    _, processor = tiny_selector()
    collator = SelectorCollator(processor, clinician_weight=50.0)
    rows = [dict(small_pairs[i], chosen_ids=[1, 5, 6], rejected_ids=[1, 7]) for i in range(4)]
    batch = collator(rows)
    assert batch["input_ids"].shape[0] == 8 and batch["pixel_values"].shape[0] == 8
    assert batch["input_ids"][0, :3].tolist() == [1, 5, 6] and batch["input_ids"][4, :2].tolist() == [1, 7]
    expected = [50.0 if row["source"] == "clinician" else row["weight"] for row in rows]
    assert batch["weight"].tolist() == expected


def test_training_lowers_the_held_out_loss_and_evaluation_reports_selector_metrics(
    tmp_path, small_pairs, held_out_pairs
):
    model, processor = _learning_selector()
    trainer = SelectorTrainer(
        model,
        _config(tmp_path, max_steps=24, eval_strategy="steps", eval_steps=12),
        train_dataset=small_pairs,
        eval_dataset=held_out_pairs,
        processing_class=processor,
    )
    assert not set(small_pairs["figure_id"]) & set(held_out_pairs["figure_id"])
    before = trainer.evaluate()
    trainer.train()
    model.eval()
    metrics = trainer.evaluate()
    assert not model.training, "evaluate() must restore the mode the model was in"
    # learnt, not memorised: the loss falls and the ranking improves on figures the trainer never saw
    assert metrics["eval_loss"] < before["eval_loss"] - 0.1, (before, metrics)
    assert metrics["eval_pairwise_accuracy"] >= max(0.8, before["eval_pairwise_accuracy"] + 0.2), metrics
    for key in (
        "eval_pairwise_accuracy",
        "eval_judge_accuracy",
        "eval_clinician_alignment",
        "eval_roc_auc",
        "eval_clinician_mean_rank",
        "eval_clinician_map",
    ):
        assert key in metrics, key
    assert metrics["eval_num_pairs"] == len(held_out_pairs)
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logged and {"accuracy", "margin", "mean_reward"} <= logged[0].keys()


def test_evaluation_during_training_leaves_the_model_training(tmp_path, small_pairs):
    model, processor = tiny_selector()
    modes = []

    trainer = SelectorTrainer(
        model,
        _config(tmp_path, max_steps=4, eval_strategy="steps", eval_steps=2),
        train_dataset=small_pairs,
        eval_dataset=small_pairs,
        processing_class=processor,
    )
    original = trainer.evaluate

    def evaluate_and_record(*args, **kwargs):
        result = original(*args, **kwargs)
        modes.append(model.training)
        return result

    trainer.evaluate = evaluate_and_record
    trainer.train()
    assert modes and all(modes)


def _pair_scores(model, processor, pairs) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.no_grad():
        chosen, rejected = (
            model(**processor(images=list(pairs[f"{side}_image"]), text=list(pairs[f"{side}_text"]))).logits
            for side in ("chosen", "rejected")
        )
    return chosen.squeeze(-1), rejected.squeeze(-1)


def test_hinge_loss_trains(tmp_path, small_pairs, held_out_pairs):
    model, processor = _learning_selector()
    trainer = SelectorTrainer(
        model,
        _config(tmp_path, loss_type="hinge", max_steps=24),
        train_dataset=small_pairs,
        processing_class=processor,
    )
    chosen, rejected = _pair_scores(model, processor, held_out_pairs)
    before = trainer.evaluate(held_out_pairs)
    # the loss evaluated is the hinge with margin 1 on raw scores (an untrained logistic loss would be ~0.69)
    assert before["eval_loss"] == pytest.approx(torch.relu(1.0 - (chosen - rejected)).mean().item(), abs=1e-4)
    trainer.train()
    after = trainer.evaluate(held_out_pairs)
    chosen, rejected = _pair_scores(model, processor, held_out_pairs)
    assert after["eval_loss"] == pytest.approx(torch.relu(1.0 - (chosen - rejected)).mean().item(), abs=1e-4)
    assert after["eval_loss"] < before["eval_loss"] - 0.2, (before, after)
    assert after["eval_pairwise_accuracy"] >= 0.8, after


def test_cached_features_train_only_the_head(tmp_path, small_pairs):
    model, processor = tiny_selector(freeze_vision=True, freeze_text=True)
    encoders = {
        k: v.clone() for k, v in model.state_dict().items() if k.startswith(("vision_model", "text_model"))
    }
    head = model.score_head[-1].weight.clone()
    cached = compute_features(small_pairs, model, processor, batch_size=16, num_workers=0)
    trainer = SelectorTrainer(model, _config(tmp_path), train_dataset=cached, processing_class=processor)
    trainer.train()
    assert not torch.equal(head, model.score_head[-1].weight)
    for name, tensor in encoders.items():
        assert torch.equal(tensor, model.state_dict()[name]), name


def test_saved_model_reloads_with_auto_model_and_gives_identical_scores(tmp_path, small_pairs):
    model, processor = tiny_selector()
    trainer = SelectorTrainer(model, _config(tmp_path), train_dataset=small_pairs, processing_class=processor)
    trainer.train()
    trainer.save_model(str(tmp_path / "final"))
    model.eval()
    batch = processor(
        images=[small_pairs[i]["chosen_image"] for i in range(4)],
        text=[small_pairs[i]["chosen_text"] for i in range(4)],
    )
    with torch.no_grad():
        expected = model(**batch).logits
    # The subprocess tests in test_auto_registration.py show this works after a bare `import biomed_vital`.
    from transformers import AutoModel, AutoProcessor

    reloaded = AutoModel.from_pretrained(tmp_path / "final").eval()
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path / "final")
    assert type(reloaded).__name__ == "SelectorModel"
    assert type(reloaded_processor).__name__ == "SelectorProcessor"
    reloaded_batch = reloaded_processor(
        images=[small_pairs[i]["chosen_image"] for i in range(4)],
        text=[small_pairs[i]["chosen_text"] for i in range(4)],
    )
    with torch.no_grad():
        scores = reloaded(**reloaded_batch).logits
    assert (scores - expected).abs().max().item() <= 1e-6


def test_the_saved_tokenizer_carries_no_truncation_left_from_training(tmp_path, small_pairs):
    from transformers import AutoTokenizer

    model, processor = tiny_selector()
    trainer = SelectorTrainer(model, _config(tmp_path), train_dataset=small_pairs, processing_class=processor)
    trainer.train()
    trainer.save_model(str(tmp_path / "final"))
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "final")
    assert reloaded.backend_tokenizer.truncation is None
    assert reloaded.init_kwargs.get("max_length") is None


@pytest.mark.gpu
def test_training_and_selection_on_cuda(tmp_path, small_pairs, candidates):
    from biomed_vital.selection import select

    model, processor = tiny_selector()
    args = SelectorTrainingConfig(
        str(tmp_path / "run"),
        max_steps=4,
        per_device_train_batch_size=8,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    assert args.bf16 == torch.cuda.is_bf16_supported()
    trainer = SelectorTrainer(
        model, args, train_dataset=small_pairs, eval_dataset=small_pairs, processing_class=processor
    )
    trainer.train()
    assert next(model.parameters()).device.type == "cuda"
    assert "eval_pairwise_accuracy" in trainer.evaluate()
    scored = select(candidates, model, processor, batch_size=4, num_workers=0)
    assert len(scored) == len(candidates) - 1
    assert all(score is not None for score in scored["selector_score"])


@pytest.mark.parametrize("reduction", ["weighted_mean", "batch_mean"])
def test_the_trainer_reduces_the_weighted_loss_as_configured(tmp_path, small_pairs, reduction):
    model, processor = tiny_selector(head_dropout=0.0)
    args = _config(tmp_path, loss_type="hinge", loss_reduction=reduction, clinician_weight=10.0)
    trainer = SelectorTrainer(model, args, train_dataset=small_pairs, processing_class=processor)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(6)])
    weights = batch["weight"].clone()
    assert set(weights.tolist()) == {1.0, 10.0}  # clinician and judge pairs in the batch
    model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        inputs = {key: batch[key] for key in ("input_ids", "attention_mask", "pixel_values")}
        chosen, rejected = model(**inputs).logits.squeeze(-1).chunk(2)
    weighted = (torch.relu(1.0 - (chosen - rejected)) * weights).sum()
    expected = weighted / (weights.sum() if reduction == "weighted_mean" else len(weights))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
