"""Reductions: sum, mean, var, std, max/min (amax, amin, with indices), argmax, logsumexp.

The gradient of a reduction broadcasts the output gradient back over the reduced axes (sum), or
sends it only to the elements that won (max: ties share it equally).

float16 holds 11 significant bits and nothing above 65504, so a float16 running sum stops growing at
2048 (2048 + 1 rounds to 2048) and a sum of squares overflows early. As PyTorch's CPU kernels do,
reductions of float16 add in float32 (``accumulation_dtype``) and round the result to float16; the
other families' sums (normalization, pooling, losses, softmax) follow the same rule.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from ..device import get_array_module
from ..errors import DimensionError, OpError
from ..function import Function
from ..tensor import Tensor, wrap
from .indexing import Gather, Where
from .shape import expand, reshape

Dim = int | Sequence[int] | None

# What max/min with a dim return, like torch.return_types.max.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)


def accumulation_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype sums over ``dtype`` run in: float32 for float16 (see the module docstring), else ``dtype``."""
    return _SINGLE if dtype == HALF else dtype


def check_floating(op: str, input: Tensor) -> None:
    """Refuse integer and bool inputs to ops whose result is a fraction (means, statistics, probabilities).

    numpy would compute them in float64 and hand back a dtype nobody asked for; PyTorch raises.
    """
    if input.dtype.kind not in "fc":
        raise OpError(f"{op}: expected a floating point input, got dtype {input.dtype}")


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
            raise DimensionError(f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions "
                                 f"(expected in [{-bound}, {bound - 1}])")
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
_SINGLE_DOUBLE = (_SINGLE, np.dtype(np.float64))
# Below this many elements one numpy call costs less than the two calls (or the einsum) below.
_SPLIT_MIN_SIZE = 1 << 14


