"""Indexing ops: ``x[key]``, ``gather``, ``where``, and their adjoints, which scatter-add.

Reading ``x[key]`` may pick an element several times (``x[[0, 0]]``), so the gradient is an
accumulating scatter (``np.add.at``): each pick adds its share back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .shape import sum_to


def normalize_index(key: Any) -> Any:
    """Turn Tensors and lists inside an index into numpy arrays, leaving ints, slices, None and ... alone."""
    if isinstance(key, tuple):
        return tuple(normalize_index(part) for part in key)
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _is_basic(key: Any) -> bool:
    """True when ``key`` selects each element at most once (ints, slices, None, Ellipsis)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice)) and not isinstance(part, bool)
               for part in parts)


class Index(Function):
    """y = x[key]."""

    @staticmethod
    def forward(ctx, x: Tensor, key: Any) -> np.ndarray:
        ctx.input_shape = x.data.shape
        ctx.key = key
        try:
            return x.data[key]
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor of shape {x.data.shape})") from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        return IndexAdd.apply(grad, ctx.input_shape, ctx.key), None


class IndexAdd(Function):
    """y = zeros(shape) with y[key] += x, accumulating over repeated indices (the adjoint of Index)."""

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple, key: Any) -> np.ndarray:
        ctx.key = key
        result = np.zeros(shape, x.data.dtype)
        if _is_basic(key):
            result[key] = x.data
        else:
            np.add.at(result, key, x.data)
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Index.apply(grad, ctx.key), None, None


def _along_axis_index(index: np.ndarray, dim: int) -> tuple:
    """Full index tuple that addresses ``index`` positions along ``dim`` and the grid elsewhere."""
    grid = list(np.ix_(*[np.arange(size) for size in index.shape]))
    grid[dim] = index
    return tuple(grid)


class Gather(Function):
    """y[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (and likewise for other dims)."""

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, index: np.ndarray) -> np.ndarray:
        if index.ndim != x.data.ndim:
            raise ValueError(f"gather: index has {index.ndim} dimensions but input has {x.data.ndim}")
        ctx.input_shape = x.data.shape
        ctx.dim = dim
        ctx.index = index
        return np.take_along_axis(x.data, index, axis=dim)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return ScatterAdd.apply(grad, ctx.input_shape, ctx.dim, ctx.index), None, None


class ScatterAdd(Function):
    """y = zeros(shape) with y[..index along dim..] += x (the adjoint of Gather)."""

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple, dim: int, index: np.ndarray) -> np.ndarray:
        ctx.dim = dim
        ctx.index = index
        result = np.zeros(shape, x.data.dtype)
        np.add.at(result, _along_axis_index(index, dim % len(shape)), x.data)
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Gather.apply(grad, ctx.dim, ctx.index), None, None, None


class Where(Function):
    """y = a where condition else b; the gradient goes to whichever side was picked."""

    @staticmethod
    def forward(ctx, condition: np.ndarray, a: Any, b: Any) -> np.ndarray:
        a_data = a.data if isinstance(a, Tensor) else a
        b_data = b.data if isinstance(b, Tensor) else b
        ctx.condition = condition
        ctx.shapes = (np.shape(a_data), np.shape(b_data))
        try:
            return np.where(condition, a_data, b_data)
        except ValueError:
            raise ValueError(
                f"where: condition {condition.shape}, input {np.shape(a_data)} and other {np.shape(b_data)} "
                f"cannot be broadcast together"
            ) from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        grad_a = grad_b = None
        if ctx.needs_input_grad[1]:
            grad_a = sum_to(Where.apply(ctx.condition, grad, 0.0), ctx.shapes[0])
        if ctx.needs_input_grad[2]:
            grad_b = sum_to(Where.apply(ctx.condition, 0.0, grad), ctx.shapes[1])
        return None, grad_a, grad_b


def where(condition: Tensor | np.ndarray, input: Any, other: Any) -> Tensor:
    """Pick elements from ``input`` where ``condition`` is true and from ``other`` elsewhere.

    Args:
        condition: bool tensor, broadcast against the other two.
        input: values (Tensor or scalar) where the condition holds.
        other: values (Tensor or scalar) elsewhere.

    Returns:
        Tensor of the broadcast shape.
    """
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return Where.apply(condition.astype(bool, copy=False), input, other)
