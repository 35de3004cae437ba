"""Shape ops: reshape, permute, broadcast (expand) and its adjoint (sum_to), flip, cat, cast.

None of these does arithmetic, so each backward is the inverse rearrangement of the gradient:
reshape back, permute by the inverse permutation, and, for broadcasting, a sum over the
broadcast axes ("the adjoint of broadcasting is a sum").
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import DimensionError, OpError
from ..function import Function
from ..tensor import Tensor


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise DimensionError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def sum_to(tensor: Tensor, shape: tuple) -> Tensor:
    """Sum ``tensor`` down to ``shape`` (the adjoint of broadcasting ``shape`` to ``tensor.shape``)."""
    if tensor.data.shape == shape:
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


def squeeze(tensor: Tensor, dim: int | None = None) -> Tensor:
    """Remove size-1 dimensions (only ``dim`` when given, and only if it has size 1)."""
    if dim is None:
        return reshape(tensor, tuple(size for size in tensor.shape if size != 1))
    dim = _normalize_dim(dim, tensor.ndim, "squeeze")
    if tensor.shape[dim] != 1:
        return tensor
    return reshape(tensor, tensor.shape[:dim] + tensor.shape[dim + 1:])


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