def _sum_array(data: np.ndarray, axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """``data.sum(axis=axes, keepdims=keepdim)``: same dtype, comparable accuracy, faster on C-contiguous arrays.

    numpy reduces mixed axes such as (0, 2, 3) (a conv bias gradient), or short trailing rows such as the 8x8
    planes of a global average pool, with one inner loop of a few elements per output element: 4-5x slower
    than whole-row additions. So a leading run of reduced axes goes first when other reduced axes follow
    (numpy adds outer axes row by row anyway), and short trailing rows are summed by einsum.
    """
    if data.dtype not in _SINGLE_DOUBLE:
        if data.dtype == HALF:
            # numpy adds a float16 row in float32 but keeps float16 partial sums across rows: all in float32 instead.
            return data.sum(axis=axes, keepdims=keepdim, dtype=_SINGLE).astype(HALF)
        return data.sum(axis=axes, keepdims=keepdim)
    if data.size < _SPLIT_MIN_SIZE or not 0 < len(axes) < data.ndim or not data.flags.c_contiguous:
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


def _reduction_attributes(ctx: Function) -> dict[str, Any]:
    """``dim`` (left out for a reduction over every dimension) and ``keepdim`` when True."""
    shown: dict[str, Any] = {}
    if len(ctx.axes) != len(ctx.input_shape):
        shown["dim"] = ctx.axes[0] if len(ctx.axes) == 1 else ctx.axes
    if ctx.keepdim:
        shown["keepdim"] = True
    return shown


class Sum(Function):
    """y = sum of x over ``dim``;  dx = grad broadcast back over ``dim``."""

    def attributes(self) -> dict[str, Any]:
        return _reduction_attributes(self)

    @staticmethod
    def forward(ctx, x: Tensor, dim: Dim, keepdim: bool) -> np.ndarray:
        ctx.axes = reduced_axes(dim, x.data.ndim, "sum")
        ctx.input_shape = x.data.shape
        ctx.keepdim = keepdim
        return get_array_module(x.data).asarray(_sum_array(x.data, ctx.axes, keepdim))  # a 0-d array, not a scalar

    @staticmethod
    def backward(ctx, grad: Tensor):
        return _broadcast_back(grad, ctx.input_shape, ctx.axes, ctx.keepdim), None, None


def sum(input: Tensor, dim: Dim = None, keepdim: bool = False, *, dtype: Any = None, axis: Dim = None) -> Tensor:
    """Sum over ``dim`` (all dimensions when None).

    Args:
        input: tensor.
        dim: dimension or dimensions to reduce.
        keepdim: keep the reduced dimensions with size 1.
        dtype: cast the input to it first; by default bool and integer inputs sum in int64, as in PyTorch.
        axis: numpy's name for ``dim``, accepted as PyTorch does.
    """
    return Sum.apply(integer_result(input, dtype), dim_or_axis("sum", dim, axis), keepdim)


def integer_result(input: Tensor, dtype: Any) -> Tensor:
    """``input`` cast to ``dtype``, or bool and integer inputs to int64, as PyTorch's sums and products do."""
    if dtype is not None:
        return input.to(dtype)
    return input.to(np.int64) if input.dtype.kind in "biu" else input  # ``to`` returns int64 input itself


def dim_or_axis(op: str, dim: Dim, axis: Dim) -> Dim:
    """``dim``, or numpy's alias ``axis`` for it (PyTorch accepts both names); not both."""
    if axis is None:
        return dim
    if dim is not None:
        raise OpError(f"{op}: got both dim={dim!r} and its alias axis={axis!r}")
    return axis


def _count(shape: tuple, axes: tuple) -> int:
    return int(np.prod([shape[a] for a in axes])) if axes else 1


def _inverse(count: int) -> float:
    """1 / count, and nan for an empty reduction: a mean of nothing is nan in PyTorch, not an exception."""
    return 1.0 / count if count else math.nan


def mean(input: Tensor, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    """Mean over ``dim`` (all dimensions when None).

    Args:
        input: float tensor (float16 is summed and divided in float32, then rounded back).
        dim: dimension or dimensions to reduce.
        keepdim: keep the reduced dimensions with size 1.
        axis: numpy's name for ``dim``.

    Returns:
        Tensor of the input's dtype; nan where the reduced dimensions are empty.
    """
    dim = dim_or_axis("mean", dim, axis)
    check_floating("mean", input)
    if input.dtype == HALF:
        # Divided before rounding: a float16 sum of 100000 ones is inf, their mean is 1.
        return mean(input.float(), dim, keepdim).to(HALF)
    count = _count(input.shape, reduced_axes(dim, input.ndim, "mean"))
    return Sum.apply(input, dim, keepdim) * _inverse(count)


def _correction(unbiased: bool | None, correction: int | None) -> int:
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def var(input: Tensor, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Variance sum((x - mean)**2) / (N - correction) over ``dim``.

    Args:
        input: float tensor (float16 is computed in float32, then rounded back).
        dim: dimension(s) to reduce; None reduces all.
        unbiased: ``False`` is ``correction=0``; the default (``True``) is Bessel's ``correction=1``.
        keepdim: keep the reduced dimensions with size 1.
        correction: subtracted from the element count in the denominator (overrides ``unbiased``).

    Returns:
        Tensor of the input's dtype. As in PyTorch, a count not above ``correction`` divides by zero: inf, or nan
        where the squared deviations sum to 0 (always for an empty dimension), not an exception.
    """
    check_floating("var", input)
    if input.dtype == HALF:
        return var(input.float(), dim, unbiased, keepdim, correction=correction).to(HALF)
    count = _count(input.shape, reduced_axes(dim, input.ndim, "var"))
    deviation = input - mean(input, dim, keepdim=True)
    denominator = builtins.max(count - _correction(unbiased, correction), 0)
    scale = 1.0 / denominator if denominator else math.inf
    with np.errstate(invalid="ignore"):  # 0 * inf, the nan above
        return (deviation * deviation).sum(dim, keepdim) * scale


def std(input: Tensor, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Standard deviation, the square root of ``var`` with the same arguments."""
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


class Amax(Function):
    """y = max of x over ``dim``;  the gradient is shared equally by the elements equal to the max.

    ``Amin`` is the same op with ``np.min``: the minimum is taken directly, since -max(-x) is wrong at the limits
    of integer types (-int64 min overflows), for unsigned types and for bool.
    """

    reduce = staticmethod(np.max)

    def attributes(self) -> dict[str, Any]:
        return _reduction_attributes(self)

    @staticmethod
    def forward(ctx, x: Tensor, dim: Dim, keepdim: bool) -> np.ndarray:
        op = ctx.name().lower()
        axes = reduced_axes(dim, x.data.ndim, op)
        empty = [axis for axis in axes if x.data.shape[axis] == 0]
        if empty:
            if dim is None:
                raise OpError(f"{op}: cannot reduce an empty tensor of shape {x.data.shape}; give the dim to reduce")
            raise DimensionError(f"{op}: cannot reduce dimension {empty[0]} of size 0 (shape {x.data.shape})")
        kept = type(ctx).reduce(x.data, axis=axes, keepdims=True)
        ctx.save_for_backward(x, kept)
        ctx.axes, ctx.input_shape, ctx.keepdim = axes, x.data.shape, keepdim
        return kept if keepdim else kept.reshape([s for i, s in enumerate(x.data.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, kept = ctx.saved_tensors
        winners = x.data == kept
        share = winners / winners.sum(axis=ctx.axes, keepdims=True).astype(x.data.dtype)
        return _broadcast_back(grad, ctx.input_shape, ctx.axes, ctx.keepdim) * share, None, None


class Amin(Amax):
    """y = min of x over ``dim``;  the gradient is shared equally by the elements equal to the min."""

    reduce = staticmethod(np.min)


def amax(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all when None); elements tied for the maximum share the gradient equally."""
    return Amax.apply(input, dim, keepdim)


def amin(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all when None); elements tied for the minimum share the gradient equally."""
    return Amin.apply(input, dim, keepdim)


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
        return Amin.apply(input, None, False)
    indices = argmin(input, dim, keepdim=True)
    values = Gather.apply(input, dim, indices.data)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return ValuesIndices(values, indices)


def _arg_reduce(op: str, find, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    """``find`` (np.argmax or np.argmin) along ``dim`` as int64, with PyTorch's errors for empty and bad dims."""
    data = input.data
    if dim is None:
        if data.size == 0:
            raise OpError(f"{op}: cannot reduce an empty tensor of shape {data.shape}; give the dim to reduce")
        return wrap(get_array_module(data).asarray(find(data), dtype=np.int64))
    axes = reduced_axes(dim, data.ndim, op)  # () for a 0-d tensor
    if axes and data.shape[axes[0]] == 0:
        raise DimensionError(f"{op}: cannot reduce dimension {axes[0]} of size 0 (shape {data.shape})")
    return wrap(get_array_module(data).asarray(find(data, axis=axes[0] if axes else None, keepdims=keepdim),
                                               dtype=np.int64))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) largest element along ``dim``, or in the flattened tensor when None."""
    return _arg_reduce("argmax", np.argmax, input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) smallest element along ``dim``, or in the flattened tensor when None."""
    return _arg_reduce("argmin", np.argmin, input, dim, keepdim)


def stable_logsumexp(data: np.ndarray, axes: tuple) -> np.ndarray:
    """log(sum(exp(data))) over ``axes`` with keepdims, shifted by the max so nothing overflows; ``data`` is float.

    Returned in ``accumulation_dtype(data.dtype)``: float16 logits are exponentiated and summed in float32, and
    softmax's ``x - logsumexp`` is best taken there too before rounding.
    """
    # initial: an empty dimension has max -inf (no exception), and its logsumexp is log 0 = -inf, as in PyTorch.
    shift = data.max(axis=axes, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(shift), shift, 0.0).astype(accumulation_dtype(data.dtype))
    with np.errstate(divide="ignore"):  # log 0 = -inf, also where every logit is -inf
        return np.log(np.exp(data - shift).sum(axis=axes, keepdims=True)) + shift


class LogSumExp(Function):
    """y = log(sum(exp(x))) over ``dim``;  dx = grad * softmax(x)."""

    def attributes(self) -> dict[str, Any]:
        return _reduction_attributes(self)

    @staticmethod
    def forward(ctx, x: Tensor, dim: Dim, keepdim: bool) -> np.ndarray:
        ctx.axes = reduced_axes(dim, x.data.ndim, "logsumexp")
        ctx.input_shape, ctx.keepdim = x.data.shape, keepdim
        ctx.save_for_backward(x)
        # Integers and bools give float32, as in PyTorch; integer logits would be shifted in their own dtype.
        data = x.data if x.data.dtype.kind in "fc" else x.data.astype(np.float32)
        result = stable_logsumexp(data, ctx.axes).astype(data.dtype, copy=False)
        return result if keepdim else result.reshape([s for i, s in enumerate(x.data.shape) if i not in ctx.axes])

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        softmax = (x - LogSumExp.apply(x, ctx.axes, True)).exp()
        return _broadcast_back(grad, ctx.input_shape, ctx.axes, ctx.keepdim) * softmax, None, None


def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over ``dim``, shifted by the max so it never overflows."""
    return LogSumExp.apply(input, dim, keepdim)


# ----------------------------------------------------------------------------- statistics pairs, norms, tests
def var_mean(input: Tensor, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: int | None = None) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` in one call, with ``var``'s arguments."""
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input: Tensor, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: int | None = None) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` in one call, with ``std``'s arguments."""
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


class PNorm(Function):
    """y = (sum |x|^p)^(1/p) over ``dim``;  dx = grad * sign(x) |x|^(p-1) / y^(p-1), and 0 where y = 0 (PyTorch's
    subgradient: the 2-norm of a zero vector has gradient 0, not nan)."""

    def attributes(self) -> dict[str, Any]:
        return {"ord": self.ord, **_reduction_attributes(self)}

    @staticmethod
    def forward(ctx, x: Tensor, ord: float, dim: Dim, keepdim: bool) -> np.ndarray:
        ctx.axes = reduced_axes(dim, x.data.ndim, "vector_norm")
        ctx.input_shape, ctx.keepdim, ctx.ord = x.data.shape, keepdim, ord
        ctx.save_for_backward(x)
        data = np.abs(x.data)
        if ord == 2:
            total = np.sqrt(_sum_array(data * data, ctx.axes, keepdim))
        else:
            total = _sum_array(data ** ord, ctx.axes, keepdim) ** (1.0 / ord)
        return get_array_module(x.data).asarray(total, dtype=x.data.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        norm = PNorm.apply(x, ctx.ord, ctx.axes, True)
        zero = norm.data == 0
        safe = Where.apply(zero, 1.0, norm)
        if ctx.ord == 2:
            direction = x / safe
        else:
            direction = wrap(np.sign(x.data)) * (x.abs() / safe) ** (ctx.ord - 1)
        grad = Where.apply(zero, 0.0, reshape(grad, _kept_shape(ctx.input_shape, ctx.axes)))
        return expand(grad, ctx.input_shape) * direction, None, None, None


def vector_norm(x: Tensor, ord: float = 2, dim: Dim = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The vector norm of ``x`` over ``dim`` (all elements when None), as ``torch.linalg.vector_norm``.

    Args:
        x: float tensor.
        ord: ``p`` of ``(sum |x|^p)^(1/p)``; ``inf`` is max |x|, ``-inf`` min |x|, ``0`` the count of non-zeros.
        dim: dimension or dimensions to reduce.
        keepdim: keep the reduced dimensions with size 1.
        dtype: compute (and return) in this dtype.

    Returns:
        Tensor. At a zero vector the gradient is 0 (for ``ord > 0``), as in PyTorch.
    """
    if dtype is not None:
        x = x.to(dtype)
    check_floating("vector_norm", x)
    if x.dtype == HALF:
        return vector_norm(x.float(), ord, dim, keepdim).to(HALF)
    if ord == math.inf:
        return Amax.apply(x.abs(), dim, keepdim)
    if ord == -math.inf:
        return Amin.apply(x.abs(), dim, keepdim)
    if ord == 0:
        return wrap(get_array_module(x.data).asarray(
            (x.data != 0).sum(axis=reduced_axes(dim, x.ndim, "vector_norm"), keepdims=keepdim), dtype=x.dtype))
    if ord == 1:
        return Sum.apply(x.abs(), dim, keepdim)
    return PNorm.apply(x, float(ord), dim, keepdim)


def norm(input: Tensor, p: float | str = "fro", dim: Dim = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """``torch.norm``: the vector p-norm of ``input`` over ``dim`` (all elements when None).

    Args:
        input: float tensor.
        p: a number (see ``vector_norm``'s ``ord``) or ``'fro'`` (the 2-norm of the elements, also over two dims).
            The nuclear norm (``'nuc'``) and matrix norms are not implemented.
        dim: dimension or dimensions to reduce.
        keepdim: keep the reduced dimensions with size 1.
        dtype: compute (and return) in this dtype.
    """
    if p == "fro":
        p = 2
    if isinstance(p, str):
        raise OpError(f"norm: p={p!r} is not supported (only 'fro' and numbers)")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def _test_reduction(op: str, test, input: Tensor, dim: Dim, keepdim: bool) -> Tensor:
    return wrap(get_array_module(input.data).asarray(test(input.data, axis=reduced_axes(dim, input.ndim, op),
                                                          keepdims=keepdim)))


def all(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Whether every element over ``dim`` (all dimensions when None) is non-zero, as a bool tensor."""
    return _test_reduction("all", np.all, input, dim, keepdim)


def any(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Whether some element over ``dim`` (all dimensions when None) is non-zero, as a bool tensor."""
    return _test_reduction("any", np.any, input, dim, keepdim)


def count_nonzero(input: Tensor, dim: Dim = None) -> Tensor:
    """How many elements over ``dim`` (all dimensions when None) are non-zero, as int64."""
    axes = reduced_axes(dim, input.ndim, "count_nonzero")
    return wrap(get_array_module(input.data).asarray(np.count_nonzero(input.data, axis=axes) if axes else input.data != 0,
                                                     dtype=np.int64))


MinMax = namedtuple("MinMax", ["min", "max"])


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> MinMax:
    """``(min, max)`` over ``dim`` (all elements when None), each with ``amin``'s and ``amax``'s gradient."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise OpError(f"aminmax: dim must be an int or None, got {dim!r}")
    return MinMax(Amin.apply(input, dim, keepdim), Amax.apply(input, dim, keepdim))
