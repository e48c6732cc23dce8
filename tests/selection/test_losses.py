from __future__ import annotations

import math

import pytest
import torch

from biomed_vital.selection import pairwise_preference_loss


def test_logistic_loss_is_bradley_terry_on_raw_scores():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    expected = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
    assert torch.allclose(pairwise_preference_loss(chosen, rejected), expected)


def test_weights_make_heavy_pairs_dominate():
    chosen, rejected = torch.tensor([3.0, -3.0]), torch.tensor([0.0, 0.0])
    light = pairwise_preference_loss(chosen, rejected, torch.tensor([1.0, 1.0]))
    heavy_correct = pairwise_preference_loss(chosen, rejected, torch.tensor([100.0, 1.0]))
    heavy_wrong = pairwise_preference_loss(chosen, rejected, torch.tensor([1.0, 100.0]))
    assert heavy_correct < light < heavy_wrong


def test_hinge_on_raw_scores_reaches_zero_once_the_margin_is_met():
    chosen, rejected = torch.tensor([3.0, 0.5]), torch.tensor([1.0, 0.0])
    losses = [
        pairwise_preference_loss(chosen[i : i + 1], rejected[i : i + 1], loss_type="hinge", margin=1.0)
        for i in range(2)
    ]
    assert losses[0] == 0.0  # gap 2 >= margin 1
    assert torch.isclose(losses[1], torch.tensor(0.5))


def test_a_margin_one_hinge_on_sigmoid_outputs_never_stops_pushing():
    # Why the losses work on raw scores: sigmoid(c) - sigmoid(r) < 1, so a margin of 1 on sigmoids is never met.
    chosen, rejected = torch.tensor([5.0]), torch.tensor([-5.0])
    assert pairwise_preference_loss(chosen, rejected, loss_type="hinge", margin=1.0) == 0.0
    assert (
        pairwise_preference_loss(chosen.sigmoid(), rejected.sigmoid(), loss_type="hinge", margin=1.0) > 0.01
    )


def test_per_pair_margin_tensor_is_accepted():
    loss = pairwise_preference_loss(
        torch.tensor([1.0, 1.0]), torch.tensor([0.0, 0.0]), loss_type="hinge", margin=torch.tensor([0.5, 2.0])
    )
    assert torch.isclose(loss, torch.tensor(0.5))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="loss_type"):
        pairwise_preference_loss(torch.zeros(2), torch.zeros(2), loss_type="square")
    with pytest.raises(ValueError, match="shape"):
        pairwise_preference_loss(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="weight"):
        pairwise_preference_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2))


# A hand-checked batch: a hinge of margin 1 on four pairs, the first a clinician pair of weight 10.
#   score differences           0.8, 0.2, -0.5, 0.0
#   per-pair hinge 1 - diff     0.2, 0.8,  1.5, 1.0
#   times the weights (10,1,1,1) 2.0, 0.8,  1.5, 1.0   -> sum 5.3
#   weighted_mean = 5.3 / 13 (the sum of the weights); batch_mean = 5.3 / 4 (the pairs), the paper's
HAND_CHOSEN = torch.tensor([0.9, 0.6, 0.2, 0.5])
HAND_REJECTED = torch.tensor([0.1, 0.4, 0.7, 0.5])
HAND_WEIGHTS = torch.tensor([10.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize(("reduction", "expected"), [("weighted_mean", 5.3 / 13), ("batch_mean", 5.3 / 4)])
def test_both_reductions_on_a_hand_checked_batch(reduction, expected):
    loss = pairwise_preference_loss(
        HAND_CHOSEN, HAND_REJECTED, HAND_WEIGHTS, loss_type="hinge", margin=1.0, reduction=reduction
    )
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_the_reductions_give_the_clinician_weight_different_meanings():
    # logistic losses of the same batch: log(1 + exp(-d)) for d = 0.8, 0.2, -0.5, 0.0
    per_pair = [math.log1p(math.exp(-d)) for d in (0.8, 0.2, -0.5, 0.0)]
    weighted = sum(w * loss for w, loss in zip((10, 1, 1, 1), per_pair, strict=True))
    kwargs = {"loss_type": "logistic"}
    assert pairwise_preference_loss(
        HAND_CHOSEN, HAND_REJECTED, HAND_WEIGHTS, **kwargs
    ).item() == pytest.approx(weighted / 13, abs=1e-6)
    assert pairwise_preference_loss(
        HAND_CHOSEN, HAND_REJECTED, HAND_WEIGHTS, reduction="batch_mean", **kwargs
    ).item() == pytest.approx(weighted / 4, abs=1e-6)
    # scaling every weight scales the paper's loss but leaves the library's unchanged
    for reduction, factor in (("weighted_mean", 1.0), ("batch_mean", 100.0)):
        base = pairwise_preference_loss(HAND_CHOSEN, HAND_REJECTED, HAND_WEIGHTS, reduction=reduction)
        scaled = pairwise_preference_loss(HAND_CHOSEN, HAND_REJECTED, 100 * HAND_WEIGHTS, reduction=reduction)
        assert scaled.item() == pytest.approx(factor * base.item(), rel=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        pairwise_preference_loss(HAND_CHOSEN, HAND_REJECTED, reduction="sum")
