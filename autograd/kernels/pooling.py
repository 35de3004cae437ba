"""Pooling kernels on plain arrays: window maxima with their indices, window sums and their adjoint spread,
max-unpooling and adaptive max-pooling.

Each window is visited by kernel offset, not by pixel: for a kh x kw kernel (kd x kh x kw in 3-d) the kernels
take one strided slice of the padded batch per offset, holding that offset's element of every window at once.
They take (N, C, *spatial) arrays with any number of spatial dimensions and one ``PoolSpec``. The reference
kernels at the end reduce whole windows (``sliding_window_view``) instead; ``tests/test_kernels.py`` compares
the two.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..device import get_array_module
from . import parallel
from .conv import window_extent, window_slice


class PoolSpec(NamedTuple):
    """The windows of one pooling, one entry per spatial dimension ((H, W) for max_pool2d)."""

    kernel: tuple[int, ...]  # the window's size
    stride: tuple[int, ...]
    padding: tuple[int, ...]  # added on both sides
    dilation: tuple[int, ...]  # all 1 for average pooling
    ceil_mode: bool


def output_size(size: Sequence[int], spec: PoolSpec) -> tuple[int, ...]:
    """PyTorch's pooling output size; with ceil_mode, a last window that starts in the right padding is dropped.

    With ceil_mode a kernel may reach past the padded input (one window starting inside it), as in PyTorch.
    """
    out = []
    for n, k, s, p, d in zip(size, spec.kernel, spec.stride, spec.padding, spec.dilation):
        span = n + 2 * p - (d * (k - 1) + 1)
        o = (-(-span // s) if spec.ceil_mode else span // s) + 1
        if spec.ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
    return tuple(out)


def _taps(spec: PoolSpec, out_size: Sequence[int]) -> list[tuple[slice, ...]]:
    """For each kernel offset, in row-major order (the order in which a tie's first maximum wins), the index of
    the padded input that holds that offset's element of every window."""
    per_axis = [[window_slice(i * d, s, o) for i in range(k)]
                for k, d, s, o in zip(spec.kernel, spec.dilation, spec.stride, out_size)]
    return [(slice(None), slice(None)) + offset for offset in itertools.product(*per_axis)]


def _padded(x: np.ndarray, spec: PoolSpec, out_size: Sequence[int], fill: float | int | bool) -> np.ndarray:
    """``x`` with ``spec.padding`` elements of ``fill`` before it, grown to hold every window."""
    size = x.shape[2:]
    extent = [window_extent(o, k, s, d) for o, k, s, d in zip(out_size, spec.kernel, spec.stride, spec.dilation)]
    if not any(spec.padding) and all(e <= n for e, n in zip(extent, size)):
        return x
    padded = np.full_like(x, fill, shape=(*x.shape[:2], *(max(e, p + n) for e, p, n in zip(extent, spec.padding, size))))
    padded[(slice(None), slice(None), *(slice(p, p + n) for p, n in zip(spec.padding, size)))] = x
    return padded


def lowest(dtype: np.dtype) -> float | int | bool:
    """The padding of max-pooling: no value of ``dtype`` is below it (-inf would not fit an integer dtype)."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _flat_positions(coordinates: Sequence[np.ndarray], size: Sequence[int]) -> np.ndarray:
    """Where each tap of each window lies in a ``size`` volume, as a flat index, (K, *out) with the K taps in
    row-major order; ``coordinates[a]`` (k_a, o_a) is the position along axis a of window o's tap i."""
    dims = len(size)
    flat = np.zeros((), np.intp)
    for axis, (coordinate, n) in enumerate(zip(coordinates, size)):
        shape = [1] * (2 * dims)
        shape[axis], shape[dims + axis] = coordinate.shape
        flat = flat * n + coordinate.reshape(shape)
    return flat.reshape(-1, *flat.shape[dims:])


def _argmax_windows(taps: Sequence[np.ndarray], positions: np.ndarray, first: np.ndarray,
                    out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Max and argmax over the taps of every window: ``taps[k]`` (N, C, *out) holds each window's k-th element.

    ``positions[k]`` (*out) is the flat index in the input's spatial volume of each window's k-th element. As in
    PyTorch, the first maximum wins a tie, a NaN wins over everything (the last NaN of the window), and a
    window holding only the dtype's lowest value (-inf, like the padding) reports ``first`` (its first element
    inside the input).

    The running maximum is kept with which tap it came from, a small integer: choosing between index arrays
    with a mask costs 10x as much in numpy as the arithmetic below, and the indices are gathered once at the end.
    ``out``: C-contiguous (values, int64 indices) arrays to write the results to.
    """
    xp = get_array_module(taps[0])
    positions, first = xp.asarray(positions), xp.asarray(first)  # made from shapes, on the host: sent once
    if out is None:
        best = taps[0].copy()
    else:
        best = out[0]
        np.copyto(best, taps[0])
    which = np.zeros_like(best, dtype=np.min_scalar_type(len(taps) - 1))
    for k, tap in enumerate(taps[1:], 1):
        tap = xp.ascontiguousarray(tap)  # the strided window read once, for both passes below
        better = tap > best  # strictly: an equal maximum later in the window does not win
        np.maximum(best, tap, out=best)  # propagates NaN
        np.maximum(which, better * which.dtype.type(k), out=which)  # k only grows, so the latest better tap wins
    if np.isnan(best).any():
        # Rare. NaN is greater than nothing, so the loop above missed it: point each window holding NaNs at its last.
        for k, tap in enumerate(taps):
            np.copyto(which, k, where=np.isnan(tap), casting="unsafe")
    plane = math.prod(best.shape[2:])
    flat = which.reshape(*best.shape[:2], plane).astype(np.intp)
    flat *= plane
    flat += get_array_module(best).arange(plane)
    if out is None:
        index = positions.reshape(-1).take(flat).reshape(best.shape)
    else:
        index = out[1]
        # mode="clip": with out=, the default mode="raise" copies through a buffer (the indices are in range).
        positions.reshape(-1).take(flat, out=index.reshape(flat.shape), mode="clip")
    np.copyto(index, first, where=best == lowest(best.dtype))  # the padding holds it too: point at a real element
    return best, index


def max_pool(x: np.ndarray, spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of every window of ``x`` (N, C, *spatial), and where in the spatial volume it came from.

    Returns:
        values (N, C, *out) of x's dtype, and int64 flat indices into each channel's volume.
    """
    size = x.shape[2:]
    out_size = output_size(size, spec)
    padded = _padded(x, spec, out_size, lowest(x.dtype))
    starts = [np.arange(o) * s - p for o, s, p in zip(out_size, spec.stride, spec.padding)]  # of each window
    # The first tap of each window inside the input. Clipped, because a heavily dilated window can hold
    # only padding; it reports -inf then, and its index must still name an element of the volume.
    firsts = [np.minimum(start - d * (np.minimum(start, 0) // d), n - 1)
              for start, d, n in zip(starts, spec.dilation, size)]
    taps = [padded[tap] for tap in _taps(spec, out_size)]
    positions = _flat_positions([start + d * np.arange(k)[:, None] for start, k, d
                                 in zip(starts, spec.kernel, spec.dilation)], size)
    first = _flat_positions([first[None] for first in firsts], size)[0]
    if type(x) is not np.ndarray:  # a device array (CuPy's): the helper threads are CPU machinery
        return _argmax_windows(taps, positions, first)
    values = np.empty(taps[0].shape, x.dtype)
    index = np.empty(taps[0].shape, np.intp)

    def pool_chunk(start: int, stop: int) -> None:
        # The passes over the taps run on one slice of the batch while it is in the cache, on all cores: on
        # ResNet-18's 16x64x32x32 3x3 stride-2 pooling, 5.8 ms on one thread, 2.9 on two (CPU time, Xeon).
        _argmax_windows([tap[start:stop] for tap in taps], positions, first, (values[start:stop], index[start:stop]))

    parallel.in_batch_chunks(pool_chunk, len(x), len(taps) * values[:1].nbytes)
    return values, index


def window_sums(x: np.ndarray, spec: PoolSpec, dtype: np.dtype) -> np.ndarray:
    """The sum of every window of ``x`` (N, C, *spatial) zero-padded, added up in ``dtype``: (N, C, *out)."""
    out_size = output_size(x.shape[2:], spec)
    padded = _padded(x, spec, out_size, 0)
    first, *others = _taps(spec, out_size)
    total = padded[first].astype(dtype)  # a copy of the first taps, in which the others are added
    for tap in others:
        total += padded[tap]
    return total


def spread_windows(x: np.ndarray, spec: PoolSpec, size: Sequence[int]) -> np.ndarray:
    """Every window of a zero map of spatial ``size`` receives ``x`` (N, C, *out), added where windows overlap
    (the adjoint of ``window_sums``). Returns a view of x's dtype, of shape (N, C, *size)."""
    out_size = x.shape[2:]
    extent = [window_extent(o, k, s, 1) for o, k, s in zip(out_size, spec.kernel, spec.stride)]
    padded = np.zeros_like(x, shape=(*x.shape[:2], *(max(e, p + n) for e, p, n in zip(extent, spec.padding, size))))
    for tap in _taps(spec, out_size):
        padded[tap] += x
    return padded[(slice(None), slice(None), *(slice(p, p + n) for p, n in zip(spec.padding, size)))]


@functools.lru_cache(maxsize=256)
def window_divisor(size: tuple[int, ...], spec: PoolSpec, count_include_pad: bool,
                   divisor_override: int | None) -> np.ndarray:
    """For each output of average pooling (*out), what its window's sum is divided by: ``divisor_override`` if
    given, else the number of elements as PyTorch counts them, those of the window inside the padded input or
    (not ``count_include_pad``) inside the input itself.

    Kept per input size and settings, read-only: the pooling and its gradient divide by the same one, and
    computing it costs as much as pooling a small feature map.
    """
    out_size = output_size(size, spec)
    if divisor_override is not None:
        divisor = np.full(out_size, divisor_override)
    else:
        per_axis = []
        for n, k, s, p, o in zip(size, spec.kernel, spec.stride, spec.padding, out_size):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            per_axis.append(end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0))
        divisor = functools.reduce(np.multiply.outer, per_axis)
    divisor.flags.writeable = False
    return divisor


def max_unpool(x: np.ndarray, indices: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Zeros of (N, C, *size) with each value of ``x`` added at its flat index into its channel's volume."""
    n, c = x.shape[:2]
    plane = math.prod(size)
    out = np.zeros_like(x, shape=(n, c, plane))
    flat = indices.reshape(n * c, -1) + get_array_module(indices).arange(0, n * c * plane, plane)[:, None]
    np.add.at(out.reshape(-1), flat.reshape(-1), x.reshape(-1))
    return out.reshape(n, c, *size)


def adaptive_bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: bin i covers [floor(i * size / out), ceil((i + 1) * size / out))."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def adaptive_max_pool(x: np.ndarray, out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of every adaptive bin of ``x`` (N, C, H, W), and where in the H*W plane it came from."""
    h, w = x.shape[2:]
    (row_start, row_end), (col_start, col_end) = (adaptive_bins(size, count) for size, count in zip((h, w), out_size))
    # Offset i of every bin, clamped to the bin's last element: bins are shorter than the longest one,
    # and repeating an element changes neither the max nor (first one wins) its index.
    offsets = [(np.minimum(row_start + i, row_end - 1), np.minimum(col_start + j, col_end - 1))
               for i in range(int((row_end - row_start).max())) for j in range(int((col_end - col_start).max()))]
    xp = get_array_module(x)  # the bins come from sizes, on the host; the index arrays go to x's device
    taps = [x[:, :, xp.asarray(rows)[:, None], xp.asarray(cols)[None, :]] for rows, cols in offsets]
    positions = np.stack([rows[:, None] * w + cols[None, :] for rows, cols in offsets])
    return _argmax_windows(taps, positions, row_start[:, None] * w + col_start[None, :])


# ----------------------------------------------------------------------------- the reference kernels
def _whole_windows(x: np.ndarray, spec: PoolSpec, fill: float) -> np.ndarray:
    """Every window of ``x`` padded with ``fill``, a view (N, C, *out, *kernel)."""
    out_size = output_size(x.shape[2:], spec)
    padded = _padded(x, spec, out_size, fill)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel, spec.dilation))
    windows = sliding_window_view(padded, extent, axis=tuple(range(2, x.ndim)))
    starts = tuple(window_slice(0, s, o) for o, s in zip(out_size, spec.stride))
    return windows[(slice(None), slice(None), *starts, *(slice(None, None, d) for d in spec.dilation))]


def reference_max_pool(x: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """The maximum of every window, by definition (padding is the dtype's lowest value)."""
    return _whole_windows(x, spec, lowest(x.dtype)).max(axis=tuple(range(x.ndim, 2 * x.ndim - 2)))


def reference_window_sums(x: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """The sum of every zero-padded window, by definition."""
    return _whole_windows(x, spec, 0).sum(axis=tuple(range(x.ndim, 2 * x.ndim - 2)))
