"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.kernels import optimizers
from autograd.tensor import Tensor, wrap

from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's formulation).

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``)::

        g = g + weight_decay * p
        b = g                                     (first step)
        b = momentum * b + (1 - dampening) * g    (later steps)
        g = g + momentum * b   if nesterov   else   b
        p = p - lr * g

    The momentum lines apply only when ``momentum != 0``. This is the form ``v = mu * v + g; p -= lr * v``,
    not Sutskever's ``v = mu * v - lr * g``: the two differ when the learning rate changes.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        momentum: momentum factor.
        dampening: dampening for momentum.
        weight_decay: L2 penalty coefficient.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``momentum_buffer`` (Tensor, when momentum is used).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _update_group(self, params: list[Tensor], group: dict[str, Any]) -> None:
        # One kernel does the whole group's step block by block in the cache, on all cores
        # (autograd/kernels/optimizers.py).
        momentum = group["momentum"] != 0
        buffers, firsts = [], []
        for param in params:
            # None as well as absent: PyTorch's SGD saves a None buffer after steps without momentum.
            buffer = self.state.setdefault(param, {}).get("momentum_buffer") if momentum else None
            first = momentum and buffer is None
            if first:
                buffers.append(np.empty_like(param.data))
            else:
                buffers.append(None if buffer is None else buffer.data)
            firsts.append(first)
        optimizers.sgd([param.data for param in params], [param.grad.data for param in params], buffers, firsts,
                       group["lr"], group["momentum"], group["dampening"], group["weight_decay"], group["nesterov"],
                       group["maximize"])
        # Kept only once the kernel has written them: a step that failed part-way must not leave a buffer that the
        # next step would decay as if it held a direction.
        for param, buffer, first in zip(params, buffers, firsts):
            if first:
                self.state[param]["momentum_buffer"] = wrap(buffer)
