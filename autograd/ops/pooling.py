"""Pooling: max, average and adaptive pooling over 2-d windows, and max-unpooling.

Each window is visited by kernel offset, not by pixel: for a kh x kw kernel the forward pass takes kh*kw
strided slices of the padded batch, each holding that offset's element of every window at once.

The gradients follow the CNN notes:

- max-pool sends each output gradient to the position its window's maximum came from: the gradient *is*
  max-unpooling with the saved indices (``MaxUnpool2d``), and unpooling's gradient gathers at those
  indices again, so double backward is one more gather.
- average pooling spreads each output gradient evenly over its window (``AvgSpread2d``). The two maps are
  adjoint, so the spread's own gradient is average pooling again.
- adaptive average pooling is linear and separable: ``A_h @ x @ A_w^T`` with row-averaging matrices, so it
  is written with matmul and inherits its gradients; a 1x1 output is a mean over the plane.

Average pooling adds float16 windows in float32 and rounds the averages, as PyTorch's CPU kernels do
(``reduction.accumulation_dtype``), and refuses integer inputs as PyTorch does. Max-pooling works in any
dtype: its padding is the dtype's lowest value.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import OpError
from ..function import Function
from ..tensor import Tensor, wrap
from .conv import _int_tuple
from .indexing import Gather
from .linalg import matmul
from .reduction import accumulation_dtype, check_floating

Pair = tuple[int, int]


def _window_slice(offset: int, dilation: int, stride: int, count: int) -> slice:
    """The rows (or columns) of the padded input holding one kernel offset's element of each window."""
    start = offset * dilation
    return slice(start, start + (count - 1) * stride + 1, stride)


def _padded(x: np.ndarray, padding: Pair, extent: Pair, fill: float) -> np.ndarray:
    """``x`` (N, C, H, W) with ``padding`` rows/columns of ``fill`` before it, grown to at least ``extent``."""
    n, c, h, w = x.shape
    (top, left), (rows, cols) = padding, extent
    if not top and not left and rows <= h and cols <= w:
        return x
    padded = np.full((n, c, max(rows, top + h), max(cols, left + w)), fill, x.dtype)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def _lowest(dtype: np.dtype) -> float | int | bool:
    """The padding of max-pooling: no value of ``dtype`` is below it (-inf would not fit an integer dtype)."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _argmax_windows(taps: Sequence[np.ndarray], positions: np.ndarray,
                    first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max and argmax over the taps of every window: ``taps[k]`` (N, C, Ho, Wo) holds each window's k-th element.

    ``positions[k]`` (Ho, Wo) is the flat index in the H*W input plane of each window's k-th element. As in
    PyTorch, the first maximum wins a tie, a NaN wins over everything (the last NaN of the window), and a
    window holding only the dtype's lowest value (-inf, like the padding) reports ``first`` (its first element
    inside the input).

    The running maximum is kept with which tap it came from, a small integer: choosing between index arrays
    with a mask costs 10x as much in numpy as the arithmetic below, and the indices are gathered once at the end.
    """
    best = taps[0].copy()
    which = np.zeros(best.shape, np.min_scalar_type(len(taps) - 1))
    for k, tap in enumerate(taps[1:], 1):
        tap = np.ascontiguousarray(tap)  # the strided window read once, for both passes below
        better = tap > best  # strictly: an equal maximum later in the window does not win
        np.maximum(best, tap, out=best)  # propagates NaN
        np.maximum(which, better * which.dtype.type(k), out=which)  # k only grows, so the latest better tap wins
    if np.isnan(best).any():
        # Rare. NaN is greater than nothing, so the loop above missed it: point each window holding NaNs at its last.
        for k, tap in enumerate(taps):
            np.copyto(which, k, where=np.isnan(tap), casting="unsafe")
    plane = best.shape[2] * best.shape[3]
    flat = which.reshape(*best.shape[:2], plane).astype(np.intp)
    flat *= plane
    flat += np.arange(plane)
    index = positions.reshape(-1).take(flat).reshape(best.shape)
    np.copyto(index, first, where=best == _lowest(best.dtype))  # the padding holds it too: point at a real element
    return best, index


