"""Scans along one dimension (cumsum, cumprod, cummax, cummin, logcumsumexp) and the product, whose gradient
is built from scans.

y_j = x_1 + ... + x_j sends each x_k the sum of the output gradients from k on: cumsum's adjoint is the reversed
cumsum. cumprod's and prod's gradients are products of all the other factors; dividing the output by x_k would
give nan where x_k = 0, so they are written with products that leave x_k out (exclusive prefix and suffix
products for prod; for cumprod a product per (k, j) pair when the input holds a zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import get_array_module
from ..function import Function
from ..tensor import Tensor
from .elementwise import exp, log
from .indexing import Gather, Where
from .padding import pad
from .reduction import (ValuesIndices, _broadcast_back, accumulation_dtype, check_floating, integer_result,
                        reduced_axes)
from .shape import expand, flip, permute, reshape
from .sorting import _dim


def _reversed_cumsum(grad: Tensor, dim: int) -> Tensor:
    """sum over j >= k of grad_j: the adjoint of cumsum."""
    return flip(Cumsum.apply(flip(grad, dim), dim), dim)


class Cumsum(Function):
    """y_j = sum over i <= j of x_i along ``dim``;  dx = the reversed cumsum of grad."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        ctx.dim = dim
        data = x.data
        # float16 running sums stop growing at 2048 (see reduction): accumulate in float32.
        return np.cumsum(data, axis=dim, dtype=accumulation_dtype(data.dtype)).astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return _reversed_cumsum(grad, ctx.dim), None


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative sum along ``dim``: ``out[j] = input[0] + ... + input[j]``.

    Args:
        input: tensor.
        dim: the dimension to scan along.
        dtype: cast the input to it first; by default bool and integer inputs give int64, as in PyTorch.

    Returns:
        Tensor of ``input``'s shape.
    """
    input = integer_result(input, dtype)
    return Cumsum.apply(input, _dim("cumsum", input, dim))


def _last(tensor: Tensor, dim: int) -> Tensor:
    return permute(tensor, [d for d in range(tensor.ndim) if d != dim] + [dim])


def _unlast(tensor: Tensor, dim: int) -> Tensor:
    order = [d for d in range(tensor.ndim) if d != dim] + [dim]
    return permute(tensor, tuple(np.argsort(order)))


class Cumprod(Function):
    """y_j = product over i <= j of x_i along ``dim``;  dx_k = sum over j >= k of grad_j * prod_{i <= j, i != k} x_i.

    Without zeros that is the reversed cumsum of grad * y, divided by x. With a zero the products leaving x_k out
    are formed for each pair (k, j), an n x n matrix per row along ``dim``: exact, and differentiable again.
    """

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        ctx.dim = dim
        ctx.save_for_backward(x)
        data = x.data
        return np.cumprod(data, axis=dim, dtype=accumulation_dtype(data.dtype)).astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        dim = ctx.dim
        if x.data.all():
            return _reversed_cumsum(grad * Cumprod.apply(x, dim), dim) / x, None
        rows, grad_rows = _last(x, dim), _last(grad, dim)
        n = rows.shape[-1]
        # others[..., k, i] = x_i, except 1 at i = k; its cumprod along i is prod_{i <= j, i != k} x_i at column j.
        xp = get_array_module(x.data)  # the masks live beside x (CuPy refuses host ones)
        others = Where.apply(xp.eye(n, dtype=bool), 1.0, expand(rows.unsqueeze(-2), rows.shape[:-1] + (n, n)))
        from_k = xp.triu(xp.ones((n, n), bool))  # j >= k
        terms = Where.apply(from_k, Cumprod.apply(others, others.ndim - 1) * grad_rows.unsqueeze(-2), 0.0)
        return _unlast(terms.sum(-1), dim), None


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative product along ``dim``: ``out[j] = input[0] * ... * input[j]``.

    Args:
        input: tensor.
        dim: the dimension to scan along.
        dtype: cast the input to it first; by default bool and integer inputs give int64, as in PyTorch.

    Returns:
        Tensor of ``input``'s shape. The gradient is exact where the input holds zeros.
    """
    input = integer_result(input, dtype)
    return Cumprod.apply(input, _dim("cumprod", input, dim))


def _cumulative_extreme(op: str, accumulate: np.ufunc, input: Tensor, dim: int) -> ValuesIndices:
    """cummax/cummin: the running extreme and the index of its latest occurrence (PyTorch's), read by Gather."""
    if input.ndim == 0:
        return ValuesIndices(*(part.reshape(()) for part in _cumulative_extreme(op, accumulate, input.reshape(1), 0)))
    dim = _dim(op, input, dim)
    data = input.data
    running = accumulate.accumulate(data, axis=dim)
    # Where an element equals the running extreme it is the latest one so far; a NaN stays the extreme.
    latest = data == running
    if data.dtype.kind in "fc":
        latest |= np.isnan(data)
    shape = [1] * data.ndim
    shape[dim] = -1
    positions = np.where(latest, get_array_module(data).arange(data.shape[dim]).reshape(shape), 0)
    indices = np.maximum.accumulate(positions, axis=dim).astype(np.int64)
    return ValuesIndices(Gather.apply(input, dim, indices), Tensor(indices))


