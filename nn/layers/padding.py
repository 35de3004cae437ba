"""Padding layers: ``ZeroPad{1,2,3}d``, ``ConstantPad{1,2,3}d``, ``ReflectionPad{1,2,3}d``,
``ReplicationPad{1,2,3}d`` and ``CircularPad{1,2,3}d``, each ``F.pad`` with a fixed mode and widths."""

from __future__ import annotations

from typing import Sequence

from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module


class _PadNd(Module):
    """``F.pad(input, padding, mode, value)`` over the last ``dims`` dimensions.

    ``padding`` is an int (every side) or ``2 * dims`` ints in F.pad's order: (left, right) of the last
    dimension, then (top, bottom) of the one before, then (front, back).
    """

    mode = "constant"
    dims = 2

    def __init__(self, padding: int | Sequence[int], value: float = 0.0) -> None:
        super().__init__()
        widths = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self.dims)
        # The widths' signs are F.pad's to check (negative widths crop).
        if len(widths) != 2 * self.dims or not all(isinstance(w, int) and not isinstance(w, bool) for w in widths):
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.dims} ints, "
                             f"got {padding!r}")
        self.padding = widths
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}, value={self.value}" if self.mode == "constant" else f"{self.padding}"


_SHAPES = {1: "``(C, W)`` or ``(N, C, W)``", 2: "``(C, H, W)`` or ``(N, C, H, W)``",
           3: "``(C, D, H, W)`` or ``(N, C, D, H, W)``"}
_ORDER = {1: "(left, right)", 2: "(left, right, top, bottom)", 3: "(left, right, top, bottom, front, back)"}


def _doc(summary: str, dims: int, value: bool = False) -> str:
    fill = "\n        value: the fill value." if value else ""
    return f"""{summary}

    Args:
        padding: an int for every side, or {_ORDER[dims]}.{fill}

    Shape:
        - Input: {_SHAPES[dims]}. Output: each padded dimension grown by its two widths.
    """


class ConstantPad1d(_PadNd):
    __doc__ = _doc("Pad the last dimension with ``value``.", 1, value=True)
    dims = 1

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    __doc__ = _doc("Pad the last two dimensions with ``value``.", 2, value=True)
    dims = 2


class ConstantPad3d(ConstantPad1d):
    __doc__ = _doc("Pad the last three dimensions with ``value``.", 3, value=True)
    dims = 3


class ZeroPad1d(_PadNd):
    __doc__ = _doc("Pad the last dimension with zeros.", 1)
    dims = 1

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    __doc__ = _doc("Pad the last two dimensions with zeros.", 2)
    dims = 2


class ZeroPad3d(ZeroPad1d):
    __doc__ = _doc("Pad the last three dimensions with zeros.", 3)
    dims = 3


class ReflectionPad1d(ZeroPad1d):
    __doc__ = _doc("Mirror the last dimension about its edges (not repeating them); widths below its size.", 1)
    mode, dims = "reflect", 1


class ReflectionPad2d(ZeroPad1d):
    __doc__ = _doc("Mirror the last two dimensions about their edges; widths below their sizes.", 2)
    mode, dims = "reflect", 2


class ReflectionPad3d(ZeroPad1d):
    __doc__ = _doc("Mirror the last three dimensions about their edges; widths below their sizes.", 3)
    mode, dims = "reflect", 3


class ReplicationPad1d(ZeroPad1d):
    __doc__ = _doc("Repeat the edge values of the last dimension.", 1)
    mode, dims = "replicate", 1


class ReplicationPad2d(ZeroPad1d):
    __doc__ = _doc("Repeat the edge values of the last two dimensions.", 2)
    mode, dims = "replicate", 2


class ReplicationPad3d(ZeroPad1d):
    __doc__ = _doc("Repeat the edge values of the last three dimensions.", 3)
    mode, dims = "replicate", 3


class CircularPad1d(ZeroPad1d):
    __doc__ = _doc("Wrap the last dimension around (periodic padding).", 1)
    mode, dims = "circular", 1


class CircularPad2d(ZeroPad1d):
    __doc__ = _doc("Wrap the last two dimensions around (periodic padding).", 2)
    mode, dims = "circular", 2


class CircularPad3d(ZeroPad1d):
    __doc__ = _doc("Wrap the last three dimensions around (periodic padding).", 3)
    mode, dims = "circular", 3
