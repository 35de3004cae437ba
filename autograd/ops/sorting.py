"""Sorting and selection: sort, argsort, topk, kthvalue, median, mode, nonzero, unique.

Each op that returns values finds the indices first (no gradient) and reads the values with ``Gather``: the
gradient of picking elements is scattering the output gradient back to where they came from (ties get none
unless picked, as in PyTorch), and that scatter's own gradient is the gather again, so second derivatives come
for free.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..tensor import Tensor, wrap
from .indexing import Gather
from .reduction import ValuesIndices, reduced_axes


def _dim(op: str, input: Tensor, dim: int) -> int:
    """``dim`` made non-negative (a 0-d tensor counts as one of size 1, as in PyTorch)."""
    axes = reduced_axes(dim, input.ndim, op)
    return axes[0] if axes else 0


def _as_1d(input: Tensor) -> Tensor:
    """A 0-d tensor as shape (1,): PyTorch sorts and selects in a 0-d tensor as in a 1-element one."""
    return input.reshape(1) if input.ndim == 0 else input


def sort_indices(data: np.ndarray, axis: int, descending: bool = False) -> np.ndarray:
    """The stable sort order of ``data`` along ``axis`` (int64), NaN after every number ascending, first descending.

    A descending stable order is the ascending stable order of the reversed array, reversed: equal elements then
    keep their original order (sorting ``-data`` would not work for unsigned and bool data).
    """
    if not descending:
        return np.argsort(data, axis=axis, kind="stable").astype(np.int64, copy=False)
    size = data.shape[axis]
    reversed_order = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
    return (size - 1 - np.flip(reversed_order, axis)).astype(np.int64, copy=False)


def _picked(input: Tensor, dim: int, indices: np.ndarray, keepdim: bool = True) -> ValuesIndices:
    """The values at ``indices`` along ``dim`` (differentiable) and the indices, without ``dim`` unless kept."""
    values = Gather.apply(input, dim, indices)
    if not keepdim:
        values, indices = values.squeeze(dim), np.squeeze(indices, dim)
    return ValuesIndices(values, wrap(indices))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """Sort along ``dim``.

    Args:
        input: tensor.
        dim: the dimension to sort along.
        descending: largest first.
        stable: keep equal elements in their original order. gradlab's sort is always stable, so this changes
            nothing (PyTorch's unstable sort may order ties either way).

    Returns:
        ``(values, indices)``: the sorted values (the gradient flows back to where each came from) and their
        int64 positions in ``input``. NaN sorts as the largest value.
    """
    if input.ndim == 0:
        return _as_shape_of(sort(input.reshape(1)), input)
    dim = _dim("sort", input, dim)
    return _picked(input, dim, sort_indices(input.data, dim, descending))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (``sort(...).indices``); see ``sort``."""
    if input.ndim == 0:
        return wrap(np.zeros((), np.int64))
    return wrap(sort_indices(input.data, _dim("argsort", input, dim), descending))


def _check_k(op: str, k: int, size: int, low: int, dim: int, shape: tuple) -> None:
    if not low <= k <= size:
        raise OpError(f"{op}: k={k} is out of range for dimension {dim} of size {size} (expected {low} <= k <= "
                      f"{size}; input shape {shape})")


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """The ``k`` largest (or smallest) elements along ``dim``.

    Args:
        input: tensor.
        k: how many elements, ``0 <= k <= input.size(dim)``.
        dim: the dimension to select along.
        largest: the largest elements (else the smallest).
        sorted: return them in sorted order; gradlab always does (PyTorch's order is unspecified otherwise).

    Returns:
        ``(values, indices)`` with ``k`` along ``dim``. Among equal elements the first ones are taken (PyTorch
        does not say which).
    """
    original, input = input, _as_1d(input)
    dim = _dim("topk", input, dim)
    _check_k("topk", k, input.shape[dim], 0, dim, original.shape)
    order = sort_indices(input.data, dim, descending=largest)
    result = _picked(input, dim, np.take(order, get_array_module(order).arange(k), axis=dim))
    return result if original.ndim or k == 0 else _as_shape_of(result, original)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The ``k``-th smallest element along ``dim`` (``k`` counts from 1).

    Args:
        input: tensor.
        k: which element, ``1 <= k <= input.size(dim)``.
        dim: the dimension to select along.
        keepdim: keep ``dim`` with size 1.

    Returns:
        ``(values, indices)``; the gradient goes to the element at ``indices``.
    """
    original, input = input, _as_1d(input)
    dim = _dim("kthvalue", input, dim)
    _check_k("kthvalue", k, input.shape[dim], 1, dim, original.shape)
    order = sort_indices(input.data, dim)
    result = _picked(input, dim, np.take(order, [k - 1], axis=dim), keepdim or original.ndim == 0)
    return _as_shape_of(result, original)


def _as_shape_of(result: ValuesIndices, original: Tensor) -> ValuesIndices:
    """A result computed on ``_as_1d(original)`` back in the shape of a 0-d ``original``."""
    if original.ndim:
        return result
    return ValuesIndices(result.values.reshape(()), wrap(result.indices.data.reshape(())))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The median: the lower of the two middle values for an even count, as in PyTorch.

    Args:
        input: tensor.
        dim: the dimension to reduce; None takes the median of all elements.
        keepdim: keep ``dim`` with size 1.

    Returns:
        A 0-d Tensor for ``dim=None``, else ``(values, indices)``. The gradient goes to the one element picked.
        A NaN anywhere along ``dim`` makes the median NaN, with the index of the first NaN.
    """
    if dim is None:
        if input.numel() == 0:
            raise OpError(f"median: cannot take the median of an empty tensor of shape {input.shape}")
        return median(input.reshape(-1), 0).values
    original, input = input, _as_1d(input)
    dim = _dim("median", input, dim)
    size = input.shape[dim]
    if size == 0:
        raise OpError(f"median: cannot reduce dimension {dim} of size 0 (shape {original.shape})")
    order = sort_indices(input.data, dim)
    indices = np.take(order, [(size - 1) // 2], axis=dim)
    nan = np.isnan(input.data) if input.dtype.kind in "fc" else None
    if nan is not None and nan.any():
        indices = np.where(nan.any(axis=dim, keepdims=True), nan.argmax(axis=dim, keepdims=True), indices)
    return _as_shape_of(_picked(input, dim, indices, keepdim or original.ndim == 0), original)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The most frequent value along ``dim``; the smallest of equally frequent ones.

    Args:
        input: tensor.
        dim: the dimension to reduce.
        keepdim: keep ``dim`` with size 1.

    Returns:
        ``(values, indices)``, the index being that of the value's last occurrence (as PyTorch's CPU kernel).
        The gradient goes to that element.
    """
    original, input = input, _as_1d(input)
    dim = _dim("mode", input, dim)
    size = input.shape[dim]
    if size == 0:
        raise OpError(f"mode: cannot reduce dimension {dim} of size 0 (shape {original.shape})")
    # Runs of equal values in each sorted row: count each run's length, and pick the end of the first longest run
    # (the smallest value; a stable sort puts that value's last occurrence at the run's end).
    order = np.moveaxis(sort_indices(input.data, dim), dim, -1).reshape(-1, size)
    rows = np.take_along_axis(np.moveaxis(input.data, dim, -1).reshape(-1, size), order, axis=1)
    ends = np.ones(rows.shape, bool)
    ends[:, :-1] = rows[:, 1:] != rows[:, :-1]
    starts = np.ones(rows.shape, bool)
    starts[:, 1:] = ends[:, :-1]
    run = np.cumsum(starts.ravel()) - 1
    length = np.bincount(run)[run].reshape(rows.shape)
    best = np.argmax(np.where(ends, length, 0), axis=1)
    indices = order[np.arange(len(order)), best]
    kept_shape = input.shape[:dim] + input.shape[dim + 1:] + (1,)
    indices = np.moveaxis(indices.reshape(kept_shape), -1, dim)
    return _as_shape_of(_picked(input, dim, indices, keepdim or original.ndim == 0), original)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the non-zero elements.

    Args:
        input: tensor.
        as_tuple: return one 1-d index tensor per dimension (usable as ``x[...]``) instead of one matrix.

    Returns:
        int64 Tensor of shape (number of non-zeros, input.ndim), in row-major order; or a tuple of them.
    """
    if as_tuple:
        return tuple(wrap(part.astype(np.int64)) for part in np.nonzero(np.atleast_1d(input.data)))
    return wrap(np.argwhere(input.data).astype(np.int64))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
    """The distinct elements (or, with ``dim``, the distinct slices along ``dim``), sorted.

    Args:
        input: tensor.
        sorted: gradlab always sorts (as PyTorch's CPU kernel does).
        return_inverse: also return, for each element (slice), the index of its value in the output.
        return_counts: also return how often each distinct value occurs.
        dim: compare slices along this dimension instead of elements of the flattened tensor.

    Returns:
        The distinct values (no gradient, as in PyTorch), or a tuple with the inverse indices (``input``'s shape,
        or ``input.size(dim)`` with ``dim``) and the counts, in that order.
    """
    axis = None if dim is None else _dim("unique", input, dim)
    output, inverse, counts = np.unique(input.data, return_inverse=True, return_counts=True, axis=axis)
    inverse = inverse.reshape(input.shape if axis is None else -1).astype(np.int64)
    result = [wrap(output)]
    if return_inverse:
        result.append(wrap(inverse))
    if return_counts:
        result.append(wrap(counts.astype(np.int64)))
    return result[0] if len(result) == 1 else tuple(result)