def cummax(input: Tensor, dim: int) -> ValuesIndices:
    """Running maximum along ``dim``.

    Returns:
        ``(values, indices)``: ``values[j] = max(input[:j + 1])`` and the index of its latest occurrence (as in
        PyTorch). The gradient goes to the element at that index; NaN propagates.
    """
    return _cumulative_extreme("cummax", np.maximum, input, dim)


def cummin(input: Tensor, dim: int) -> ValuesIndices:
    """Running minimum along ``dim``; see ``cummax``."""
    return _cumulative_extreme("cummin", np.minimum, input, dim)


class LogCumSumExp(Function):
    """y_j = log(sum over i <= j of exp(x_i));  dx_k = sum over j >= k of grad_j * exp(x_k - y_j).

    The gradient is taken in log space, split by the sign of grad (PyTorch's and TensorFlow's formula): each part
    is exp(x + reversed logcumsumexp(log|grad| - y)), which neither overflows nor underflows.
    """

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        ctx.dim = dim
        ctx.save_for_backward(x)
        data = x.data
        return np.logaddexp.accumulate(data.astype(accumulation_dtype(data.dtype), copy=False),
                                       axis=dim).astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        dim = ctx.dim
        result = LogCumSumExp.apply(x, dim)
        # A number far below log(tiny) stands for log 0 (-inf would give inf - inf = nan below): every exp of it
        # plus x_k - y_j <= 0 is exactly 0. PyTorch's lowest finite number overflows in the second derivative.
        lowest = 2.0 * float(np.log(np.finfo(grad.dtype).tiny))

        def part(select: np.ndarray, magnitude: Tensor) -> Tensor:
            log_grad = Where.apply(select, log(Where.apply(select, magnitude, 1.0)), lowest)
            return exp(flip(LogCumSumExp.apply(flip(log_grad - result, dim), dim), dim) + x)

        return part(grad.data > 0, grad) - part(grad.data < 0, -grad), None


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(input))) along ``dim``, computed without overflow.

    Args:
        input: float tensor.
        dim: the dimension to scan along.

    Returns:
        Tensor of ``input``'s shape.
    """
    check_floating("logcumsumexp", input)
    return LogCumSumExp.apply(input, _dim("logcumsumexp", input, dim))


def _exclusive_cumprod(rows: Tensor) -> Tensor:
    """prod over i < k of rows_i along the last dimension (1 for k = 0): cumprod of the rows shifted right by one."""
    return Cumprod.apply(pad(rows, (1, 0), value=1.0)[..., :-1], rows.ndim - 1)


class Prod(Function):
    """y = product of x over ``dim``;  dx_k = grad * prod_{i != k} x_i, the exclusive prefix times the exclusive
    suffix product (exact with zeros, and differentiable again through cumprod)."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.axes[0]} if len(self.axes) == 1 and len(self.input_shape) > 1 else {}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int | None, keepdim: bool) -> np.ndarray:
        ctx.axes = reduced_axes(dim, x.data.ndim, "prod")
        ctx.input_shape, ctx.keepdim = x.data.shape, keepdim
        ctx.save_for_backward(x)
        data = x.data
        result = np.prod(data, axis=ctx.axes, keepdims=keepdim, dtype=accumulation_dtype(data.dtype))
        return get_array_module(data).asarray(result).astype(data.dtype, copy=False)  # 0-d array, on data's device

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        axes = ctx.axes
        kept = [d for d in range(x.ndim) if d not in axes]
        order = kept + list(axes)
        rows = reshape(permute(x, order), tuple(x.shape[d] for d in kept) + (-1,))
        others = _exclusive_cumprod(rows) * flip(_exclusive_cumprod(flip(rows, -1)), -1)
        others = permute(reshape(others, tuple(x.shape[d] for d in order)), tuple(np.argsort(order)))
        return _broadcast_back(grad, ctx.input_shape, axes, ctx.keepdim) * others, None, None


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product of the elements over ``dim`` (all of them when None).

    Args:
        input: tensor.
        dim: the dimension to reduce (PyTorch takes one; a tuple works here too).
        keepdim: keep the reduced dimension with size 1.
        dtype: cast the input to it first; by default bool and integer inputs give int64, as in PyTorch.

    Returns:
        Tensor; the gradient is exact where the input holds zeros.
    """
    input = integer_result(input, dtype)
    if input.ndim == 0 and dim is not None:
        reduced_axes(dim, 0, "prod")
    return Prod.apply(input, dim, keepdim)

