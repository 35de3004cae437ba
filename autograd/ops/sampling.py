"""Sampling at arbitrary positions: ``affine_grid`` and ``grid_sample`` (spatial transformer networks,
Jaderberg et al. 2015).

``affine_grid`` is a matmul of a fixed grid of normalised coordinates with each theta. ``grid_sample`` is a
composition too: the input is gathered at the integer corners around each sampling position (``Gather``, whose
gradient scatters back) and the corners are weighted by the position's fractional part, a Tensor computed from
the grid. The corner indices are constants (floor is flat almost everywhere), so the gradient with respect to
the grid comes from the weights alone, as in PyTorch; both gradients can be differentiated again.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..tensor import Tensor, wrap
from .indexing import where
from .linalg import matmul

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING_MODES = ("zeros", "border", "reflection")


def _base_coordinates(size: int, align_corners: bool, dtype: np.dtype, xp: Any) -> np.ndarray:
    """Normalised [-1, 1] coordinates of ``size`` pixels: their centres, or (align_corners) their corners, made
    by the array module ``xp`` of theta's device."""
    coordinates = xp.linspace(-1.0, 1.0, size) if size > 1 else xp.zeros(1)
    if not align_corners:
        coordinates = coordinates * (size - 1) / size
    return coordinates.astype(dtype)


