"""Resampling along one dimension at a time: ``interpolate`` (nearest, nearest-exact, linear, bilinear,
bicubic, trilinear, area), ``pixel_shuffle``/``pixel_unshuffle``, and the gathers behind
reflect/replicate/circular padding.

Every resizing mode is separable, so each is one one-dimensional map per spatial dimension. A
nearest-neighbour map picks input rows by index (``IndexSelect``); the linear, cubic and area maps take a
weighted sum of neighbouring rows (2 for linear, 4 for cubic, a bin for area), a product with a sparse
(out x in) weight matrix (``MatmulAlong``). The adjoint of a gather is the product with the transposed 0/1
selection matrix, so all backward passes are one BLAS product per dimension: a scatter-add (``np.add.at``)
would be about ten times slower.

Interpolation weights are fractions, so they and the weighted sums are never computed in an integer dtype
or in float16 (whose positions stop being exact past 2048, and whose weights round to 3 digits): see
``_compute_dtype``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..function import Function
from ..kernels.pooling import adaptive_bins
from ..tensor import Tensor, wrap
from .arguments import int_tuple
from .reduction import accumulation_dtype


def _matmul_along(data: np.ndarray, axis: int, matrix: np.ndarray) -> np.ndarray:
    """Apply the (out, in) ``matrix`` to dimension ``axis`` of ``data``."""
    matrix = get_array_module(data).asarray(matrix)  # built from sizes on the host; a device's copy is one transfer
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
        index = get_array_module(x.data).asarray(index)  # from sizes, on the host: sent to x's device
        ctx.axis, ctx.index, ctx.size = axis, index, x.data.shape[axis]
        return np.take(x.data, index, axis=axis)

    @staticmethod
    def backward(ctx, grad: Tensor):
        selection = np.zeros_like(grad.data, shape=(len(ctx.index), ctx.size))
        selection[get_array_module(ctx.index).arange(len(ctx.index)), ctx.index] = 1
        return MatmulAlong.apply(grad, ctx.axis, selection.T), None, None


def _per_dim(value: float | Sequence[float], name: str, dims: int) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
    if len(values) != dims:
        raise ValueError(f"interpolate: {name} must be a number or a sequence of {dims} for an input with {dims} "
                         f"spatial dimensions, got {value}")
    return values


def _source_scale(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                  dtype: np.dtype) -> np.generic:
    """PyTorch's ``area_pixel_compute_scale``: input pixels per output pixel."""
    if align_corners:
        return dtype.type((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    return dtype.type(1.0 / scale_factor) if scale_factor else dtype.type(in_size / out_size)


def _nearest_index(in_size: int, out_size: int, scale_factor: float | None, offset: float = 0.0) -> np.ndarray:
    """PyTorch's 'nearest' rule (offset 0): source = min(floor(dst * scale), in - 1) in float32, with
    scale = 1 / scale_factor when one was given, else in / out; 'nearest-exact' (offset 0.5) samples at pixel
    centres instead: min(floor((dst + 0.5) * scale), in - 1)."""
    if out_size == in_size:
        return np.arange(out_size)
    scale = _source_scale(in_size, out_size, scale_factor, False, np.dtype(np.float32))
    source = np.floor((np.arange(out_size, dtype=np.float32) + np.float32(offset)) * scale).astype(np.int64)
    return np.minimum(source, in_size - 1)


def _tap_matrix(in_size: int, taps: np.ndarray, weights: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """(out, in) matrix with ``weights[j, t]`` at column ``taps[j, t]`` of row j, taps clamped to the input
    (PyTorch reads past the edge as the edge pixel) and repeated taps added."""
    matrix = np.zeros((len(taps), in_size), dtype)
    rows = np.broadcast_to(np.arange(len(taps))[:, None], taps.shape)
    np.add.at(matrix, (rows, np.clip(taps, 0, in_size - 1)), weights)
    return matrix


def _linear_matrix(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                   dtype: np.dtype) -> np.ndarray:
    """(out, in) weights of linear interpolation along one dimension, source positions as in PyTorch:
    align_corners: the corner pixels' centres align, out index j samples j * (in - 1) / (out - 1); otherwise pixel
    areas align: centres at j + 0.5, scaled, clamped at the first pixel."""
    dst = np.arange(out_size, dtype=dtype)
    scale = _source_scale(in_size, out_size, scale_factor, align_corners, dtype)
    source = dst * scale if align_corners else np.maximum((dst + dtype.type(0.5)) * scale - dtype.type(0.5), 0)
    low = np.minimum(source.astype(np.int64), in_size - 1)
    fraction = source - low
    return _tap_matrix(in_size, np.stack([low, low + 1], 1), np.stack([1 - fraction, fraction], 1), dtype)


def _cubic_matrix(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                  dtype: np.dtype) -> np.ndarray:
    """(out, in) weights of Keys' cubic convolution (a = -0.75, as PyTorch) on the 4 input pixels around each
    source position; the positions are linear's, without the clamp at 0."""
    dst = np.arange(out_size, dtype=dtype)
    scale = _source_scale(in_size, out_size, scale_factor, align_corners, dtype)
    source = dst * scale if align_corners else (dst + dtype.type(0.5)) * scale - dtype.type(0.5)
    floor = np.floor(source)
    t = (source - floor)[:, None]
    a = dtype.type(-0.75)
    near = np.concatenate([t, 1 - t], 1)  # distances to the two inner taps, |x| <= 1
    far = np.concatenate([t + 1, 2 - t], 1)  # and to the two outer ones, 1 < |x| < 2
    inner = ((a + 2) * near - (a + 3)) * near * near + 1
    outer = ((a * far - 5 * a) * far + 8 * a) * far - 4 * a
    weights = np.stack([outer[:, 0], inner[:, 0], inner[:, 1], outer[:, 1]], 1)
    taps = floor.astype(np.int64)[:, None] + np.arange(-1, 3)
    return _tap_matrix(in_size, taps, weights, dtype)


def _area_matrix(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                 dtype: np.dtype) -> np.ndarray:
    """(out, in) weights of adaptive average pooling ('area'): row i averages the bin floor(i in / out) to
    ceil((i + 1) in / out) - 1. The bins depend on the sizes only (the other arguments match the other modes')."""
    start, end = adaptive_bins(in_size, out_size)
    positions = np.arange(in_size)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


_WEIGHTED = {"linear": _linear_matrix, "bilinear": _linear_matrix, "trilinear": _linear_matrix,
             "bicubic": _cubic_matrix, "area": _area_matrix}
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dimensions of a batch of sequences, images or volumes.

    Every mode is separable: one 1-d map per spatial dimension, a gather of input rows (the nearest modes) or a
    product with an (out x in) weight matrix (the others), so the gradient is the transposed map.

    Args:
        input: (N, C, L), (N, C, H, W) or (N, C, D, H, W). Integer images (uint8 and the other integer dtypes)
            are interpolated in float64 and rounded to the nearest integer (halves to even) once, clamped to
            the dtype's range for bicubic, so the dtype is kept. PyTorch's CPU kernel does this for uint8 only,
            with fixed-point weights (its values can differ by 1) and, for bicubic, rounding and clamping after
            each pass (values can differ more where the first pass overshoots); it refuses the other integer
            dtypes. Bool images work in the nearest modes only.
        size: output spatial size, or one int for all dimensions. Give exactly one of ``size`` and
            ``scale_factor``.
        scale_factor: multiplier of each spatial size (a number or a sequence); the output size is
            floor(size * scale_factor), and source positions use 1 / scale_factor as PyTorch does (unless
            ``recompute_scale_factor``).
        mode: ``'nearest'`` (PyTorch's legacy rule: source index floor(dst * in / out)), ``'nearest-exact'``
            (floor((dst + 0.5) * in / out), matching scikit-image and PIL), ``'linear'`` (3-d input),
            ``'bilinear'`` (4-d), ``'bicubic'`` (4-d; Keys' kernel with a = -0.75, edge pixels repeated),
            ``'trilinear'`` (5-d) or ``'area'`` (adaptive average pooling).
        align_corners: the linear and cubic modes only. True: the corner pixels of input and output coincide
            (source = dst * (in - 1) / (out - 1)). False (default): pixel areas align (source = (dst + 0.5)
            * in / out - 0.5).
        recompute_scale_factor: with ``scale_factor``, compute source positions from the output size
            (in / out) instead of from 1 / scale_factor.
        antialias: must be False (anti-aliased downsampling is not supported).

    Returns:
        (N, C, *out_size), of the input's dtype (float16 is interpolated in float32). Note: in the weighted
        modes a non-finite input value spreads along its row and column (the resize is a matrix product, and
        0 * inf is nan).
    """
    if input.ndim not in (3, 4, 5):
        raise OpError(f"interpolate: expected a 3-d, 4-d or 5-d (N, C, *spatial) input, got shape "
                      f"{tuple(input.shape)}")
    if mode not in _MODES:
        raise OpError(f"interpolate: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    dims = input.ndim - 2
    if _MODE_DIMS.get(mode, dims) != dims:
        raise OpError(f"interpolate: mode {mode!r} needs a {_MODE_DIMS[mode] + 2}-d input, got shape "
                      f"{tuple(input.shape)}")
    if mode in _WEIGHTED and input.dtype.kind == "b":
        raise OpError(f"interpolate: {mode} interpolation of a bool tensor is not supported; use mode='nearest'")
    if align_corners is not None and mode not in _MODE_DIMS:
        raise ValueError(f"interpolate: align_corners can only be set with the interpolating modes linear, "
                         f"bilinear, bicubic and trilinear, not {mode!r}")
    if antialias:
        raise OpError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = input.shape[2:]
    if size is not None:
        out_sizes = tuple(int(s) for s in _per_dim(size, "size", dims))
        scales = (None,) * dims
    else:
        scales = tuple(float(s) for s in _per_dim(scale_factor, "scale_factor", dims))
        if min(scales) <= 0:
            raise OpError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        out_sizes = tuple(int(np.floor(n * s)) for n, s in zip(in_sizes, scales))
        if recompute_scale_factor:
            scales = (None,) * dims
    if min(out_sizes) <= 0:
        raise OpError(f"interpolate: output size {out_sizes} must be positive (input {tuple(input.shape)})")
    # The weighted passes run in the compute dtype, and the result is rounded once.
    compute = _compute_dtype(input.dtype) if mode in _WEIGHTED else input.dtype
    result = input.to(compute)
    for axis, in_size, out_size, scale in zip(range(2, input.ndim), in_sizes, out_sizes, scales):
        if mode in _WEIGHTED:
            matrix = _WEIGHTED[mode](in_size, out_size, scale, bool(align_corners), compute)
            result = MatmulAlong.apply(result, axis, matrix)
        else:
            index = _nearest_index(in_size, out_size, scale, 0.5 if mode == "nearest-exact" else 0.0)
            result = IndexSelect.apply(result, axis, index)
    if compute == input.dtype:
        return result
    if input.dtype.kind in "iu":
        # Linear and area weights are non-negative and sum to 1, so their averages fit the dtype; bicubic's
        # overshoot is clamped, as PyTorch clamps uint8.
        info = np.iinfo(input.dtype)
        return wrap(np.clip(np.rint(result.data), info.min, info.max).astype(input.dtype))
    return result.to(input.dtype)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C r^2, H, W) into (*, C, H r, W r) (Shi et al. 2016's sub-pixel convolution): output
    pixel (h r + i, w r + j) of channel c is input channel c r^2 + i r + j at (h, w). A reshape and a permute.

    Args:
        input: (*, C * r^2, H, W).
        upscale_factor: r, a positive int.

    Returns:
        Tensor of shape (*, C, H * r, W * r).
    """
    r = int_tuple(upscale_factor, 1, "upscale_factor", "pixel_shuffle", 1)[0]
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise OpError(f"pixel_shuffle: expected an input (*, C * {r * r}, H, W) with channels divisible by "
                      f"upscale_factor^2 = {r * r}, got shape {tuple(input.shape)}")
    *lead, channels, height, width = input.shape
    n = len(lead)
    split = input.reshape(*lead, channels // (r * r), r, r, height, width)
    order = (*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return split.permute(order).reshape(*lead, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of ``pixel_shuffle``: (*, C, H r, W r) into (*, C r^2, H, W).

    Args:
        input: (*, C, H * r, W * r).
        downscale_factor: r, a positive int dividing H and W.

    Returns:
        Tensor of shape (*, C * r^2, H, W).
    """
    r = int_tuple(downscale_factor, 1, "downscale_factor", "pixel_unshuffle", 1)[0]
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise OpError(f"pixel_unshuffle: expected an input (*, C, H, W) with H and W divisible by "
                      f"downscale_factor {r}, got shape {tuple(input.shape)}")
    *lead, channels, height, width = input.shape
    n = len(lead)
    split = input.reshape(*lead, channels, height // r, r, width // r, r)
    order = (*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return split.permute(order).reshape(*lead, channels * r * r, height // r, width // r)
