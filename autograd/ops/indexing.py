"""Indexing ops: ``x[key]``, ``gather``, ``where``, and their adjoints, which scatter-add.

Reading ``x[key]`` may pick an element several times (``x[[0, 0]]``), so the gradient is an
accumulating scatter (``scatter_add``): each pick adds its share back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import get_array_module
from ..errors import DimensionError, OpError
from ..function import Function
from ..tensor import Tensor, unwrap
from .shape import expand, sum_to


def kept_array(value: Any) -> np.ndarray:
    """``value`` as an array for an op to keep as an index or mask: a Tensor's array copied, an array as it is (ops
    pass the masks they make), anything else as a new array (on the array's device).

    A Tensor may be changed in place before backward, which would send the gradient to other positions: PyTorch
    catches that with the index tensor's version counter. The copy keeps the positions the forward used.
    """
    if isinstance(value, Tensor):
        return value.data.copy()
    return get_array_module(value).asarray(value)


def normalize_index(key: Any) -> Any:
    """Turn Tensors and lists inside an index into arrays (``kept_array``), leaving ints, slices, arrays, None and
    ... alone."""
    if isinstance(key, tuple):
        return tuple(normalize_index(part) for part in key)
    if isinstance(key, (Tensor, list)):
        return kept_array(key)
    return key


def _is_int(part: Any) -> bool:
    return isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_))


def _is_array(part: Any) -> bool:
    """A numpy or device (CuPy) array: CuPy's is no ``np.ndarray`` subclass."""
    return isinstance(part, np.ndarray) or get_array_module(part) is not np


_BASIC_PARTS = frozenset({int, bool, slice, type(None), type(Ellipsis)})


def _split_ints(key: Any) -> tuple[tuple, tuple] | None:
    """PyTorch applies the ints of an index first, as selections, then the index arrays to what is left; numpy
    treats an int as an index array, which moves the indexed dimensions to the front when a slice separates it
    from another index array (``x[0, :, [1, 2]]`` of a (2, 3, 4) tensor is (3, 2) in PyTorch, (2, 3) in numpy).

    Returns:
        ``(ints, rest)``, the two keys that give PyTorch's result applied one after the other, or None when the
        key mixes no ints with index arrays (where numpy's rule is PyTorch's).
    """
    # Most keys are ints and slices only: answered by type alone, before asking for array modules.
    if not isinstance(key, tuple) or all(type(part) in _BASIC_PARTS for part in key):
        return None
    if not any(map(_is_int, key)) or not any(_is_array(part) and part.ndim for part in key):
        return None
    ints, rest = [], []
    for part in key:
        if _is_int(part):
            ints.append(part)
        elif _is_array(part):
            ints.extend([slice(None)] * (part.ndim if part.dtype == np.bool_ else 1))
            rest.append(part)
        elif part is Ellipsis:
            ints.append(part)
            rest.append(part)
        else:  # a slice, or None (the new dimension is made by the first key)
            ints.append(part)
            rest.append(slice(None))
    return tuple(ints), tuple(rest)


def _on_device_of(array: Any, key: Any) -> Any:
    """``key`` with its host index arrays (from lists, ranges, shapes) copied to ``array``'s device, as PyTorch
    moves a list index to a CUDA tensor's device; the key itself for host data."""
    if type(array) is np.ndarray:
        return key
    if isinstance(key, tuple):
        return tuple(_on_device_of(array, part) for part in key)
    return get_array_module(array).asarray(key) if type(key) is np.ndarray else key


def out_of_bounds(index: Any, low: int, size: int) -> int | None:
    """An entry of the integer array ``index`` outside ``[low, size)`` (the largest if it is too large, else the
    smallest), or None. One min and one max, read back to the host: a device index's reductions are 0-d device
    arrays, each comparison of which would synchronise again."""
    if not index.size:
        return None
    smallest, largest = int(index.min()), int(index.max())
    if largest >= size:
        return largest
    return smallest if smallest < low else None


def _check_bounds_off_the_host(shape: tuple, key: Any) -> None:
    """Raise numpy's IndexError for an integer index array out of range of its dimension, which CuPy wraps around
    (or reads past) instead of raising: one min and one max per index array, read back to the host."""
    parts = key if isinstance(key, tuple) else (key,)
    widths = [0 if part is None or part is Ellipsis else part.ndim if _is_array(part) and part.dtype == np.bool_
              else 1 for part in parts]
    dim = 0
    for part, width in zip(parts, widths):
        if part is Ellipsis:
            dim += len(shape) - sum(widths)
        elif _is_array(part) and part.dtype.kind in "iu" and dim < len(shape):
            bad = out_of_bounds(part, -shape[dim], shape[dim])
            if bad is not None:
                raise IndexError(f"index {bad} is out of bounds for axis {dim} with size {shape[dim]}")
        dim += width


def select(array: np.ndarray, key: Any) -> np.ndarray:
    """``array[key]`` with PyTorch's result shape (see ``_split_ints``)."""
    key = _on_device_of(array, key)
    if type(array) is not np.ndarray:
        _check_bounds_off_the_host(array.shape, key)
    split = _split_ints(key)
    if split is not None:
        return array[split[0]][split[1]]
    result = array[key]
    if isinstance(result, np.generic):  # an int for every dimension: a 0-d view, as PyTorch's, not numpy's copy
        return array[(*key, ...) if isinstance(key, tuple) else (key, ...)]
    return result


def assign(array: np.ndarray, key: Any, value: Any) -> None:
    """``array[key] = value`` in place, with the element order of ``select``."""
    if type(array) is not np.ndarray:
        _check_bounds_off_the_host(array.shape, key)
    split = _split_ints(key)
    if split is None:
        array[key] = value
    else:
        array[split[0]][split[1]] = value  # the first key is basic: a view, written through


def _is_basic(key: Any) -> bool:
    """True when ``key`` selects each element at most once (ints, slices, None, Ellipsis)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(part is None or part is Ellipsis
               or isinstance(part, (int, np.integer, slice)) and not isinstance(part, bool)
               for part in parts)


def add_at(shape: tuple, flat_index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """zeros(shape) with ``values`` added at the flat positions ``flat_index``, repeats accumulating.

    Scattering through one flat index is much faster in numpy than ``np.add.at`` with a tuple of
    index arrays (about 15x for a gather's gradient).
    """
    result = np.zeros_like(values, shape=(int(np.prod(shape)),))
    np.add.at(result, flat_index.ravel(), values.ravel())
    return result.reshape(shape)


def flat_positions(shape: tuple, like: Any = None) -> np.ndarray:
    """Each element's flat index, in an array of ``shape`` on ``like``'s device: indexing it tells where picks came
    from."""
    return get_array_module(like).arange(int(np.prod(shape))).reshape(shape)


class Index(Function):
    """y = x[key]."""

    @staticmethod
    def forward(ctx, x: Tensor, key: Any) -> np.ndarray:
        ctx.input_shape = x.data.shape
        ctx.save_for_backward(key)
        try:
            return select(x.data, key)
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor of shape {x.data.shape})") from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        (key,) = ctx.saved_tensors
        return IndexAdd.apply(grad, ctx.input_shape, key), None


class IndexAdd(Function):
    """y = zeros(shape) with y[key] += x, accumulating over repeated indices (the adjoint of Index)."""

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple, key: Any) -> np.ndarray:
        ctx.save_for_backward(key)
        if _is_basic(key):
            result = np.zeros_like(x.data, shape=shape)  # on x's device
            result[key] = x.data
            return result
        return add_at(shape, select(flat_positions(shape, x.data), key), x.data)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (key,) = ctx.saved_tensors
        return Index.apply(grad, key), None, None


def check_index_along(op: str, shape: tuple, dim: int, index: np.ndarray) -> int:
    """Check an index of gather/scatter along ``dim`` of a tensor of ``shape``, as PyTorch does: integers, as many
    dimensions, no larger in the other dimensions, in range along ``dim``. Returns ``dim`` made non-negative."""
    ndim = len(shape)
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimensionError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} dimensions")
    dim %= max(ndim, 1)
    if index.dtype.kind not in "iu":
        raise OpError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != ndim:
        raise OpError(f"{op}: index has {index.ndim} dimensions but input has {ndim} (shapes {index.shape} and "
                      f"{shape})")
    if any(i > s for d, (i, s) in enumerate(zip(index.shape, shape)) if d != dim):
        raise OpError(f"{op}: index of shape {index.shape} is larger than the input's {shape} outside "
                      f"dimension {dim}")
    size = shape[dim] if ndim else 1
    bad = out_of_bounds(index, 0, size)
    if bad is not None:
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")
    return dim


def _leading(shape: tuple, dim: int, index_shape: tuple) -> tuple:
    """The part of a tensor of ``shape`` that an index of ``index_shape`` along ``dim`` reaches: PyTorch's index
    may be smaller than the input outside ``dim``, and then addresses its leading corner."""
    return tuple(slice(None) if d == dim else slice(0, size) for d, size in enumerate(index_shape))


def positions_along(shape: tuple, dim: int, index: np.ndarray) -> np.ndarray:
    """The flat positions in a tensor of ``shape`` that gather/scatter along ``dim`` with ``index`` address."""
    return np.take_along_axis(flat_positions(shape, index)[_leading(shape, dim, index.shape)], index, axis=dim)


class Gather(Function):
    """y[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (and likewise for other dims)."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, index: np.ndarray) -> np.ndarray:
        ctx.dim = dim = check_index_along("gather", x.data.shape, dim, index)
        ctx.input_shape = x.data.shape
        ctx.save_for_backward(index)
        return np.take_along_axis(x.data[_leading(x.data.shape, dim, index.shape)], index, axis=dim)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (index,) = ctx.saved_tensors
        return ScatterAdd.apply(grad, ctx.input_shape, ctx.dim, index), None, None


class ScatterAdd(Function):
    """y = zeros(shape) with y[..index along dim..] += x (the adjoint of Gather)."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple, dim: int, index: np.ndarray) -> np.ndarray:
        ctx.dim = dim
        ctx.save_for_backward(index)
        return add_at(shape, positions_along(shape, dim, index), x.data)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (index,) = ctx.saved_tensors
        return Gather.apply(grad, ctx.dim, index), None, None, None


class Where(Function):
    """y = a where condition else b; the gradient goes to whichever side was picked."""

    broadcasts_inputs = True

    @staticmethod
    def forward(ctx, condition: np.ndarray, a: Any, b: Any) -> np.ndarray:
        a_data, b_data = unwrap(a), unwrap(b)
        ctx.save_for_backward(condition)
        ctx.shapes = (np.shape(a_data), np.shape(b_data))
        try:
            return np.where(condition, a_data, b_data)
        except ValueError:
            raise OpError(
                f"where: condition {condition.shape}, input {np.shape(a_data)} and other {np.shape(b_data)} "
                f"cannot be broadcast together"
            ) from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        (condition,) = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[1]:
            grad_a = sum_to(Where.apply(condition, grad, 0.0), ctx.shapes[0])
        if ctx.needs_input_grad[2]:
            grad_b = sum_to(Where.apply(condition, 0.0, grad), ctx.shapes[1])
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
    return Where.apply(kept_array(condition).astype(bool, copy=False), input, other)


# ----------------------------------------------------------------------------- scatter, index_* and masked ops
# Each is written with the gather/scatter pair above, whose gradients are each other: reading positions is a gather
# (its gradient scatters back), writing them a scatter (its gradient gathers). Positions an op overwrites take no
# gradient from the input (``Where``).


def _index_array(op: str, index: Any) -> np.ndarray:
    index = kept_array(index)
    if index.dtype.kind not in "iu":
        raise OpError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    return index


def _scatter_parts(op: str, input: Tensor, dim: int, index: Any, src: Tensor) -> tuple[int, np.ndarray, Tensor]:
    """The checked dim and index of a scatter, and the part of ``src`` it reads (the index's leading corner)."""
    index = _index_array(op, index)
    dim = check_index_along(op, input.shape, dim, index)
    if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
        raise OpError(f"{op}: index of shape {index.shape} is larger than src of shape {src.shape}")
    leading = tuple(slice(0, size) for size in index.shape)
    return dim, index, src if src.shape == index.shape else Index.apply(src, leading)


def _written(shape: tuple, positions: np.ndarray) -> np.ndarray:
    """A bool array of ``shape``, True at the flat ``positions``."""
    mask = np.zeros_like(positions, shape=(int(np.prod(shape)),), dtype=bool)
    mask[positions.ravel()] = True
    return mask.reshape(shape)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values along ``dim`` at ``index``: ``out[i][j] = input[i][index[i][j]]`` for ``dim=1``.

    Args:
        input: tensor.
        dim: the dimension to pick along.
        index: integer tensor with as many dimensions as ``input``, no larger outside ``dim`` (then it reads the
            leading corner of ``input``, as in PyTorch).

    Returns:
        Tensor of ``index``'s shape. The gradient scatters back, adding where an index repeats.
    """
    return Gather.apply(input, dim, _index_array("gather", index))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting: ``input`` and ``indices`` broadcast against each other outside ``dim``.

    Args:
        input: tensor.
        indices: integer tensor (for ``dim=None``, indices into the flattened input).
        dim: the dimension to pick along; None flattens both first.

    Returns:
        Tensor of the broadcast shape, with ``indices``' size along ``dim``.
    """
    indices = _index_array("take_along_dim", indices)
    if dim is None:
        return Gather.apply(input.reshape(-1), 0, indices.reshape(-1))
    if indices.ndim != input.ndim:
        raise OpError(f"take_along_dim: input of shape {input.shape} and indices of shape {indices.shape} need "
                      f"the same number of dimensions")
    dim = check_index_along("take_along_dim", input.shape, dim, np.zeros((0,) * input.ndim, np.int64))
    try:
        shape = np.broadcast_shapes(input.shape[:dim] + (1,) + input.shape[dim + 1:],
                                    indices.shape[:dim] + (1,) + indices.shape[dim + 1:])
    except ValueError:
        raise OpError(f"take_along_dim: input of shape {input.shape} and indices of shape {indices.shape} do not "
                      f"broadcast outside dimension {dim}") from None
    input = expand(input, shape[:dim] + (input.shape[dim],) + shape[dim + 1:])
    return Gather.apply(input, dim, np.broadcast_to(indices, shape[:dim] + (indices.shape[dim],) + shape[dim + 1:]))


class Scatter(Function):
    """y = x with y[..index along dim..] = src (a repeated position keeps the last write);
    dx = grad where nothing was written, dsrc = grad gathered at the index (as in PyTorch, for every write)."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, index: np.ndarray, src: Tensor) -> np.ndarray:
        positions = positions_along(x.data.shape, dim, index)
        ctx.dim = dim
        ctx.save_for_backward(index, _written(x.data.shape, positions))
        result = x.data.copy()
        result.reshape(-1)[positions.ravel()] = src.data.ravel()
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        index, written = ctx.saved_tensors
        grad_x = Where.apply(written, 0.0, grad) if ctx.needs_input_grad[0] else None
        grad_src = Gather.apply(grad, ctx.dim, index) if ctx.needs_input_grad[3] else None
        return grad_x, None, None, grad_src


def scatter(input: Tensor, dim: int, index: Tensor, src: Tensor | float | None = None, *,
            value: float | None = None, reduce: str | None = None) -> Tensor:
    """Write ``src`` (or ``value``) into a copy of ``input`` at ``index`` along ``dim``:
    ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``.

    Args:
        input: tensor.
        dim: the dimension the index runs along.
        index: integer tensor with as many dimensions as ``input``, no larger than ``input`` outside ``dim`` and no
            larger than ``src`` anywhere.
        src: tensor of values (its leading corner of ``index``'s shape is read), or a number.
        value: a number to write instead of ``src``.
        reduce: ``'add'`` or ``'multiply'`` combine instead of overwriting (``scatter_reduce`` with ``'sum'`` or
            ``'prod'``).

    Returns:
        Tensor of ``input``'s shape. Where an index repeats, the last write wins (PyTorch leaves it unspecified).
    """
    if (src is None) == (value is None):
        raise OpError("scatter: give exactly one of src and value")
    src = value if src is None else src
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise OpError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        if not isinstance(src, Tensor):
            src = Tensor(np.full(np.shape(unwrap(index)), src, input.dtype))
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    if not isinstance(src, Tensor):
        index = _index_array("scatter", index)
        dim = check_index_along("scatter", input.shape, dim, index)
        return Where.apply(_written(input.shape, positions_along(input.shape, dim, index)), src, input)
    dim, index, src = _scatter_parts("scatter", input, dim, index, src)
    return Scatter.apply(input, dim, index, src)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` with ``src`` added at ``index`` along ``dim``, repeats accumulating:
    ``out[i][index[i][j]] += src[i][j]`` for ``dim=1``. Arguments as in ``scatter``.

    Returns:
        Tensor of ``input``'s shape; the gradient of ``src`` is the output gradient gathered at ``index``.
    """
    dim, index, src = _scatter_parts("scatter_add", input, dim, index, src)
    return input + ScatterAdd.apply(src, input.shape, dim, index)


class ScatterExtreme(Function):
    """y = x with y[..index..] = max (or min) of itself and the src scattered there;
    the gradient goes to the values equal to the result, shared equally by ties (as in PyTorch)."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim, "reduce": self.reduce}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, index: np.ndarray, src: Tensor, reduce: str, include_self: bool):
        shape = x.data.shape
        positions = positions_along(shape, dim, index).ravel()
        written = _written(shape, positions)
        combine = np.maximum if reduce == "amax" else np.minimum
        result = x.data.copy()
        if not include_self:
            result[written] = src.data.max() if reduce == "amin" else src.data.min()
        combine.at(result.reshape(-1), positions, src.data.ravel())
        self_wins = (x.data == result) & (~written | include_self)
        src_wins = src.data == result.reshape(-1)[positions].reshape(src.data.shape)
        ties = self_wins + np.bincount(positions, src_wins.ravel(), result.size).reshape(shape)
        ctx.dim, ctx.reduce = dim, reduce
        ctx.save_for_backward(index, self_wins, src_wins, (1.0 / np.maximum(ties, 1)).astype(result.dtype))
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        index, self_wins, src_wins, share = ctx.saved_tensors
        shared = grad * share  # each position's gradient split among the values tied for its result
        grad_x = shared * self_wins if ctx.needs_input_grad[0] else None
        grad_src = Gather.apply(shared, ctx.dim, index) * src_wins if ctx.needs_input_grad[3] else None
        return grad_x, None, None, grad_src, None, None


class ScatterProd(Function):
    """y = x (or 1, without include_self) times the product of the src scattered there;
    dx = grad * y / x, dsrc = (grad * y) gathered / src: zeros in x or src give inf/nan gradients."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, index: np.ndarray, src: Tensor, include_self: bool) -> np.ndarray:
        positions = positions_along(x.data.shape, dim, index).ravel()
        result = x.data.copy()
        if not include_self:
            result[_written(x.data.shape, positions)] = 1
        np.multiply.at(result.reshape(-1), positions, src.data.ravel())
        ctx.dim, ctx.include_self = dim, include_self
        ctx.save_for_backward(x, index, src)
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, index, src = ctx.saved_tensors
        # The product again, as a graph of x and src, so that the gradient differentiates again.
        total = grad * ScatterProd.apply(x, ctx.dim, index, src, ctx.include_self)
        grad_x = grad_src = None
        if ctx.needs_input_grad[0]:
            written = _written(x.shape, positions_along(x.shape, ctx.dim, index))
            grad_x = total / x if ctx.include_self else Where.apply(written, 0.0, grad)
        if ctx.needs_input_grad[3]:
            grad_src = Gather.apply(total, ctx.dim, index) / src
        return grad_x, None, None, grad_src, None


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Combine ``src`` into ``input`` at ``index`` along ``dim`` with ``reduce``.

    Args:
        input: tensor.
        dim: the dimension the index runs along.
        index: integer tensor, as in ``scatter``.
        src: tensor of values.
        reduce: ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'``.
        include_self: whether ``input``'s own values at the written positions take part.

    Returns:
        Tensor of ``input``'s shape; positions nothing is scattered to keep ``input``'s value. The gradients are
        PyTorch's: for amax/amin the values equal to the result share it equally; for prod it is divided by the
        factor, so zeros give inf/nan (PyTorch handles them).
    """
    if reduce not in _REDUCTIONS:
        raise OpError(f"scatter_reduce: reduce must be one of {', '.join(map(repr, _REDUCTIONS))}, got {reduce!r}")
    dim, index, src = _scatter_parts("scatter_reduce", input, dim, index, src)
    if reduce in ("amax", "amin"):
        return ScatterExtreme.apply(input, dim, index, src, reduce, include_self)
    if reduce == "prod":
        return ScatterProd.apply(input, dim, index, src, include_self)
    positions = positions_along(input.shape, dim, index)
    written = _written(input.shape, positions)
    base = input if include_self else Where.apply(written, 0.0, input)
    total = base + ScatterAdd.apply(src, input.shape, dim, index)
    if reduce == "sum":
        return total
    count = np.bincount(positions.ravel(), minlength=written.size).reshape(input.shape) + include_self
    if input.dtype.kind in "iub":
        return Tensor(np.where(written, total.data // np.maximum(count, 1), input.data).astype(input.dtype))
    return Where.apply(written, total * (1.0 / np.maximum(count, 1)).astype(input.dtype), input)


def _along(dim: int, index: np.ndarray) -> tuple:
    """The key that picks ``index`` (1-d) along ``dim``."""
    return (slice(None),) * dim + (index,)


def _dim_index(op: str, input: Tensor, dim: int, index: Any) -> tuple[int, np.ndarray]:
    index = _index_array(op, index)
    if index.ndim > 1:
        raise OpError(f"{op}: index must be 0-d or 1-d, got shape {index.shape}")
    ndim = max(input.ndim, 1)
    if not -ndim <= dim < ndim:
        raise DimensionError(f"{op}: dimension {dim} is out of range for a tensor with {input.ndim} dimensions")
    dim %= ndim
    size = input.shape[dim] if input.ndim else 1
    index = index.reshape(-1)
    bad = out_of_bounds(index, 0, size)
    if bad is not None:
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")
    return dim, index



def _check_source(op: str, input: Tensor, dim: int, index: np.ndarray, source: Tensor) -> None:
    expected = input.shape[:dim] + (len(index),) + input.shape[dim + 1:]
    if source.shape != expected:
        raise OpError(f"{op}: source of shape {source.shape} does not match input {input.shape} with "
                      f"{len(index)} indices along dimension {dim} (expected {expected})")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at ``index`` along ``dim``.

    Args:
        input: tensor.
        dim: the dimension to select along.
        index: 1-d integer tensor; repeats are allowed.

    Returns:
        Tensor of ``input``'s shape with ``len(index)`` along ``dim``. The gradient adds back where indices repeat.
    """
    dim, index = _dim_index("index_select", input, dim, index)
    return Index.apply(input, _along(dim, index))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """``input`` with ``alpha * source[k]`` added to slice ``index[k]`` along ``dim``, repeats accumulating.

    Args:
        input: tensor.
        dim: the dimension to add along.
        index: 1-d integer tensor.
        source: tensor of ``input``'s shape with ``len(index)`` along ``dim``.
        alpha: the scale of ``source``.

    Returns:
        Tensor of ``input``'s shape.
    """
    dim, index = _dim_index("index_add", input, dim, index)
    _check_source("index_add", input, dim, index, source)
    return input + IndexAdd.apply(source if alpha == 1 else source * alpha, input.shape, _along(dim, index))


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with slice ``index[k]`` along ``dim`` replaced by ``source[k]``.

    Args:
        input: tensor.
        dim: the dimension to copy along.
        index: 1-d integer tensor; where it repeats the last copy wins (PyTorch leaves it unspecified).
        source: tensor of ``input``'s shape with ``len(index)`` along ``dim``.

    Returns:
        Tensor of ``input``'s shape; the replaced slices take no gradient from ``input``.
    """
    dim, index = _dim_index("index_copy", input, dim, index)
    _check_source("index_copy", input, dim, index, source)
    # The last occurrence of each index: unique positions, so the scatter-add below copies.
    _, last = np.unique(index[::-1], return_index=True)
    last = len(index) - 1 - last
    if len(last) != len(index):
        source, index = Index.apply(source, _along(dim, last)), index[last]
    written = np.zeros_like(input.data, dtype=bool)
    written[_along(dim, index)] = True
    return Where.apply(written, IndexAdd.apply(source, input.shape, _along(dim, index)), input)


def _mask_array(op: str, mask: Any, shape: tuple | None = None) -> np.ndarray:
    mask = kept_array(mask)
    if mask.dtype != np.bool_:
        raise OpError(f"{op}: mask must be a bool tensor, got dtype {mask.dtype}")
    if shape is not None:
        try:
            return np.broadcast_to(mask, shape)
        except ValueError:
            raise OpError(f"{op}: mask of shape {mask.shape} does not broadcast to the input's {shape}") from None
    return mask


def masked_fill(input: Tensor, mask: Tensor, value: float | Tensor) -> Tensor:
    """``input`` with ``value`` where ``mask`` is True.

    Args:
        input: tensor.
        mask: bool tensor broadcastable to ``input``'s shape.
        value: a number or a 0-d tensor (which gets the gradient of the filled positions).

    Returns:
        Tensor of ``input``'s shape.
    """
    if isinstance(value, Tensor) and value.ndim:
        raise OpError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
    return Where.apply(_mask_array("masked_fill", mask, input.shape), value, input)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` is True filled, in order, by the first elements of ``source``.

    Args:
        input: tensor.
        mask: bool tensor broadcastable to ``input``'s shape.
        source: tensor with at least as many elements as ``mask`` has True values.

    Returns:
        Tensor of ``input``'s shape.
    """
    mask = _mask_array("masked_scatter", mask, input.shape)
    count = int(mask.sum())
    if source.numel() < count:
        raise OpError(f"masked_scatter: source has {source.numel()} elements, fewer than the mask's {count} "
                      f"True values (mask shape {mask.shape})")
    values = source.reshape(-1)[:count]
    return Where.apply(mask, IndexAdd.apply(values, input.shape, np.ascontiguousarray(mask)), input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-d tensor (both broadcast to a common shape).

    Returns:
        1-d Tensor; the gradient scatters back to the selected positions.
    """
    mask = _mask_array("masked_select", mask)
    try:
        shape = np.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise OpError(f"masked_select: input of shape {input.shape} and mask of shape {mask.shape} do not "
                      f"broadcast") from None
    return Index.apply(expand(input, shape), np.ascontiguousarray(np.broadcast_to(mask, shape)))


def repeat_interleave(input: Tensor, repeats: int | Tensor, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or each slice along ``dim``) ``repeats`` times: ``[1, 2]`` -> ``[1, 1, 2, 2]``.

    Args:
        input: tensor.
        repeats: an int, or a 1-d integer tensor with one count per slice along ``dim``.
        dim: the dimension to repeat along; None repeats the elements of the flattened tensor.
        output_size: the total size along ``dim`` if known (checked here; PyTorch uses it to skip a sync).

    Returns:
        Tensor; the gradient sums the copies of each element.
    """
    if dim is None:
        input, dim = input.reshape(-1), 0
    ndim = max(input.ndim, 1)
    if not -ndim <= dim < ndim:
        raise DimensionError(f"repeat_interleave: dimension {dim} is out of range for a tensor with {input.ndim} "
                             f"dimensions")
    dim %= ndim
    size = input.shape[dim] if input.ndim else 1
    counts = np.asarray(unwrap(repeats))
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or (counts.ndim and len(counts) not in (1, size)) or (
            counts.size and counts.min() < 0):
        raise OpError(f"repeat_interleave: repeats must be a non-negative int or 1-d integer tensor of length 1 "
                      f"or {size} (dimension {dim} of shape {input.shape}), got {counts!r}")
    index = np.repeat(np.arange(size), counts)
    if output_size is not None and output_size != len(index):
        raise OpError(f"repeat_interleave: output_size {output_size} differs from the repeated size {len(index)}")
    return Index.apply(input.reshape(1) if input.ndim == 0 else input, _along(dim, index))
