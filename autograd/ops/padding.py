"""Padding: ``pad`` adds a border around the last dimensions; its gradient crops the border off."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..function import Function
from ..tensor import Tensor


def _numpy_widths(pad: Sequence[int], ndim: int, op: str) -> list[tuple[int, int]]:
    """PyTorch's (last_left, last_right, prev_left, prev_right, ...) to numpy's per-axis pairs."""
    if len(pad) % 2 or len(pad) // 2 > ndim:
        raise ValueError(f"{op}: pad {tuple(pad)} must have an even length of at most 2 * {ndim} (input dimensions)")
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return widths


class ConstantPad(Function):
    """y = x surrounded by ``value``;  dx = grad with the border cropped off."""

    @staticmethod
    def forward(ctx, x: Tensor, widths: list, value: float) -> np.ndarray:
        ctx.crop = tuple(slice(before, before + size) for (before, _), size in zip(widths, x.data.shape))
        return np.pad(x.data, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad[ctx.crop], None, None


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions of ``input``.

    Args:
        input: tensor of any shape.
        pad: ``(left, right)`` for the last dimension, then ``(top, bottom)`` for the one before, and
            so on, as in PyTorch. Widths must be non-negative.
        mode: ``'constant'``.
        value: fill value for constant padding.

    Returns:
        Tensor with each padded dimension grown by its two widths.
    """
    widths = _numpy_widths(pad, input.ndim, "pad")
    if any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad: negative widths {tuple(pad)} are not supported")
    if mode != "constant":
        raise ValueError(f"pad: unknown mode {mode!r}; expected 'constant'")
    return ConstantPad.apply(input, widths, value)
