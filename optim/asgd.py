"""ASGD: stochastic gradient descent with a decaying step and a running (Polyak) average of the iterates."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_learning_rate, check_non_negative
from .buffers import add_zero_buffers
from .optimizer import Optimizer


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), as PyTorch implements it.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``), at step :math:`t`
    (``eta`` starts at ``lr`` and ``mu`` at 1)::

        g = g + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = ax + mu * (p - ax)                    (ax = p while mu is 1)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    The parameters keep the SGD iterate; the average lives in ``state[p]["ax"]``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        lambd: decay term.
        alpha: power of the step-size decay.
        t0: the step at which averaging starts.
        weight_decay: L2 penalty coefficient.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int), ``eta`` and ``mu`` (floats), ``ax`` (Tensor).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0, *, maximize: bool = False) -> None:
        check_learning_rate(lr)
        check_non_negative("weight_decay", weight_decay)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            state["step"] = 0
            state["eta"] = float(lr)
            state["mu"] = 1.0
            add_zero_buffers(state, param, "ax")
        state["step"] += 1
        step, eta = state["step"], state["eta"]
        direction = self._direction(param, grad, group["weight_decay"], group["maximize"])
        param *= 1 - lambd * eta
        param -= np.multiply(direction, eta, out=self._buffer(param, 1))
        average = state["ax"].data
        if state["mu"] != 1:
            difference = np.subtract(param, average, out=self._buffer(param, 1))
            difference *= state["mu"]
            average += difference
        else:
            average[...] = param
        state["eta"] = lr / (1 + lambd * lr * step) ** group["alpha"]
        state["mu"] = 1 / max(1, step - group["t0"])
