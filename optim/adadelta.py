"""Adadelta: steps scaled by the ratio of running RMS of past updates to that of past gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_learning_rate, check_non_negative
from .buffers import add_zero_buffers, update_square_average
from .optimizer import Optimizer


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as PyTorch implements it.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``)::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Args:
        params: parameters or parameter groups to optimize.
        lr: coefficient that scales delta before it is applied.
        rho: coefficient of the running averages of squared gradients and squared updates.
        eps: added inside both square roots for numerical stability.
        weight_decay: L2 penalty coefficient.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int), ``square_avg`` and ``acc_delta`` (Tensors).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, *, maximize: bool = False) -> None:
        check_learning_rate(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative("epsilon", eps)
        check_non_negative("weight_decay", weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            add_zero_buffers(state, param, "square_avg", "acc_delta")
        state["step"] += 1
        direction = self._direction(param, grad, group["weight_decay"], group["maximize"])
        square_avg, acc_delta = state["square_avg"].data, state["acc_delta"].data
        scratch, delta = self._buffer(param, 1), self._buffer(param, 2)
        update_square_average(square_avg, direction, rho, scratch)
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        np.add(square_avg, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        delta /= scratch
        delta *= direction
        update_square_average(acc_delta, delta, rho, scratch)
        delta *= group["lr"]
        param -= delta
