"""Adamax: Adam with the infinity norm of past gradients in place of their second moment."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_adam_arguments
from .buffers import add_zero_buffers, update_average
from .optimizer import Optimizer


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7), as PyTorch implements it.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``), at step :math:`t`::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        betas: coefficients of the running average of the gradient and of the decay of the infinity norm.
        eps: added to ``|g|`` for numerical stability.
        weight_decay: L2 penalty coefficient.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int), ``exp_avg`` and ``exp_inf`` (Tensors).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0, *,
                 maximize: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            state["step"] = 0
            add_zero_buffers(state, param, "exp_avg", "exp_inf")
        state["step"] += 1
        direction = self._direction(param, grad, group["weight_decay"], group["maximize"])
        exp_avg, exp_inf = state["exp_avg"].data, state["exp_inf"].data
        scratch = self._buffer(param, 1)
        update_average(exp_avg, direction, beta1, scratch)
        exp_inf *= beta2
        np.abs(direction, out=scratch)
        scratch += group["eps"]
        np.maximum(exp_inf, scratch, out=exp_inf)
        np.divide(exp_avg, exp_inf, out=scratch)
        scratch *= lr / (1 - beta1 ** state["step"])
        param -= scratch
