"""Weighted pairwise preference losses on raw selector scores.

Both losses work on the RAW scores `s` (the logits), never on `sigmoid(s)`:

* `logistic` (Bradley-Terry): `-w * logsigmoid(s_c - s_r - m)`, with an optional per-pair margin `m`.
* `hinge`: `w * relu(margin - (s_c - s_r))`.

Why raw scores: a hinge of margin 1 applied to sigmoid outputs, as in the authors' reference scripts, asks
for `sigmoid(s_c) - sigmoid(s_r) >= 1`, which no finite scores reach (the difference of two sigmoids stays
strictly below 1). Every pair then keeps a non-zero loss, so the hinge never stops pushing even on pairs
that are already ordered correctly. On raw scores the margin is reachable and the loss is zero once a pair
is separated by `margin`. (The `biomed-vital` preset reproduces the paper's setting: its selector's output
goes through a sigmoid, so the hinge sees sigmoid outputs.)

How the weighted per-pair losses become one number (`reduction`):

* `weighted_mean` (the library's): `sum(w * loss) / sum(w)`. A weight sets a pair's share of its batch; the
  scale of the loss does not depend on the weights.
* `batch_mean` (the paper's): `mean(w * loss)`, i.e. `sum(w * loss) / n`. A weight multiplies the pair's
  gradient outright: a batch holding one clinician pair of weight 400 among 63 judge pairs gets a loss and a
  gradient 463 / 64 (about 7) times what `weighted_mean` gives it, while a batch of judge pairs alone is the
  same under both. The same clinician weight therefore means different things under the two reductions, and
  a sweep over it is comparable only within one reduction.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

LOSS_TYPES = ("logistic", "hinge")
LOSS_REDUCTIONS = ("weighted_mean", "batch_mean")


def pairwise_preference_loss(
    chosen_scores: torch.Tensor,
    rejected_scores: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    loss_type: Literal["logistic", "hinge"] = "logistic",
    margin: float | torch.Tensor = 0.0,
    reduction: Literal["weighted_mean", "batch_mean"] = "weighted_mean",
) -> torch.Tensor:
    """The batch's preference loss: `sum(w * loss) / sum(w)` (`weighted_mean`) or `mean(w * loss)` (`batch_mean`).

    Args:
        chosen_scores / rejected_scores: raw scores of shape `(pairs,)`.
        weights: non-negative per-pair weights (clinician pairs typically weigh more); `None` means 1.
        loss_type: `"logistic"` or `"hinge"`.
        margin: a float or a per-pair tensor. For `logistic` it is subtracted from the score difference
            (0 gives the plain Bradley-Terry loss); for `hinge` it is the required separation.
        reduction: `"weighted_mean"` (the library's default) or `"batch_mean"` (the paper's); see the module
            docstring for what each makes of a weight.

    Example:
        >>> import torch
        >>> pairwise_preference_loss(torch.tensor([3.0]), torch.tensor([0.0]), loss_type="hinge", margin=1.0)
        tensor(0.)
        >>> chosen, rejected, weights = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]), torch.tensor([3.0, 1.0])
        >>> pairwise_preference_loss(chosen, rejected, weights, loss_type="hinge", margin=1.0)  # (3*2 + 1*1) / 4
        tensor(1.7500)
        >>> pairwise_preference_loss(chosen, rejected, weights, loss_type="hinge", margin=1.0, reduction="batch_mean")
        tensor(3.5000)
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type={loss_type!r} is not supported; use one of {list(LOSS_TYPES)}.")
    if reduction not in LOSS_REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not supported; use one of {list(LOSS_REDUCTIONS)}.")
    if chosen_scores.shape != rejected_scores.shape:
        raise ValueError(
            f"chosen and rejected scores differ in shape: {tuple(chosen_scores.shape)} vs "
            f"{tuple(rejected_scores.shape)}."
        )
    difference = chosen_scores - rejected_scores
    if loss_type == "logistic":
        per_pair = -nn.functional.logsigmoid(difference - margin)
    else:
        per_pair = nn.functional.relu(margin - difference)
    if weights is None:
        return per_pair.mean()
    weights = weights.to(per_pair.dtype)
    if reduction == "batch_mean":
        return (per_pair * weights).mean()
    total = weights.sum()
    if total <= 0:
        raise ValueError("the weights of this batch sum to zero or less; every pair needs a weight > 0.")
    return (per_pair * weights).sum() / total


__all__ = ["LOSS_REDUCTIONS", "LOSS_TYPES", "pairwise_preference_loss"]
