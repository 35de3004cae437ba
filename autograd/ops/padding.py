"""Padding: ``pad`` adds a border around the last dimensions.

Constant padding's gradient crops the border off. Reflect, replicate and circular padding copy
input values into the border: along each padded dimension they are a gather with source indices
(``IndexSelect``), whose gradient adds every border copy back onto the element it came from.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import OpError
from ..function import Function
from ..tensor import Tensor
from .resize import IndexSelect


def _numpy_widths(pad: Sequence[int], ndim: int, op: str) -> list[tuple[int, int]]:
    """PyTorch's (last_left, last_right, prev_left, prev_right, ...) to numpy's per-axis pairs."""
    if len(pad) % 2 or len(pad) // 2 > ndim:
        raise OpError(f"{op}: pad {tuple(pad)} must have an even length of at most 2 * {ndim} (input dimensions)")
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return widths


class ConstantPad(Function):
    """y = x surrounded by ``value``;  dx = grad with the border cropped off."""

    def attributes(self) -> dict[str, Any]:
        return {"value": self.value} if self.value else {}

    @staticmethod
    def forward(ctx, x: Tensor, widths: list, value: float) -> np.ndarray:
        ctx.crop = tuple(slice(before, before + size) for (before, _), size in zip(widths, x.data.shape))
        ctx.value = value
        return np.pad(x.data, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad[ctx.crop], None, None


def _source_index(mode: str, size: int, before: int, after: int) -> np.ndarray:
    """For each position of the padded dimension, the input position it copies."""
    position = np.arange(-before, size + after)
    if mode == "reflect":
        # Mirror about the first and last elements, which are not repeated: -1 -> 1, size -> size - 2.
        position = np.abs(position)
        return np.where(position >= size, 2 * (size - 1) - position, position)
    if mode == "replicate":
        return np.clip(position, 0, size - 1)
    return position % size


_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions of ``input``.

    Args:
        input: tensor of any shape. The modes other than ``'constant'`` pad the last 1, 2 or 3
            dimensions of an input with one or two more (batch and channel) dimensions, as in PyTorch.
        pad: ``(left, right)`` for the last dimension, then ``(top, bottom)`` for the one before, and
            so on, as in PyTorch. A negative width crops (before the other widths pad).
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without repeating the edge:
            ``[1, 2, 3]`` padded by 2 on the left gives ``[3, 2, 1, 2, 3]``; each width must be
            smaller than its dimension), ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap
            around; widths at most the dimension's size).
        value: fill value for constant padding (None, the default, means 0).

    Returns:
        Tensor with each padded dimension grown by its two widths.
    """
    widths = _numpy_widths(pad, input.ndim, "pad")
    if any(w < 0 for pair in widths for w in pair):
        # Negative widths crop, before the other widths pad (what PyTorch's circular padding of the crop shows).
        crop = tuple(slice(-min(before, 0), size + min(after, 0))
                     for (before, after), size in zip(widths, input.shape))
        if any(part.stop < part.start for part in crop):
            raise OpError(f"pad: negative widths {tuple(pad)} crop more than the input of shape "
                          f"{tuple(input.shape)} holds")
        input = input[crop]
        widths = [(max(before, 0), max(after, 0)) for before, after in widths]
    if mode not in _MODES:
        raise OpError(f"pad: unknown mode {mode!r}; expected one of {', '.join(map(repr, _MODES))}")
    if mode == "constant":
        return ConstantPad.apply(input, widths, 0.0 if value is None else value)
    padded = len(pad) // 2
    if padded > 3 or input.ndim not in (padded + 1, padded + 2):
        raise OpError(f"pad: {mode} padding of the last {padded} dimensions needs a {padded + 1}-d or "
                      f"{padded + 2}-d input, got shape {tuple(input.shape)}")
    result = input
    for axis in range(input.ndim - padded, input.ndim):
        before, after = widths[axis]
        size = input.shape[axis]
        # Replicate padding repeats the edge as far as asked; reflect and circular read inside the input.
        limit = size - 1 if mode == "reflect" else size if mode == "circular" else math.inf
        if max(before, after) > limit or (before or after) and not size:
            raise OpError(f"pad: {mode} padding ({before}, {after}) of dimension {axis} (size {size}) must be at "
                          f"most {limit} on each side (input shape {tuple(input.shape)})")
        if before or after:
            result = IndexSelect.apply(result, axis, _source_index(mode, size, before, after))
    return result