def affine_grid(theta: Tensor, size: tuple[int, ...], align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of affine maps, for ``grid_sample``: output pixel (h, w) samples the input at
    ``theta @ (x_w, y_h, 1)``, in coordinates normalised to [-1, 1].

    Args:
        theta: (N, 2, 3) affine matrices (or (N, 3, 4) for volumes).
        size: the output size (N, C, H, W) (or (N, C, D, H, W)).
        align_corners: -1 and 1 are the centres of the corner pixels (True) or their outer edges (False, the
            default); use the same value in ``grid_sample``.

    Returns:
        (N, H, W, 2) grid of (x, y) positions (or (N, D, H, W, 3) of (x, y, z)), differentiable in theta.
    """
    op = "affine_grid"
    size = tuple(int(s) for s in size)
    dims = len(size) - 2
    if dims not in (2, 3) or theta.ndim != 3 or tuple(theta.shape) != (size[0], dims, dims + 1):
        raise OpError(f"{op}: expected theta of shape (N, 2, 3) for a 4-d size or (N, 3, 4) for a 5-d size, with "
                      f"N = size[0]; got theta {tuple(theta.shape)} and size {size}")
    if theta.dtype.kind != "f":
        raise OpError(f"{op}: theta must be floating point, got {theta.dtype}")
    if min(size[2:]) < 1:
        raise OpError(f"{op}: size {size} must be positive")
    spatial = size[2:][::-1]  # W, H(, D): x runs along the last dimension
    xp = get_array_module(theta)
    axes = [_base_coordinates(n, bool(align_corners), theta.dtype, xp) for n in spatial]
    mesh = xp.meshgrid(*axes[::-1], indexing="ij")[::-1]  # (x, y(, z)), each of shape (H, W) or (D, H, W)
    base = xp.stack([*mesh, xp.ones_like(mesh[0])], -1).reshape(1, -1, dims + 1)
    grid = matmul(wrap(base), theta.mT)
    return grid.reshape(size[0], *size[2:], dims)


def _unnormalize(coordinate: Tensor, size: int, align_corners: bool) -> Tensor:
    """[-1, 1] to pixel indices: -1 and 1 are the corner pixels' centres (align_corners) or outer edges."""
    if align_corners:
        return (coordinate + 1) * ((size - 1) / 2)
    return ((coordinate + 1) * size - 1) / 2


def _reflect(coordinate: Tensor, low: float, high: float) -> Tensor:
    """Fold ``coordinate`` into [low, high] by mirroring at the ends, as often as needed (PyTorch's
    ``reflect_coordinates``); the fold count is a constant, so each piece is linear in the coordinate."""
    if high <= low:
        return coordinate * 0 + low
    span = high - low
    distance = (coordinate - low).abs()
    flips = np.floor(distance.data / span)
    extra = distance - wrap(flips * span)
    return where(flips % 2 == 0, extra + low, (span - extra) + low)


def _pad_position(position: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A pixel position moved inside the input as ``padding_mode`` says (zeros: left where it is)."""
    if padding_mode == "border":
        return position.clamp(0, size - 1)
    if padding_mode == "reflection":
        low, high = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
        return _reflect(position, low, high).clamp(0, size - 1)
    return position


def _source(coordinate: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    return _pad_position(_unnormalize(coordinate, size, align_corners), size, padding_mode, align_corners)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    """Keys' cubic convolution weights (a = -0.75, as PyTorch) of the taps at distances 1 + t, t, 1 - t and 2 - t
    from the position, t its fractional part."""
    a = -0.75
    near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1  # |d| <= 1
    far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a  # 1 < |d| < 2
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the positions ``grid`` holds: output (n, c, h, w) is input n, channel c, read at
    ``grid[n, h, w] = (x, y)`` in coordinates normalised to [-1, 1] (x along W, y along H); for volumes
    ``grid[n, d, h, w] = (x, y, z)`` (z along D).

    Args:
        input: (N, C, H, W) or (N, C, D, H, W), floating point.
        grid: (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3), e.g. from ``affine_grid``.
        mode: ``'bilinear'`` (the 4 surrounding pixels, weighted; trilinear over the 8 surrounding voxels of a
            volume), ``'nearest'`` (the nearest pixel, halves to even; no gradient with respect to the grid) or
            ``'bicubic'`` (4-d only: the 16 surrounding pixels with Keys' weights, a = -0.75; padding applies to
            each of them, as in PyTorch).
        padding_mode: values outside the input: ``'zeros'``, ``'border'`` (the edge pixel: positions clamped) or
            ``'reflection'`` (positions mirrored at the border).
        align_corners: -1 and 1 are the centres of the corner pixels (True) or their outer edges (False, the
            default).

    Shape:
        output: (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out).

    Returns:
        Tensor of the input's dtype, differentiable in input and grid.
    """
    op = "grid_sample"
    if mode not in _MODES:
        raise OpError(f"{op}: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if padding_mode not in _PADDING_MODES:
        raise OpError(f"{op}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, "
                      f"got {padding_mode!r}")
    dims = input.ndim - 2
    if dims not in (2, 3) or grid.ndim != input.ndim or grid.shape[-1] != dims or grid.shape[0] != input.shape[0]:
        raise OpError(f"{op}: expected input (N, C, H, W) and grid (N, H_out, W_out, 2), or input (N, C, D, H, W) "
                      f"and grid (N, D_out, H_out, W_out, 3), with the same N; got {tuple(input.shape)} and "
                      f"{tuple(grid.shape)}")
    if input.dtype.kind != "f" or grid.dtype != input.dtype:
        raise OpError(f"{op}: input and grid must have the same floating dtype, got {input.dtype} and {grid.dtype}")
    if mode == "bicubic" and dims != 2:
        raise OpError(f"{op}: bicubic interpolation needs a 4-d input, got shape {tuple(input.shape)}")
    batch, channels = input.shape[:2]
    sizes = input.shape[2:]  # (H, W) or (D, H, W); grid coordinate i runs along sizes[-1 - i]
    out_size = grid.shape[1:-1]
    align = bool(align_corners)
    # Each spatial dimension's source position, in the input's dimension order.
    positions = [_source(grid[..., dims - 1 - axis], size, padding_mode, align) for axis, size in enumerate(sizes)]
    flat = input.reshape(batch, channels, -1)
    strides = np.cumprod((1,) + sizes[:0:-1])[::-1]  # flat-index step of each spatial dimension

    def read(corner: list[np.ndarray]) -> Tensor:
        """input[n, :, *corner] (N, C, *out_size), 0 where the corner is outside the input."""
        # Pairwise, not np.logical_and.reduce(list): that would stack the device arrays into a host array first.
        inside = functools.reduce(np.logical_and,
                                  [(index >= 0) & (index < size) for index, size in zip(corner, sizes)])
        index = sum(np.clip(i, 0, size - 1) * stride for i, size, stride in zip(corner, sizes, strides))
        index = index.reshape(batch, 1, -1)
        values = flat.gather(2, np.broadcast_to(index, (batch, channels, index.shape[-1])).copy())
        values = values.reshape(batch, channels, *out_size)
        return values if inside.all() else values * wrap(inside[:, None].astype(input.dtype))

    if mode == "nearest":
        return read([np.rint(position.data).astype(np.int64) for position in positions])
    if mode == "bicubic":
        return _bicubic(grid, sizes, padding_mode, align, read)
    lows = [np.floor(position.data) for position in positions]
    # The weight of the upper neighbour along each dimension is the position's fractional part.
    uppers = [(position - wrap(low)).unsqueeze(1) for position, low in zip(positions, lows)]
    lows = [low.astype(np.int64) for low in lows]
    result = None
    for corner in itertools.product((0, 1), repeat=dims):
        weight = None
        for upper, step in zip(uppers, corner):
            factor = upper if step else 1 - upper
            weight = factor if weight is None else weight * factor
        term = read([low + step for low, step in zip(lows, corner)]) * weight
        result = term if result is None else result + term
    return result


def _bicubic(grid: Tensor, sizes: tuple[int, int], padding_mode: str, align_corners: bool, read) -> Tensor:
    """Bicubic sampling: the 4 x 4 pixels around each position, weighted by Keys' kernel of the position's
    fractional parts. As in PyTorch the position is not padded; each tap is (and zeros padding reads 0 outside)."""
    height, width = sizes
    x = _unnormalize(grid[..., 0], width, align_corners)
    y = _unnormalize(grid[..., 1], height, align_corners)
    left, top = np.floor(x.data), np.floor(y.data)
    x_weights = _cubic_weights((x - wrap(left)).unsqueeze(1))
    y_weights = _cubic_weights((y - wrap(top)).unsqueeze(1))

    def tap(start: np.ndarray, offset: int, size: int) -> np.ndarray:
        index = wrap(start + offset)
        if padding_mode != "zeros":
            index = _pad_position(index, size, padding_mode, align_corners)
        return np.rint(index.data).astype(np.int64)

    result = None
    for j, y_weight in enumerate(y_weights):
        row = tap(top, j - 1, height)
        for i, x_weight in enumerate(x_weights):
            term = read([row, tap(left, i - 1, width)]) * (y_weight * x_weight)
            result = term if result is None else result + term
    return result
