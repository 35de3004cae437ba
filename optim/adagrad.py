"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor, wrap

from .arguments import check_learning_rate, check_non_negative
from .optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), as PyTorch implements it.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``), at step :math:`t`::

        g = g + weight_decay * p
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                              (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps)

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        lr_decay: learning-rate decay per step.
        weight_decay: L2 penalty coefficient.
        initial_accumulator_value: starting value of the sum of squares.
        eps: added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int) and ``sum`` (Tensor).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        check_learning_rate(lr)
        check_non_negative("lr_decay", lr_decay)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("initial_accumulator_value", initial_accumulator_value)
        check_non_negative("epsilon", eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = wrap(np.full_like(param, group["initial_accumulator_value"]))
        state["step"] += 1
        direction = self._direction(param, grad, group["weight_decay"], group["maximize"])
        learning_rate = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"].data
        scratch = self._buffer(param, 1)
        total += np.multiply(direction, direction, out=scratch)
        denominator = np.sqrt(total, out=scratch)
        denominator += group["eps"]
        ratio = np.divide(direction, denominator, out=scratch)
        ratio *= learning_rate
        param -= ratio
