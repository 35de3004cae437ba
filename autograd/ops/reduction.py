"""Reductions: sum, mean, var, std, max/min (amax, amin, with indices), argmax, logsumexp.

The gradient of a reduction broadcasts the output gradient back over the reduced axes (sum), or
sends it only to the elements that won (max: ties share it equally).
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Sequence

import numpy as np

from ..function import Function
from ..tensor import Tensor, wrap
from .indexing import Gather
from .shape import expand, reshape

Dim = int | Sequence[int] | None

# What max/min with a dim return, like torch.return_types.max.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def reduced_axes(dim: Dim, ndim: int, op: str) -> tuple[int, ...]:
    """Normalise ``dim`` (None, an int or a sequence, negatives allowed) to sorted axis numbers."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = []
    # The public max/min/sum below shadow the builtins inside this module.
    bound = builtins.max(ndim, 1)
    for d in dims:
        if not -bound <= d < bound:
            raise ValueError(f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions")
        axes.append(d % bound)
    return tuple(sorted(set(axes))) if ndim else ()


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def _broadcast_back(grad: Tensor, input_shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Spread a reduction's output gradient over the reduced axes."""
    if not keepdim:
        grad = reshape(grad, _kept_shape(input_shape, axes))
    return expand(grad, input_shape)


# numpy's pairwise summation adds rows of up to this many elements with 8 running partial sums: einsum's
# vector of running sums is as accurate there.
_PAIRWISE_BLOCK = 128
_SINGLE_DOUBLE = (np.dtype(np.float32), np.dtype(np.float64))
# Below this many elements one numpy call costs less than the two calls (or the einsum) below.
_SPLIT_MIN_SIZE = 1 << 14


def _sum_array(data: np.ndarray, axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """``data.sum(axis=axes, keepdims=keepdim)``: same dtype, comparable accuracy, faster on C-contiguous arrays.

    numpy reduces mixed axes such as (0, 2, 3) (a conv bias gradient), or short trailing rows such as the 8x8
    planes of a global average pool, with one inner loop of a few elements per output element: 4-5x slower
    than whole-row additions. So a leading run of reduced axes goes first when other reduced axes follow
    (numpy adds outer axes row by row anyway), and short trailing rows are summed by einsum.
    """
    # Only float32 and float64: numpy sums float16 in float32, and a float16 partial sum would round more.
    if data.size < _SPLIT_MIN_SIZE or data.dtype not in _SINGLE_DOUBLE or not 0 < len(axes) < data.ndim \
            or not data.flags.c_contiguous:
        return data.sum(axis=axes, keepdims=keepdim)
    lead = 0
    while lead < len(axes) and axes[lead] == lead:
        lead += 1
    if 0 < lead < len(axes):
        partial = data.sum(axis=axes[:lead])
        result = _sum_array(partial, tuple(axis - lead for axis in axes[lead:]), False)
        return result.reshape(_kept_shape(data.shape, axes)) if keepdim else result
    first = axes[0]
    length = math.prod(data.shape[first:])
    if first == data.ndim - len(axes) and length <= _PAIRWISE_BLOCK:
        result = np.einsum("ij->i", data.reshape(-1, length))
        return result.reshape(_kept_shape(data.shape, axes) if keepdim else data.shape[:first])
    return data.sum(axis=axes, keepdims=keepdim)


class Sum(Function):
    """y = sum of x over ``dim``;  dx = grad broadcast back over ``dim``."""

    @staticmethod
    def forward(ctx, x: Tensor, dim: Dim, keepdim: bool) -> np.ndarray:
        ctx.axes = reduced_axes(dim, x.data.ndim, "sum")
        ctx.input_shape = x.data.shape
        ctx.keepdim = keepdim
        return np.asarray(_sum_array(x.data, ctx.axes, keepdim))

    @staticmethod
    def backward(ctx, grad: Tensor):
        return _broadcast_back(grad, ctx.input_shape, ctx.axes, ctx.keepdim), None, None


def sum(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` (all dimensions when None).

    Args:
        input: tensor.
        dim: dimension or dimensions to reduce.
        keepdim: keep the reduced dimensions with size 1.
    """
    return Sum.apply(input, dim, keepdim)


def _count(shape: tuple, axes: tuple) -> int:
    return int(np.prod([shape[a] for a in axes])) if axes else 1


def mean(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (all dimensions when None).

    Args:
        input: float tensor.
        dim: dimension or dimensions to reduce.
        keepdim: keep the reduced dimensions with size 1.
    """
    count = _count(input.shape, reduced_axes(dim, input.ndim, "mean"))
    return Sum.apply(input, dim, keepdim) * (1.0 / count)


def _correction(unbiased: bool | None, correction: int | None) -> int:
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def var(input: Tensor, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Variance sum((x - mean)**2) / (N - correction) over ``dim``.

    Args:
        input: float tensor.
        dim: dimension(s) to reduce; None reduces all.
        unbiased: ``False`` is ``correction=0``; the default (``True``) is Bessel's ``correction=1``.
        keepdim: keep the reduced dimensions with size 1.
        correction: subtracted from the element count in the denominator (overrides ``unbiased``).
    """
    count = _count(input.shape, reduced_axes(dim, input.ndim, "var"))
    deviation = input - mean(input, dim, keepdim=True)
    denominator = builtins.max(count - _correction(unbiased, correction), 0)
    # As in PyTorch, too few elements divide by zero: nan (or inf), not an exception.
    scale = 1.0 / denominator if denominator else float("inf")
    return (deviation * deviation).sum(dim, keepdim) * scale


def std(input: Tensor, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Standard deviation, the square root of ``var`` with the same arguments."""
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


class Amax(Function):
    """y = max of x over ``dim``;  the gradient is shared equally by the elements equal to the max."""

    @staticmethod
    def forward(ctx, x: Tensor, dim: Dim, keepdim: bool) -> np.ndarray:
        if x.data.size == 0:
            raise ValueError(f"amax: cannot reduce an empty tensor of shape {x.data.shape}")
        axes = reduced_axes(dim, x.data.ndim, "amax")
        kept = x.data.max(axis=axes, keepdims=True)
        ctx.save_for_backward(x, kept)
        ctx.axes, ctx.input_shape, ctx.keepdim = axes, x.data.shape, keepdim
        return kept if keepdim else kept.reshape([s for i, s in enumerate(x.data.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, kept = ctx.saved_tensors
        winners = x.data == kept
        share = winners / winners.sum(axis=ctx.axes, keepdims=True).astype(x.data.dtype)
        return _broadcast_back(grad, ctx.input_shape, ctx.axes, ctx.keepdim) * share, None, None


def amax(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all when None); elements tied for the maximum share the gradient equally."""
    return Amax.apply(input, dim, keepdim)


def amin(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all when None); elements tied for the minimum share the gradient equally."""
    return -Amax.apply(-input, dim, keepdim)


def max(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Largest element of ``input``; with ``dim``, ``(values, indices)`` along that dimension.

    Without ``dim`` ties share the gradient equally; with ``dim`` the gradient goes to the element
    at ``indices`` (the first maximum), as in PyTorch.

    Returns:
        a 0-d Tensor, or a ``(values, indices)`` named tuple.
    """
    if dim is None:
        return Amax.apply(input, None, False)
    indices = argmax(input, dim, keepdim=True)
    values = Gather.apply(input, dim, indices.data)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return ValuesIndices(values, indices)


def min(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Smallest element of ``input``; with ``dim``, ``(values, indices)``. See ``max``."""
    if dim is None:
        return -Amax.apply(-input, None, False)
    indices = argmin(input, dim, keepdim=True)
    values = Gather.apply(input, dim, indices.data)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return ValuesIndices(values, indices)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) largest element along ``dim``, or in the flattened tensor when None."""
    if dim is None:
        return wrap(np.asarray(input.data.argmax(), dtype=np.int64))
    return wrap(input.data.argmax(axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) smallest element along ``dim``, or in the flattened tensor when None."""
    if dim is None:
        return wrap(np.asarray(input.data.argmin(), dtype=np.int64))
    return wrap(input.data.argmin(axis=dim, keepdims=keepdim).astype(np.int64))


def stable_logsumexp(data: np.ndarray, axes: tuple) -> np.ndarray:
    """log(sum(exp(data))) over ``axes`` with keepdims, shifted by the max so nothing overflows."""
    shift = data.max(axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0).astype(data.dtype)
    return np.log(np.exp(data - shift).sum(axis=axes, keepdims=True)) + shift


class LogSumExp(Function):
    """y = log(sum(exp(x))) over ``dim``;  dx = grad * softmax(x)."""

    @staticmethod
    def forward(ctx, x: Tensor, dim: Dim, keepdim: bool) -> np.ndarray:
        ctx.axes = reduced_axes(dim, x.data.ndim, "logsumexp")
        ctx.input_shape, ctx.keepdim = x.data.shape, keepdim
        ctx.save_for_backward(x)
        result = stable_logsumexp(x.data, ctx.axes)
        return result if keepdim else result.reshape([s for i, s in enumerate(x.data.shape) if i not in ctx.axes])

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        softmax = (x - LogSumExp.apply(x, ctx.axes, True)).exp()
        return _broadcast_back(grad, ctx.input_shape, ctx.axes, ctx.keepdim) * softmax, None, None


def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over ``dim``, shifted by the max so it never overflows."""
    return LogSumExp.apply(input, dim, keepdim)
