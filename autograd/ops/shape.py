"""Shape ops: reshape, permute, broadcast (expand) and its adjoint (sum_to), flip, cat, cast.

None of these does arithmetic, so each backward is the inverse rearrangement of the gradient:
reshape back, permute by the inverse permutation, and, for broadcasting, a sum over the
broadcast axes ("the adjoint of broadcasting is a sum").
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..device import get_array_module
from ..errors import DimensionError, OpError
from ..function import Function
from ..tensor import ScalarTensor, Tensor


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise DimensionError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def sum_to(tensor: Tensor, shape: tuple) -> Tensor:
    """Sum ``tensor`` down to ``shape`` (the adjoint of broadcasting ``shape`` to ``tensor.shape``)."""
    if type(tensor) is ScalarTensor or isinstance(tensor, np.generic):  # 0-d (a backward on numbers passes numbers)
        if shape == ():
            return tensor
    elif tensor.data.shape == shape:
        return tensor
    return SumToShape.apply(tensor, shape)


class SumToShape(Function):
    """y = sum of x over the axes that broadcasting ``shape`` to x.shape added or stretched."""

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple) -> np.ndarray:
        ctx.input_shape = x.data.shape
        ctx.axes = broadcast_axes(shape, x.data.shape)
        return x.data.sum(axis=ctx.axes).reshape(shape)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Expand.apply(grad, ctx.input_shape), None


def broadcast_axes(shape: tuple, target: tuple) -> tuple[int, ...]:
    """Axes of ``target`` that broadcasting ``shape`` up to ``target`` added or stretched."""
    leading = len(target) - len(shape)
    return tuple(range(leading)) + tuple(
        leading + i for i, size in enumerate(shape) if size == 1 and target[leading + i] != 1
    )


class Expand(Function):
    """y = x broadcast to ``shape`` (a read-only view, no copy)."""

    broadcasts_inputs = True

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple) -> np.ndarray:
        ctx.input_shape = x.data.shape
        try:
            return np.broadcast_to(x.data, shape)
        except ValueError:
            raise OpError(f"expand: tensor of shape {x.data.shape} cannot be expanded to {shape}") from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        return sum_to(grad, ctx.input_shape), None


def expand(tensor: Tensor, sizes: Sequence[int]) -> Tensor:
    """Broadcast ``tensor`` to ``sizes``; -1 keeps the existing size of that dimension."""
    sizes = tuple(sizes)
    offset = len(sizes) - tensor.ndim
    shape = tuple(tensor.shape[i - offset] if size == -1 and i >= offset else size for i, size in enumerate(sizes))
    return tensor if shape == tensor.shape else Expand.apply(tensor, shape)


class Reshape(Function):
    """y = x with the same elements in a new shape."""

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple) -> np.ndarray:
        ctx.input_shape = x.data.shape
        try:
            return x.data.reshape(shape)
        except ValueError:
            raise OpError(
                f"reshape: cannot reshape a tensor of shape {x.data.shape} ({x.data.size} elements) into {shape}"
            ) from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Reshape.apply(grad, ctx.input_shape), None


def reshape(tensor: Tensor, shape: Sequence[int]) -> Tensor:
    """``tensor`` with the same elements in ``shape`` (one entry may be -1)."""
    shape = tuple(shape)
    return tensor if shape == tensor.shape else Reshape.apply(tensor, shape)


def flatten(tensor: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` to ``end_dim`` (inclusive) into one."""
    if tensor.ndim == 0:
        return reshape(tensor, (1,))
    start = _normalize_dim(start_dim, tensor.ndim, "flatten")
    end = _normalize_dim(end_dim, tensor.ndim, "flatten")
    shape = tensor.shape
    return reshape(tensor, shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


def unflatten(tensor: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dimension ``dim`` into ``sizes``."""
    dim = _normalize_dim(dim, tensor.ndim, "unflatten")
    return reshape(tensor, tensor.shape[:dim] + tuple(sizes) + tensor.shape[dim + 1:])


def squeeze(tensor: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Remove size-1 dimensions (only those in ``dim``, an int or a tuple, when given; others stay).

    A 0-d tensor is returned as it is for ``dim`` 0 or -1, as in PyTorch.
    """
    if dim is None:
        return reshape(tensor, tuple(size for size in tensor.shape if size != 1))
    dims = {_normalize_dim(d, max(tensor.ndim, 1), "squeeze")
            for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)}
    if tensor.ndim == 0:
        return tensor
    shape = tuple(size for d, size in enumerate(tensor.shape) if d not in dims or size != 1)
    return tensor if shape == tensor.shape else reshape(tensor, shape)


def unsqueeze(tensor: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (negative counts from the end of the result)."""
    dim = _normalize_dim(dim, tensor.ndim + 1, "unsqueeze")
    return reshape(tensor, tensor.shape[:dim] + (1,) + tensor.shape[dim:])


class Permute(Function):
    """y = x with its axes reordered by ``dims``."""

    def attributes(self) -> dict[str, Any]:
        return {"dims": self.dims}

    @staticmethod
    def forward(ctx, x: Tensor, dims: tuple) -> np.ndarray:
        if sorted(d % max(x.data.ndim, 1) for d in dims) != list(range(x.data.ndim)):
            raise OpError(f"permute: {dims} is not a permutation of the {x.data.ndim} dimensions of {x.data.shape}")
        ctx.dims = dims
        return x.data.transpose(dims)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Permute.apply(grad, tuple(np.argsort([d % grad.ndim for d in ctx.dims]))), None


def permute(tensor: Tensor, dims: Sequence[int]) -> Tensor:
    """Reorder the dimensions of ``tensor``: result dimension i is input dimension ``dims[i]``."""
    return Permute.apply(tensor, tuple(dims))


def transpose(tensor: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap dimensions ``dim0`` and ``dim1``."""
    dims = list(range(tensor.ndim))
    dim0 = _normalize_dim(dim0, tensor.ndim, "transpose")
    dim1 = _normalize_dim(dim1, tensor.ndim, "transpose")
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(tensor, tuple(dims))


class Flip(Function):
    """y = x reversed along ``dims``; its own adjoint."""

    def attributes(self) -> dict[str, Any]:
        return {"dims": self.dims}

    @staticmethod
    def forward(ctx, x: Tensor, dims: Any) -> np.ndarray:
        ctx.dims = dims
        return np.flip(x.data, dims).copy()

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Flip.apply(grad, ctx.dims), None


def flip(tensor: Tensor, dims: int | Sequence[int]) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    return Flip.apply(tensor, dims)


def repeat(tensor: Tensor, repeats: Sequence[int]) -> Tensor:
    """Tile ``tensor`` ``repeats[i]`` times along dimension i (like ``torch.Tensor.repeat``).

    Built from expand + reshape, so its gradient (a sum over the copies) comes for free.
    """
    repeats = tuple(repeats)
    if len(repeats) < tensor.ndim:
        raise OpError(f"repeat: got {len(repeats)} repeat counts for a tensor with {tensor.ndim} dimensions")
    shape = (1,) * (len(repeats) - tensor.ndim) + tensor.shape
    # Interleave a new axis of size r before each axis, broadcast, then merge the pairs.
    interleaved = reshape(tensor, tuple(v for size in shape for v in (1, size)))
    expanded = expand(interleaved, tuple(v for r, size in zip(repeats, shape) for v in (r, size)))
    return reshape(expanded, tuple(r * size for r, size in zip(repeats, shape)))


class Cat(Function):
    """y = the inputs joined along ``dim``; the gradient is sliced back into pieces."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, dim: int, *tensors: Tensor) -> np.ndarray:
        arrays = [t.data for t in tensors]
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        try:
            return np.concatenate(arrays, axis=dim)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise OpError(f"cat: tensors of shapes {shapes} cannot be joined along dimension {dim}") from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        pieces = []
        start = 0
        prefix = (slice(None),) * ctx.dim
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            pieces.append(grad[prefix + (slice(start, start + size),)] if needed else None)
            start += size
        return (None, *pieces)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension.

    Args:
        tensors: tensors with equal shapes except along ``dim``.
        dim: the dimension to join along.

    Returns:
        Tensor whose size along ``dim`` is the sum of the inputs'.
    """
    tensors = list(tensors)
    if not tensors:
        raise OpError("cat: expected a non-empty sequence of tensors")
    dim = _normalize_dim(dim, tensors[0].ndim, "cat")
    return Cat.apply(dim, *tensors)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise OpError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise OpError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    dim = _normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces of ``split_size_or_sections`` (an int, or a list of sizes) along ``dim``."""
    dim = _normalize_dim(dim, tensor.ndim, "split")
    length = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [min(split_size_or_sections, length - start) for start in range(0, length, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise OpError(f"split: sizes {sizes} do not add up to {length}, the size of dimension {dim}")
    prefix = (slice(None),) * dim
    offsets = np.cumsum([0] + sizes)
    return tuple(tensor[prefix + (slice(int(a), int(b)),)] for a, b in zip(offsets[:-1], offsets[1:]))


def chunk(tensor: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of size ceil(n / chunks) along ``dim`` (the last may be smaller)."""
    length = tensor.shape[_normalize_dim(dim, tensor.ndim, "chunk")]
    return split(tensor, max(1, -(-length // chunks)), dim)


class Cast(Function):
    """y = x converted to ``dtype``; the gradient is converted back."""

    @staticmethod
    def forward(ctx, x: Tensor, dtype: np.dtype) -> np.ndarray:
        ctx.input_dtype = x.data.dtype
        return x.data.astype(dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Cast.apply(grad, ctx.input_dtype), None


class Clone(Function):
    """y = a copy of x."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        return x.data.copy()

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad


# ----------------------------------------------------------------------------- triangles, diagonals, windows
class Triangle(Function):
    """y = the lower (tril) or upper (triu) triangle of the last two dimensions of x, zeros elsewhere; a mask,
    so its own adjoint: dx = the same triangle of grad."""

    def attributes(self) -> dict[str, Any]:
        shown = {"upper": self.upper}
        if self.diagonal:
            shown["diagonal"] = self.diagonal
        return shown

    @staticmethod
    def forward(ctx, x: Tensor, upper: bool, diagonal: int) -> np.ndarray:
        if x.data.ndim < 2:
            raise OpError(f"{'triu' if upper else 'tril'}: input must have at least 2 dimensions, got shape "
                          f"{x.data.shape}")
        ctx.upper, ctx.diagonal = upper, diagonal
        return (np.triu if upper else np.tril)(x.data, diagonal)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Triangle.apply(grad, ctx.upper, ctx.diagonal), None, None


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions: elements on and below ``diagonal`` (0 the main one, > 0
    above it, < 0 below), zeros elsewhere."""
    return Triangle.apply(input, False, diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions: elements on and above ``diagonal``, zeros elsewhere."""
    return Triangle.apply(input, True, diagonal)


def _diagonal_key(shape: tuple, offset: int, dim1: int, dim2: int, like: Any = None) -> tuple:
    """The index of the diagonal ``offset`` of dims (dim1, dim2) moved last: (..., rows, cols), on ``like``'s
    device."""
    rows, cols = shape[dim1], shape[dim2]
    length = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    start = get_array_module(like).arange(length)
    return (Ellipsis, start - min(offset, 0), start + max(offset, 0))


class Diagonal(Function):
    """y = the diagonal ``offset`` of dims (dim1, dim2) of x, as its last dimension;  dx = grad written onto that
    diagonal of zeros (``DiagonalScatter``)."""

    def attributes(self) -> dict[str, Any]:
        return {"offset": self.offset, "dim1": self.dim1, "dim2": self.dim2}

    @staticmethod
    def forward(ctx, x: Tensor, offset: int, dim1: int, dim2: int) -> np.ndarray:
        ctx.offset, ctx.dim1, ctx.dim2, ctx.input_shape = offset, dim1, dim2, x.data.shape
        view = np.diagonal(x.data, offset, dim1, dim2)
        if type(view) is np.ndarray and x.data.flags.writeable:
            view.flags.writeable = True  # numpy's diagonal view is read-only; PyTorch's is written through
        return view

    @staticmethod
    def backward(ctx, grad: Tensor):
        return DiagonalScatter.apply(grad, ctx.input_shape, ctx.offset, ctx.dim1, ctx.dim2), None, None, None


class DiagonalScatter(Function):
    """y = zeros(shape) with the diagonal ``offset`` of dims (dim1, dim2) set to x (its last dimension);
    dx = that diagonal of grad (``Diagonal``)."""

    def attributes(self) -> dict[str, Any]:
        return {"offset": self.offset, "dim1": self.dim1, "dim2": self.dim2}

    @staticmethod
    def forward(ctx, x: Tensor, shape: tuple, offset: int, dim1: int, dim2: int) -> np.ndarray:
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        result = np.zeros_like(x.data, shape=shape)  # on x's device
        np.moveaxis(result, (dim1, dim2), (-2, -1))[_diagonal_key(shape, offset, dim1, dim2, result)] = x.data
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Diagonal.apply(grad, ctx.offset, ctx.dim1, ctx.dim2), None, None, None, None


def _two_dims(op: str, ndim: int, dim1: int, dim2: int) -> tuple[int, int]:
    dim1, dim2 = _normalize_dim(dim1, ndim, op), _normalize_dim(dim2, ndim, op)
    if dim1 == dim2:
        raise OpError(f"{op}: dim1 and dim2 are the same dimension ({dim1})")
    return dim1, dim2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` (> 0 above the main one) of the matrices in dims ``dim1`` and ``dim2``.

    Returns:
        Tensor with dims ``dim1`` and ``dim2`` removed and the diagonal appended as the last dimension.
    """
    dim1, dim2 = _two_dims("diagonal", input.ndim, dim1, dim2)
    return Diagonal.apply(input, offset, dim1, dim2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Square matrices in dims ``dim1`` and ``dim2`` (of the result) whose diagonal ``offset`` is the last
    dimension of ``input``, zeros elsewhere.

    Returns:
        Tensor with one more dimension than ``input``; the matrices are ``n + |offset|`` square.
    """
    ndim = input.ndim + 1
    dim1, dim2 = _two_dims("diag_embed", ndim, dim1, dim2)
    n = (input.shape[-1] if input.ndim else 1) + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(n if d in (dim1, dim2) else next(rest) for d in range(ndim))
    return DiagonalScatter.apply(input if input.ndim else input.reshape(1), shape, offset, dim1, dim2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d input becomes the diagonal ``diagonal`` of a square matrix; a 2-d input gives its diagonal (1-d)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return Diagonal.apply(input, diagonal, 0, 1)
    raise OpError(f"diag: input must be 1-d or 2-d, got shape {input.shape}")


class Roll(Function):
    """y = x shifted cyclically by ``shifts`` along ``dims``;  dx = grad shifted back."""

    def attributes(self) -> dict[str, Any]:
        return {"shifts": self.shifts, "dims": self.dims}

    @staticmethod
    def forward(ctx, x: Tensor, shifts: tuple, dims: tuple) -> np.ndarray:
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x.data, shifts, dims)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Roll.apply(grad, tuple(-shift for shift in ctx.shifts), ctx.dims), None, None


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Shift elements cyclically: ``out[(i + shift) % n] = input[i]`` along each of ``dims``.

    Args:
        input: tensor.
        shifts: one shift per dim (an int for one dim).
        dims: the dimensions to roll; None rolls the flattened tensor and restores the shape.
    """
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise OpError(f"roll: {len(shifts)} shifts need as many dims, got dims=None")
        return reshape(Roll.apply(reshape(input, (-1,)), shifts, (0,)), input.shape)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise OpError(f"roll: got {len(shifts)} shifts for {len(dims)} dims")
    return Roll.apply(input, shifts, tuple(_normalize_dim(d, input.ndim, "roll") for d in dims))


class Windows(Function):
    """y = the windows of ``size`` elements every ``step`` along ``dim``, as a new last dimension (a view);
    dx = each window's gradient added back onto its elements (``WindowsAdd``)."""

    def attributes(self) -> dict[str, Any]:
        return {"dimension": self.dim, "size": self.size, "step": self.step}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, size: int, step: int) -> np.ndarray:
        ctx.dim, ctx.size, ctx.step, ctx.length = dim, size, step, x.data.shape[dim]
        windows = np.lib.stride_tricks.sliding_window_view(x.data, size, axis=dim)
        return windows[(slice(None),) * dim + (slice(None, None, step),)]

    @staticmethod
    def backward(ctx, grad: Tensor):
        return WindowsAdd.apply(grad, ctx.dim, ctx.size, ctx.step, ctx.length), None, None, None


class WindowsAdd(Function):
    """y (``length`` along ``dim``) = the sum of the windows in x, each added onto the elements it covers (the
    adjoint of ``Windows``; a loop over the ``size`` offsets within a window, each a strided slice)."""

    def attributes(self) -> dict[str, Any]:
        return {"dimension": self.dim, "size": self.size, "step": self.step}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int, size: int, step: int, length: int) -> np.ndarray:
        ctx.dim, ctx.size, ctx.step = dim, size, step
        count = x.data.shape[dim]
        shape = list(x.data.shape[:-1])
        shape[dim] = length
        result = np.zeros_like(x.data, shape=shape)  # on x's device
        prefix = (slice(None),) * dim
        for offset in range(size):
            result[prefix + (slice(offset, offset + (count - 1) * step + 1, step),)] += x.data[..., offset]
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Windows.apply(grad, ctx.dim, ctx.size, ctx.step), None, None, None, None


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: the windows of ``size`` elements every ``step`` along ``dimension``.

    Returns:
        Tensor with ``dimension`` of size ``(n - size) // step + 1`` and a new last dimension of ``size``.
    """
    if input.ndim == 0:
        return reshape(unfold(reshape(input, (1,)), 0, size, step), (size,))
    dim = _normalize_dim(dimension, input.ndim, "unfold")
    if not 0 < size <= input.shape[dim] or step < 1:
        raise OpError(f"unfold: size {size} must be in [1, {input.shape[dim]}] (dimension {dim} of shape "
                      f"{input.shape}) and step {step} positive")
    return Windows.apply(input, dim, size, step)


def meshgrid(*tensors: Tensor, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d tensors: result i varies along dimension i (``'ij'``, PyTorch's default) or,
    with ``'xy'``, the first two are swapped (Cartesian indexing, as numpy's default)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise OpError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise OpError(f"meshgrid: expected 0-d or 1-d tensors, got shapes {[t.shape for t in tensors]}")
    tensors = [reshape(t, (-1,)) for t in tensors]
    swap = indexing == "xy" and len(tensors) > 1
    if swap:
        tensors[0], tensors[1] = tensors[1], tensors[0]
    shape = tuple(t.shape[0] for t in tensors)
    grids = [expand(reshape(t, (1,) * i + (-1,) + (1,) * (len(tensors) - i - 1)), shape) for i, t in enumerate(tensors)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start`` to ``start + length`` (exclusive) along ``dim`` (a negative ``start`` counts from the end)."""
    dim = _normalize_dim(dim, input.ndim, "narrow")
    size = input.shape[dim]
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise OpError(f"narrow: start {start} and length {length} are out of range for dimension {dim} of size "
                      f"{size} (shape {input.shape})")
    return input[(slice(None),) * dim + (slice(start, start + length),)]


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Move dimension(s) ``source`` to position(s) ``destination``; the others keep their order."""
    source = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(source) != len(destination):
        raise OpError(f"movedim: source {source} and destination {destination} differ in length")
    source = [_normalize_dim(d, input.ndim, "movedim") for d in source]
    destination = [_normalize_dim(d, input.ndim, "movedim") for d in destination]
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise OpError(f"movedim: repeated dimension in source {source} or destination {destination}")
    order = [d for d in range(input.ndim) if d not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return permute(input, order)


class Unbind(Function):
    """y_i = x[:, ..., i] along ``dim`` (each a view);  dx = stack(grad_0, ..., grad_{n-1}, dim).

    One node rather than one index op per slice: each slice's gradient would otherwise be a zero tensor of the
    input's shape with one slice filled, quadratic in the number of slices (an RNN's time steps); the adjoint of
    splitting is stacking.
    """

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> tuple[np.ndarray, ...]:
        ctx.dim = dim
        prefix = (slice(None),) * dim
        return tuple(x.data[prefix + (i,)] for i in range(x.data.shape[dim]))

    @staticmethod
    def backward(ctx, *grads: Tensor):
        return stack(grads, ctx.dim), None


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, each without that dimension.

    Args:
        input: the tensor to split.
        dim: the dimension to remove (default 0).

    Returns:
        a tuple of ``input.shape[dim]`` tensors, views of ``input``.
    """
    dim = _normalize_dim(dim, input.ndim, "unbind")
    slices = Unbind.apply(input, dim)
    return slices if isinstance(slices, tuple) else (slices,)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first towards the second."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise OpError(f"rot90: dims must name two dimensions, got {dims}")
    dim0, dim1 = _two_dims("rot90", input.ndim, *dims)
    k %= 4
    if k == 0:
        return input
    if k == 2:
        return flip(input, (dim0, dim1))
    if k == 1:
        return transpose(flip(input, dim1), dim0, dim1)
    return flip(transpose(input, dim0, dim1), dim1)


def clone(input: Tensor) -> Tensor:
    """A copy of ``input`` with its own data; the gradient passes through unchanged."""
    return Clone.apply(input)
