"""Weighted pairwise preference losses on raw selector scores.

Both losses work on the RAW scores `s` (the logits), never on `sigmoid(s)`:

* `logistic` (Bradley-Terry): `-w * logsigmoid(s_c - s_r - m)`, with an optional per-pair margin `m`.
* `hinge`: `w * relu(margin - (s_c - s_r))`.

Why raw scores: a hinge of margin 1 applied to sigmoid outputs, as in the authors' reference scripts, asks
for `sigmoid(s_c) - sigmoid(s_r) >= 1`, which no finite scores reach (the difference of two sigmoids stays
strictly below 1). Every pair then keeps a non-zero loss, so the hinge never stops pushing even on pairs
that are already ordered correctly. On raw scores the margin is reachable and the loss is zero once a pair
is separated by `margin`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

LOSS_TYPES = ("logistic", "hinge")


def pairwise_preference_loss(
    chosen_scores: torch.Tensor,
    rejected_scores: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    loss_type: Literal["logistic", "hinge"] = "logistic",
    margin: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """Weighted mean of the per-pair preference loss: `sum(w * loss) / sum(w)`.

    Args:
        chosen_scores / rejected_scores: raw scores of shape `(pairs,)`.
        weights: non-negative per-pair weights (clinician pairs typically weigh more); `None` means 1.
        loss_type: `"logistic"` or `"hinge"`.
        margin: a float or a per-pair tensor. For `logistic` it is subtracted from the score difference
            (0 gives the plain Bradley-Terry loss); for `hinge` it is the required separation.

    Example:
        >>> import torch
        >>> pairwise_preference_loss(torch.tensor([3.0]), torch.tensor([0.0]), loss_type="hinge", margin=1.0)
        tensor(0.)
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type={loss_type!r} is not supported; use one of {list(LOSS_TYPES)}.")
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
    total = weights.sum()
    if total <= 0:
        raise ValueError("the weights of this batch sum to zero or less; every pair needs a weight > 0.")
    return (per_pair * weights).sum() / total


__all__ = ["LOSS_TYPES", "pairwise_preference_loss"]
