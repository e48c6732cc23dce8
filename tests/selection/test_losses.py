from __future__ import annotations

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
