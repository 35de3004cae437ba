"""In-place pieces of the adaptive optimizers' updates: zero state buffers, running averages, decoupled decay.

Each function changes its first argument in place and writes its temporaries into the ``scratch`` array it is
given (one of ``Optimizer._buffer``'s), so that a step allocates nothing once the state exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.tensor import wrap


def add_zero_buffers(state: dict[str, Any], param: np.ndarray, *names: str) -> None:
    """Store a zero Tensor shaped like ``param`` (of its dtype and on its device) as ``state[name]`` for each name."""
    for name in names:
        state[name] = wrap(np.zeros_like(param))


def update_average(average: np.ndarray, value: np.ndarray, beta: float, scratch: np.ndarray) -> None:
    """``average = beta * average + (1 - beta) * value``, computed as PyTorch's lerp does:
    ``average += (1 - beta) * (value - average)``."""
    np.subtract(value, average, out=scratch)
    scratch *= 1 - beta
    average += scratch


def update_square_average(average: np.ndarray, value: np.ndarray, beta: float, scratch: np.ndarray) -> None:
    """``average = beta * average + (1 - beta) * value * value``."""
    average *= beta
    np.multiply(value, value, out=scratch)
    scratch *= 1 - beta
    average += scratch


def apply_decoupled_weight_decay(param: np.ndarray, group: dict[str, Any]) -> float:
    """Shrink ``param`` by ``1 - lr * weight_decay`` in place when the group's weight decay is decoupled (AdamW).

    Returns:
        the L2 coefficient still to add to the gradient: the group's ``weight_decay``, or 0 once it was applied here.
    """
    if not group["decoupled_weight_decay"]:
        return group["weight_decay"]
    if group["weight_decay"]:
        param *= 1 - group["lr"] * group["weight_decay"]
    return 0