class MaxPool2d(Function):
    """y = max over each window of x;  indices = where in the H*W plane each max came from."""

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, out_size: Pair):
        h, w = x.data.shape[2:]
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = kernel, stride, padding, dilation, out_size
        extent = ((ho - 1) * sh + (kh - 1) * dh + 1, (wo - 1) * sw + (kw - 1) * dw + 1)
        padded = _padded(x.data, padding, extent, _lowest(x.data.dtype))
        rows = np.arange(ho) * sh - ph  # input row of each window's first tap
        cols = np.arange(wo) * sw - pw
        # The first tap of each window inside the input. Clipped, because a heavily dilated window can hold
        # only padding; it reports -inf then, and its index must still name an element of the plane.
        first_row = np.minimum(rows - dh * (np.minimum(rows, 0) // dh), h - 1)
        first_col = np.minimum(cols - dw * (np.minimum(cols, 0) // dw), w - 1)
        offsets = [(i, j) for i in range(kh) for j in range(kw)]
        taps = [padded[:, :, _window_slice(i, dh, sh, ho), _window_slice(j, dw, sw, wo)] for i, j in offsets]
        positions = np.stack([(rows + i * dh)[:, None] * w + (cols + j * dw)[None, :] for i, j in offsets])
        values, indices = _argmax_windows(taps, positions, first_row[:, None] * w + first_col[None, :])
        ctx.input_size = (h, w)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad: Tensor, grad_indices: Tensor):
        (indices,) = ctx.saved_tensors
        # Max-pool's gradient is max-unpooling: each value goes back to where its maximum was.
        return MaxUnpool2d.apply(grad, indices, ctx.input_size), None, None, None, None, None


class MaxUnpool2d(Function):
    """y = zeros of (N, C, H, W) with y.flat_plane[indices] += x (the adjoint of gathering at ``indices``).

    Repeated indices (overlapping max-pool windows sharing a maximum) add up, which is what makes this the
    gradient of max-pooling.
    """

    @staticmethod
    def forward(ctx, x: Tensor, indices: np.ndarray, size: Pair) -> np.ndarray:
        n, c = x.data.shape[:2]
        plane = size[0] * size[1]
        out = np.zeros((n, c, plane), x.data.dtype)
        flat = indices.reshape(n * c, -1) + np.arange(0, n * c * plane, plane)[:, None]
        np.add.at(out.reshape(-1), flat.reshape(-1), x.data.reshape(-1))
        ctx.indices = indices
        ctx.out_size = x.data.shape
        return out.reshape(n, c, *size)

    @staticmethod
    def backward(ctx, grad: Tensor):
        n, c = grad.shape[:2]
        # Unpooling's gradient reads each output gradient back at the index it was written to.
        gathered = Gather.apply(grad.reshape(n, c, -1), 2, ctx.indices.reshape(n, c, -1))
        return gathered.reshape(*ctx.out_size), None, None


def _avg_divisor(size: int, kernel: int, stride: int, padding: int, out: int, count_include_pad: bool) -> np.ndarray:
    """Per output row (or column): how many of its window's rows the average divides by, as PyTorch counts them."""
    start = np.arange(out) * stride - padding
    end = np.minimum(start + kernel, size + padding)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


class AvgPool2d(Function):
    """y = sum of x over each window / divisor."""

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, out_size: Pair,
                divisor: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_size
        extent = ((ho - 1) * sh + kh, (wo - 1) * sw + kw)
        padded = _padded(x.data, padding, extent, 0.0)
        # A copy of the first taps, in which the others are added: in float32 for a float16 input.
        accumulation = accumulation_dtype(x.data.dtype)
        total = padded[:, :, _window_slice(0, 1, sh, ho), _window_slice(0, 1, sw, wo)].astype(accumulation)
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    total += padded[:, :, _window_slice(i, 1, sh, ho), _window_slice(j, 1, sw, wo)]
        ctx.kernel, ctx.stride, ctx.padding, ctx.divisor = kernel, stride, padding, divisor
        ctx.input_size = x.data.shape[2:]
        total /= divisor.astype(accumulation, copy=False)
        return total.astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        # Average pooling's gradient spreads each value evenly over its window.
        spread = AvgSpread2d.apply(grad, ctx.kernel, ctx.stride, ctx.padding, ctx.input_size, ctx.divisor)
        return spread, None, None, None, None, None


class AvgSpread2d(Function):
    """y = every window of an (H, W) zero map receives x / divisor (added where windows overlap).

    The adjoint of AvgPool2d with the same arguments.
    """

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, size: Pair,
                divisor: np.ndarray) -> np.ndarray:
        n, c, ho, wo = x.data.shape
        (kh, kw), (sh, sw), (ph, pw), (h, w) = kernel, stride, padding, size
        # Overlapping windows add up in float32 for a float16 input.
        accumulation = accumulation_dtype(x.data.dtype)
        share = x.data / divisor.astype(accumulation, copy=False)
        padded = np.zeros((n, c, max((ho - 1) * sh + kh, ph + h), max((wo - 1) * sw + kw, pw + w)), accumulation)
        for i in range(kh):
            for j in range(kw):
                padded[:, :, _window_slice(i, 1, sh, ho), _window_slice(j, 1, sw, wo)] += share
        ctx.kernel, ctx.stride, ctx.padding, ctx.divisor = kernel, stride, padding, divisor
        ctx.out_size = (ho, wo)
        return padded[:, :, ph:ph + h, pw:pw + w].astype(x.data.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        pooled = AvgPool2d.apply(grad, ctx.kernel, ctx.stride, ctx.padding, ctx.out_size, ctx.divisor)
        return pooled, None, None, None, None, None


def _check_input(op: str, input: Tensor) -> None:
    if input.ndim not in (3, 4):
        raise OpError(f"{op}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape {input.shape}")


def _pool_output_size(op: str, size: Sequence[int], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                      ceil_mode: bool) -> Pair:
    """PyTorch's pooling output size; with ceil_mode, a last window that starts in the right padding is dropped.

    With ceil_mode a kernel may reach past the padded input (one window starting inside it), as in PyTorch.
    """
    out = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        if p > k // 2:
            raise OpError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
        span = n + 2 * p - (d * (k - 1) + 1)
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            raise OpError(f"{op}: kernel {kernel} (dilation {dilation}) is larger than the input "
                          f"{size[0]}x{size[1]} with padding {padding}")
        out.append(o)
    return out[0], out[1]


def _unbatched(op, input: Tensor, *args, **kwargs):
    """Run the batched ``op`` on a (C, H, W) input as a batch of one."""
    result = op(input.unsqueeze(0), *args, **kwargs)
    if isinstance(result, tuple):
        return tuple(part.squeeze(0) for part in result)
    return result.squeeze(0)


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """2-d max pooling: the largest value of each window.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows; defaults to ``kernel_size``.
        padding: -inf added on each side, at most half the kernel size.
        dilation: spacing between window taps.
        ceil_mode: round the output size up instead of down (windows may run past the bottom/right edge).
        return_indices: also return, for each output, the flat index into its H*W input plane of the maximum
            (the input of ``max_unpool2d``): the first one on ties, the last NaN if the window holds NaNs, as in
            PyTorch.

    Shape:
        output: (N, C, H_out, W_out) with H_out = floor_or_ceil((H + 2 pH - dH (kH - 1) - 1) / sH) + 1.

    Returns:
        the pooled tensor, or (pooled, indices) with int64 indices.
    """
    op = "max_pool2d"
    _check_input(op, input)
    if input.ndim == 3:
        return _unbatched(max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    kernel = _int_tuple(kernel_size, 2, "kernel_size", op, 1)
    stride = kernel if stride is None else _int_tuple(stride, 2, "stride", op, 1)
    padding = _int_tuple(padding, 2, "padding", op, 0)
    dilation = _int_tuple(dilation, 2, "dilation", op, 1)
    out_size = _pool_output_size(op, input.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    values, indices = MaxPool2d.apply(input, kernel, stride, padding, dilation, out_size)
    return (values, indices) if return_indices else values


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-d average pooling: the mean of each window.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows; defaults to ``kernel_size``.
        padding: zeros added on each side, at most half the kernel size.
        ceil_mode: round the output size up instead of down.
        count_include_pad: divide by the window size including padding (but not past the padded edge, which
            only ceil_mode windows reach); otherwise by the number of real input elements in the window.
        divisor_override: divide every window sum by this instead.

    Shape:
        output: (N, C, H_out, W_out) with H_out = floor_or_ceil((H + 2 pH - kH) / sH) + 1.

    Returns:
        Tensor of the input's dtype (a floating point one; float16 windows are added in float32).
    """
    op = "avg_pool2d"
    _check_input(op, input)
    check_floating(op, input)
    if input.ndim == 3:
        return _unbatched(avg_pool2d, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override)
    kernel = _int_tuple(kernel_size, 2, "kernel_size", op, 1)
    stride = kernel if stride is None else _int_tuple(stride, 2, "stride", op, 1)
    padding = _int_tuple(padding, 2, "padding", op, 0)
    out_size = _pool_output_size(op, input.shape[2:], kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None:
        if divisor_override == 0:
            raise OpError(f"{op}: divisor_override must be non-zero")
        divisor = np.full(out_size, divisor_override)
    else:
        rows, cols = (_avg_divisor(n, k, s, p, o, count_include_pad)
                      for n, k, s, p, o in zip(input.shape[2:], kernel, stride, padding, out_size))
        divisor = rows[:, None] * cols[None, :]
    return AvgPool2d.apply(input, kernel, stride, padding, out_size, divisor)


def _adaptive_bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: bin i covers [floor(i * size / out), ceil((i + 1) * size / out))."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_output_size(op: str, input: Tensor, output_size: int | None | Sequence[int | None]) -> Pair:
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2:
        raise OpError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    # None keeps the input's size, as in PyTorch.
    out = tuple(n if o is None else o for o, n in zip(sizes, input.shape[-2:]))
    if min(out) < 1 or min(input.shape[-2:]) < 1:
        raise OpError(f"{op}: output_size {output_size!r} and input size {input.shape[-2:]} must be positive")
    return out[0], out[1]


def adaptive_avg_pool2d(input: Tensor, output_size: int | None | Sequence[int | None]) -> Tensor:
    """2-d average pooling to a fixed output size; bins need not divide the input evenly.

    Output row i averages input rows floor(i H / H_out) to ceil((i + 1) H / H_out) - 1 (bins may overlap by a
    row when H_out does not divide H), and likewise for columns.

    Args:
        input: (N, C, H, W) or (C, H, W), floating point.
        output_size: (H_out, W_out), or one int for both; None keeps that input dimension.

    Returns:
        Tensor of shape (..., H_out, W_out) and the input's dtype.
    """
    op = "adaptive_avg_pool2d"
    _check_input(op, input)
    check_floating(op, input)
    out = _adaptive_output_size(op, input, output_size)
    if out == (1, 1):
        # Global average pooling, the usual head of a CNN. numpy multiplies the stacked averaging matrices below
        # one 8x8 plane at a time, 6x slower than a mean over the plane (whose gradient is a broadcast view).
        return input.mean((-2, -1), keepdim=True)
    # The average is separable: rows @ x @ cols^T, with each bin's row of ``rows`` holding 1/len(bin).
    averaging = []
    for size, count in zip(input.shape[-2:], out):
        start, end = _adaptive_bins(size, count)
        positions = np.arange(size)
        inside = (positions >= start[:, None]) & (positions < end[:, None])
        averaging.append(wrap((inside / (end - start)[:, None]).astype(input.dtype)))
    return matmul(matmul(averaging[0], input), averaging[1].mT)


def adaptive_max_pool2d(input: Tensor, output_size: int | None | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """2-d max pooling to a fixed output size, with the bins of ``adaptive_avg_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: (H_out, W_out), or one int for both; None keeps that input dimension.
        return_indices: also return the flat H*W index of each maximum: the first one on ties, the last NaN
            if the bin holds NaNs, as in PyTorch.

    Returns:
        the pooled tensor, or (pooled, indices) with int64 indices.
    """
    op = "adaptive_max_pool2d"
    _check_input(op, input)
    if input.ndim == 3:
        return _unbatched(adaptive_max_pool2d, input, output_size, return_indices)
    out = _adaptive_output_size(op, input, output_size)
    values, indices = AdaptiveMaxPool2d.apply(input, out)
    return (values, indices) if return_indices else values


class AdaptiveMaxPool2d(Function):
    """y = max of x over each adaptive bin;  indices = where in the H*W plane each max came from."""

    @staticmethod
    def forward(ctx, x: Tensor, out_size: Pair):
        h, w = x.data.shape[2:]
        (row_start, row_end), (col_start, col_end) = (_adaptive_bins(size, count)
                                                      for size, count in zip((h, w), out_size))
        # Offset i of every bin, clamped to the bin's last element: bins are shorter than the longest one,
        # and repeating an element changes neither the max nor (first one wins) its index.
        offsets = [(np.minimum(row_start + i, row_end - 1), np.minimum(col_start + j, col_end - 1))
                   for i in range(int((row_end - row_start).max())) for j in range(int((col_end - col_start).max()))]
        taps = [x.data[:, :, rows[:, None], cols[None, :]] for rows, cols in offsets]
        positions = np.stack([rows[:, None] * w + cols[None, :] for rows, cols in offsets])
        values, indices = _argmax_windows(taps, positions, row_start[:, None] * w + col_start[None, :])
        ctx.input_size = (h, w)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad: Tensor, grad_indices: Tensor):
        (indices,) = ctx.saved_tensors
        return MaxUnpool2d.apply(grad, indices, ctx.input_size), None


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value goes back to the position its index names; zeros elsewhere.

    This is SegNet's upsampling with pooling indices. Unlike PyTorch, which keeps an arbitrary one of several
    values sent to the same position, repeated indices add up (so that this is exactly max-pool's gradient).

    Args:
        input: (N, C, H, W) or (C, H, W), e.g. the output of ``max_pool2d``.
        indices: int tensor of the input's shape: flat indices into each output plane (``return_indices=True``).
        kernel_size, stride, padding: those of the max-pool being inverted (stride defaults to kernel_size).
        output_size: (H_out, W_out) (extra leading entries are ignored) to pick among the sizes that pool to
            the input's size; defaults to (H - 1) sH - 2 pH + kH.

    Returns:
        Tensor of shape (..., H_out, W_out).
    """
    op = "max_unpool2d"
    _check_input(op, input)
    index_array = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if index_array.shape != input.shape or index_array.dtype.kind not in "iu":
        raise OpError(f"{op}: indices must be integers of the input's shape {input.shape}, got "
                      f"{index_array.dtype} of shape {index_array.shape}")
    kernel = _int_tuple(kernel_size, 2, "kernel_size", op, 1)
    stride = kernel if stride is None else _int_tuple(stride, 2, "stride", op, 1)
    padding = _int_tuple(padding, 2, "padding", op, 0)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(input.shape[-2:], stride, padding, kernel))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in tuple(output_size)[-2:])
        if len(size) != 2 or any(not d - s < o < d + s for o, d, s in zip(size, default, stride)):
            raise ValueError(f"{op}: output_size {tuple(output_size)} must be within stride {stride} of the "
                             f"default size {default}")
    plane = size[0] * size[1]
    if index_array.size and (index_array.min() < 0 or index_array.max() >= plane):
        bad = index_array.min() if index_array.min() < 0 else index_array.max()
        raise OpError(f"{op}: index {bad} is out of range for an output plane of {size[0]}x{size[1]} "
                      f"({plane} elements)")
    if input.ndim == 3:
        return MaxUnpool2d.apply(input.unsqueeze(0), index_array[None], size).squeeze(0)
    return MaxUnpool2d.apply(input, index_array, size)
