"""Resampling along one dimension at a time: ``interpolate`` (nearest, bilinear) and the gathers
behind reflect/replicate/circular padding.

Both resizing modes are separable, so each is two one-dimensional maps, along H and then along W.
A nearest-neighbour map picks input rows by index (``IndexSelect``); a bilinear map takes a weighted
sum of two neighbouring rows, a product with a sparse (out x in) weight matrix (``MatmulAlong``). The
adjoint of a gather is the product with the transposed 0/1 selection matrix, so both backward passes
are one BLAS product per dimension: a scatter-add (``np.add.at``) would be about ten times slower.

Bilinear weights are fractions, so they and the weighted sums are never computed in an integer dtype
or in float16 (whose positions stop being exact past 2048, and whose weights round to 3 digits): see
``_compute_dtype``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import OpError
from ..function import Function
from ..tensor import Tensor, wrap
from .reduction import accumulation_dtype


def _matmul_along(data: np.ndarray, axis: int, matrix: np.ndarray) -> np.ndarray:
    """Apply the (out, in) ``matrix`` to dimension ``axis`` of ``data``."""
    if axis == data.ndim - 1:
        return data @ matrix.T
    return np.swapaxes(matrix @ np.swapaxes(data, axis, -2), axis, -2)


def _compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype bilinear weights and sums are computed in for data of ``dtype``: float32 for float16 (as in
    PyTorch), float64 for integers (exact up to int32), otherwise ``dtype`` itself."""
    return np.dtype(np.float64) if dtype.kind in "iu" else accumulation_dtype(dtype)


class MatmulAlong(Function):
    """y = x with dimension ``axis`` multiplied by ``matrix`` (out x in);  dx = grad multiplied by matrix^T."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.axis}

    @staticmethod
    def forward(ctx, x: Tensor, axis: int, matrix: np.ndarray) -> np.ndarray:
        ctx.axis, ctx.matrix = axis, matrix
        return _matmul_along(x.data, axis, matrix.astype(x.data.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad: Tensor):
        return MatmulAlong.apply(grad, ctx.axis, ctx.matrix.T), None, None


class IndexSelect(Function):
    """y = x.take(index, axis) (rows picked, possibly repeated or skipped, along one dimension);
    dx = grad multiplied by the transposed 0/1 selection matrix, which adds each copy back to its source."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.axis}

    @staticmethod
    def forward(ctx, x: Tensor, axis: int, index: np.ndarray) -> np.ndarray:
        ctx.axis, ctx.index, ctx.size = axis, index, x.data.shape[axis]
        return np.take(x.data, index, axis=axis)

    @staticmethod
    def backward(ctx, grad: Tensor):
        selection = np.zeros((len(ctx.index), ctx.size), grad.dtype)
        selection[np.arange(len(ctx.index)), ctx.index] = 1
        return MatmulAlong.apply(grad, ctx.axis, selection.T), None, None


def _pair(value: float | Sequence[float], name: str) -> tuple:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"interpolate: {name} must be a number or a pair for a 4-d input, got {value}")
    return pair


def _nearest_index(in_size: int, out_size: int, scale_factor: float | None) -> np.ndarray:
    """PyTorch's legacy 'nearest' rule: source = min(floor(dst * scale), in - 1) in float32, with
    scale = 1 / scale_factor when one was given, else in / out."""
    if out_size == in_size:
        return np.arange(out_size)
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(in_size) / np.float32(out_size)
    source = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(source, in_size - 1)


def _bilinear_matrix(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                     dtype: np.dtype) -> np.ndarray:
    """(out, in) weights of linear interpolation along one dimension, source positions as in PyTorch."""
    dst = np.arange(out_size, dtype=dtype)
    if align_corners:
        # Corner pixels' centres align: out index j samples j * (in - 1) / (out - 1).
        source = dst * dtype.type((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        # Pixel areas align: centres at j + 0.5, scaled, clamped at the first pixel.
        scale = dtype.type(1.0 / scale_factor) if scale_factor else dtype.type(in_size / out_size)
        source = np.maximum((dst + dtype.type(0.5)) * scale - dtype.type(0.5), 0)
    low = np.minimum(source.astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    fraction = source - low
    matrix = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, low), 1 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None) -> Tensor:
    """Resize the spatial dimensions of a batch of images.

    Args:
        input: (N, C, H, W). Integer images (uint8 and the other integer dtypes) are interpolated in float64 and
            rounded to the nearest integer (halves to even), so each value lies between its neighbours and the
            dtype is kept. PyTorch's CPU kernel does this for uint8 only, with fixed-point weights (its values
            can differ by 1), and refuses the other integer dtypes. Bool images work in nearest mode only.
        size: output (H, W), or one int for both. Give exactly one of ``size`` and ``scale_factor``.
        scale_factor: multiplier of H and W (a number or a pair); the output size is
            floor(size * scale_factor), and source positions use 1 / scale_factor as PyTorch does.
        mode: ``'nearest'`` (PyTorch's legacy rule: source index floor(dst * in / out)) or
            ``'bilinear'``.
        align_corners: bilinear only. True: the corner pixels of input and output coincide (source
            = dst * (in - 1) / (out - 1)). False (default): pixel areas align (source = (dst + 0.5)
            * in / out - 0.5, clamped at 0).

    Returns:
        (N, C, H_out, W_out), of the input's dtype (float16 is interpolated in float32). Note: in bilinear
        mode a non-finite input value spreads along its row and column (the resize is a matrix product, and
        0 * inf is nan).
    """
    if input.ndim != 4:
        raise OpError(f"interpolate: expected a 4-d (N, C, H, W) input, got shape {tuple(input.shape)}")
    if mode not in ("nearest", "bilinear"):
        raise OpError(f"interpolate: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if mode == "bilinear" and input.dtype.kind == "b":
        raise OpError("interpolate: bilinear interpolation of a bool tensor is not supported; use mode='nearest'")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with mode='bilinear'")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = input.shape[2:]
    if size is not None:
        out_sizes = tuple(int(s) for s in _pair(size, "size"))
        scales = (None, None)
    else:
        scales = tuple(float(s) for s in _pair(scale_factor, "scale_factor"))
        if min(scales) <= 0:
            raise OpError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        out_sizes = tuple(int(np.floor(n * s)) for n, s in zip(in_sizes, scales))
    if min(out_sizes) <= 0:
        raise OpError(f"interpolate: output size {out_sizes} must be positive (input {tuple(input.shape)})")
    # Both bilinear passes run in the compute dtype, and the result is rounded once.
    compute = _compute_dtype(input.dtype) if mode == "bilinear" else input.dtype
    result = input.to(compute)
    for axis, in_size, out_size, scale in zip((2, 3), in_sizes, out_sizes, scales):
        if mode == "nearest":
            index = _nearest_index(in_size, out_size, scale)
            result = IndexSelect.apply(result, axis, index)
        else:
            matrix = _bilinear_matrix(in_size, out_size, scale, bool(align_corners), compute)
            result = MatmulAlong.apply(result, axis, matrix)
    if compute == input.dtype:
        return result
    if input.dtype.kind in "iu":
        # Each row of weights is non-negative and sums to 1, so the rounded average fits the input's dtype.
        return wrap(np.rint(result.data).astype(input.dtype))
    return result.to(input.dtype)
