"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_learning_rate, check_non_negative
from .buffers import add_zero_buffers, update_average, update_square_average
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as PyTorch implements it.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``)::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g            (centered)
        d = sqrt(v - a * a) + eps   if centered   else   sqrt(v) + eps
        b = momentum * b + g / d;  p = p - lr * b  (momentum > 0)
        p = p - lr * g / d                         (otherwise)

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        alpha: smoothing constant of the running average of squared gradients.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty coefficient.
        momentum: momentum factor.
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int), ``square_avg``, and ``momentum_buffer`` / ``grad_avg`` when
    used (Tensors).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        check_learning_rate(lr)
        check_non_negative("epsilon", eps)
        check_non_negative("momentum", momentum)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("alpha", alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            add_zero_buffers(state, param, "square_avg")
            if group["momentum"] > 0:
                add_zero_buffers(state, param, "momentum_buffer")
            if group["centered"]:
                add_zero_buffers(state, param, "grad_avg")
        state["step"] += 1
        direction = self._direction(param, grad, group["weight_decay"], group["maximize"])
        square_avg = state["square_avg"].data
        scratch = self._buffer(param, 1)
        update_square_average(square_avg, direction, alpha, scratch)
        if group["centered"]:
            grad_avg = state["grad_avg"].data
            update_average(grad_avg, direction, alpha, scratch)
            np.multiply(grad_avg, grad_avg, out=scratch)
            np.subtract(square_avg, scratch, out=scratch)
            denominator = np.sqrt(scratch, out=scratch)
        else:
            denominator = np.sqrt(square_avg, out=scratch)
        denominator += group["eps"]
        ratio = np.divide(direction, denominator, out=scratch)
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"].data
            buffer *= group["momentum"]
            buffer += ratio
            ratio = np.multiply(buffer, group["lr"], out=scratch)
        else:
            ratio *= group["lr"]
        param -= ratio
