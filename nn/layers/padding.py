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


class _ConstantPadNd(_PadNd):
    """ConstantPad1d, 2d and 3d: the fill value is a required argument, as in PyTorch."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)


class _WidthsOnlyPadNd(_PadNd):
    """The padding layers set by their widths alone: zero, reflection, replication and circular padding."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding)


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with a constant value.

    Args:
        padding: an int for both sides, or ``(left, right)``; a negative width crops.
        value: the fill value.

    Shape:
        - Input: ``(*, W_in)``.
        - Output: ``(*, W_out)`` with ``W_out = W_in + left + right``.
    """

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with a constant value.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom)``; a negative width crops.
        value: the fill value.

    Shape:
        - Input: ``(*, H_in, W_in)``.
        - Output: ``(*, H_out, W_out)`` with ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with a constant value.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom, front, back)``; a negative width crops.
        value: the fill value.

    Shape:
        - Input: ``(*, D_in, H_in, W_in)``.
        - Output: ``(*, D_out, H_out, W_out)`` with ``D_out = D_in + front + back``,
          ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    dims = 3


class ZeroPad1d(_WidthsOnlyPadNd):
    """Pad the last dimension with zeros.

    Args:
        padding: an int for both sides, or ``(left, right)``; a negative width crops.

    Shape:
        - Input: ``(*, W_in)``.
        - Output: ``(*, W_out)`` with ``W_out = W_in + left + right``.
    """

    dims = 1


class ZeroPad2d(_WidthsOnlyPadNd):
    """Pad the last two dimensions with zeros.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom)``; a negative width crops.

    Shape:
        - Input: ``(*, H_in, W_in)``.
        - Output: ``(*, H_out, W_out)`` with ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    dims = 2


class ZeroPad3d(_WidthsOnlyPadNd):
    """Pad the last three dimensions with zeros.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom, front, back)``; a negative width crops.

    Shape:
        - Input: ``(*, D_in, H_in, W_in)``.
        - Output: ``(*, D_out, H_out, W_out)`` with ``D_out = D_in + front + back``,
          ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    dims = 3


class ReflectionPad1d(_WidthsOnlyPadNd):
    """Pad the last dimension with its reflection about the edges, which are not repeated.

    Args:
        padding: an int for both sides, or ``(left, right)``; each width below ``W_in``, a negative width crops.

    Shape:
        - Input: ``(C, W_in)`` or ``(N, C, W_in)``.
        - Output: ``(C, W_out)`` or ``(N, C, W_out)`` with ``W_out = W_in + left + right``.
    """

    mode, dims = "reflect", 1


class ReflectionPad2d(_WidthsOnlyPadNd):
    """Pad the last two dimensions with their reflection about the edges, which are not repeated.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom)``; each width below its dimension's
            size, a negative width crops.

    Shape:
        - Input: ``(C, H_in, W_in)`` or ``(N, C, H_in, W_in)``.
        - Output: ``(C, H_out, W_out)`` or ``(N, C, H_out, W_out)`` with ``H_out = H_in + top + bottom`` and
          ``W_out = W_in + left + right``.
    """

    mode, dims = "reflect", 2


class ReflectionPad3d(_WidthsOnlyPadNd):
    """Pad the last three dimensions with their reflection about the edges, which are not repeated.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom, front, back)``; each width below its
            dimension's size, a negative width crops.

    Shape:
        - Input: ``(C, D_in, H_in, W_in)`` or ``(N, C, D_in, H_in, W_in)``.
        - Output: ``(C, D_out, H_out, W_out)`` or ``(N, C, D_out, H_out, W_out)`` with
          ``D_out = D_in + front + back``, ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    mode, dims = "reflect", 3


class ReplicationPad1d(_WidthsOnlyPadNd):
    """Pad the last dimension by repeating its edge values.

    Args:
        padding: an int for both sides, or ``(left, right)``; a negative width crops.

    Shape:
        - Input: ``(C, W_in)`` or ``(N, C, W_in)``.
        - Output: ``(C, W_out)`` or ``(N, C, W_out)`` with ``W_out = W_in + left + right``.
    """

    mode, dims = "replicate", 1


class ReplicationPad2d(_WidthsOnlyPadNd):
    """Pad the last two dimensions by repeating their edge values.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom)``; a negative width crops.

    Shape:
        - Input: ``(C, H_in, W_in)`` or ``(N, C, H_in, W_in)``.
        - Output: ``(C, H_out, W_out)`` or ``(N, C, H_out, W_out)`` with ``H_out = H_in + top + bottom`` and
          ``W_out = W_in + left + right``.
    """

    mode, dims = "replicate", 2


class ReplicationPad3d(_WidthsOnlyPadNd):
    """Pad the last three dimensions by repeating their edge values.

    Args:
        padding: an int for every side, or ``(left, right, top, bottom, front, back)``; a negative width crops.

    Shape:
        - Input: ``(C, D_in, H_in, W_in)`` or ``(N, C, D_in, H_in, W_in)``.
        - Output: ``(C, D_out, H_out, W_out)`` or ``(N, C, D_out, H_out, W_out)`` with
          ``D_out = D_in + front + back``, ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    mode, dims = "replicate", 3


class CircularPad1d(_WidthsOnlyPadNd):
    """Pad the last dimension by wrapping it around (periodic padding).

    Args:
        padding: an int for both sides, or ``(left, right)``; each width at most ``W_in``, a negative width crops.

    Shape:
        - Input: ``(C, W_in)`` or ``(N, C, W_in)``.
        - Output: ``(C, W_out)`` or ``(N, C, W_out)`` with ``W_out = W_in + left + right``.
    """

    mode, dims = "circular", 1


class CircularPad2d(_WidthsOnlyPadNd):
    """Pad the last two dimensions by wrapping them around (periodic padding).

    Args:
        padding: an int for every side, or ``(left, right, top, bottom)``; each width at most its dimension's
            size, a negative width crops.

    Shape:
        - Input: ``(C, H_in, W_in)`` or ``(N, C, H_in, W_in)``.
        - Output: ``(C, H_out, W_out)`` or ``(N, C, H_out, W_out)`` with ``H_out = H_in + top + bottom`` and
          ``W_out = W_in + left + right``.
    """

    mode, dims = "circular", 2


class CircularPad3d(_WidthsOnlyPadNd):
    """Pad the last three dimensions by wrapping them around (periodic padding).

    Args:
        padding: an int for every side, or ``(left, right, top, bottom, front, back)``; each width at most its
            dimension's size, a negative width crops.

    Shape:
        - Input: ``(C, D_in, H_in, W_in)`` or ``(N, C, D_in, H_in, W_in)``.
        - Output: ``(C, D_out, H_out, W_out)`` or ``(N, C, D_out, H_out, W_out)`` with
          ``D_out = D_in + front + back``, ``H_out = H_in + top + bottom`` and ``W_out = W_in + left + right``.
    """

    mode, dims = "circular", 3
