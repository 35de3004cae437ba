"""Pooling: max and average pooling over 2-d and 3-d windows, adaptive pooling, and max-unpooling.

The array work is in ``autograd/kernels/pooling.py``: each window is visited by kernel offset, not by pixel,
one strided slice of the padded batch per offset holding that offset's element of every window at once.

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

import math
from typing import Any, Sequence

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..function import Function
from ..kernels.conv import window_extent
from ..kernels.pooling import (
    PoolSpec, adaptive_bins, adaptive_max_pool, max_pool, max_unpool, output_size, spread_windows, window_divisor,
    window_sums,
)
from ..tensor import Tensor, wrap
from .arguments import batched_call, collapsed, int_tuple, non_default, size_text
from .indexing import Gather
from .linalg import matmul
from .reduction import accumulation_dtype, check_floating

Pair = tuple[int, int]


def _window_attributes(spec: PoolSpec) -> dict[str, Any]:
    kernel = collapsed(spec.kernel)
    return {"kernel_size": kernel, **non_default(stride=(spec.stride, kernel), padding=(spec.padding, 0),
                                                 dilation=(spec.dilation, 1), ceil_mode=(spec.ceil_mode, False))}


def _keep_indices(ctx, x: Tensor, values: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What max-unpooling, the gradient, needs: the input's size and the indices (which get no gradient)."""
    ctx.input_size = x.data.shape[2:]
    ctx.save_for_backward(indices)
    ctx.mark_non_differentiable(indices)
    return values, indices


class _WindowMax(Function):
    """y = the maximum of each window (or adaptive bin) of x, indices = where in the input's spatial volume it
    came from;  dx = max_unpool(grad, indices). What max-pooling and adaptive max-pooling share."""

    @staticmethod
    def backward(ctx, grad: Tensor, grad_indices: Tensor):
        (indices,) = ctx.saved_tensors
        # Max-pool's gradient is max-unpooling: each value goes back to where its maximum was.
        return _max_unpool(grad, indices, ctx.input_size), None


class _MaxPool(_WindowMax):
    """y = max over each window of x;  indices = where in the spatial volume each max came from."""

    @staticmethod
    def forward(ctx, x: Tensor, spec: PoolSpec):
        ctx.spec = spec
        return _keep_indices(ctx, x, *max_pool(x.data, spec))

    def attributes(self) -> dict[str, Any]:
        return _window_attributes(self.spec)


class MaxPool2d(_MaxPool):
    """y = max over each window of x;  indices = where in the H*W plane each max came from;  dx = MaxUnpool2d(grad)."""


class MaxPool3d(_MaxPool):
    """y = max over each window of x;  indices = where in the D*H*W volume each max came from;  dx = MaxUnpool3d."""


class AdaptiveMaxPool2d(_WindowMax):
    """y = max of x over each adaptive bin;  indices = where in the H*W plane each max came from."""

    @staticmethod
    def forward(ctx, x: Tensor, out_size: Pair):
        ctx.output_size = out_size
        return _keep_indices(ctx, x, *adaptive_max_pool(x.data, out_size))

    def attributes(self) -> dict[str, Any]:
        return {"output_size": collapsed(self.output_size)}


class _MaxUnpool(Function):
    """y = zeros of (N, C, *size) with y.flat_volume[indices] += x (the adjoint of gathering at ``indices``).

    Repeated indices (overlapping max-pool windows sharing a maximum) add up, which is what makes this the
    gradient of max-pooling.
    """

    @staticmethod
    def forward(ctx, x: Tensor, indices: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
        ctx.save_for_backward(indices)  # of x's shape; freed after backward
        return max_unpool(x.data, indices, size)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (indices,) = ctx.saved_tensors
        n, c = grad.shape[:2]
        # Unpooling's gradient reads each output gradient back at the index it was written to.
        gathered = Gather.apply(grad.reshape(n, c, -1), 2, indices.reshape(n, c, -1))
        return gathered.reshape(indices.shape), None, None

    def attributes(self) -> dict[str, Any]:
        return {}  # its one setting, the output size, is its output's shape


class MaxUnpool2d(_MaxUnpool):
    """y = zeros of (N, C, H, W) with y.flat_plane[indices] += x (max_pool2d's gradient, max_unpool2d)."""


class MaxUnpool3d(_MaxUnpool):
    """y = zeros of (N, C, D, H, W) with y.flat_volume[indices] += x (max_pool3d's gradient)."""


def _max_unpool(x: Tensor, indices: np.ndarray, size: tuple[int, ...]) -> Tensor:
    return (MaxUnpool2d if len(size) == 2 else MaxUnpool3d).apply(x, indices, size)


class _AvgPool(Function):
    """y = sum of x over each window / divisor;  dx = avg_spread(grad)."""

    @staticmethod
    def forward(ctx, x: Tensor, spec: PoolSpec, count_include_pad: bool,
                divisor_override: int | None) -> np.ndarray:
        size = x.data.shape[2:]
        # The windows are added in float32 for a float16 input.
        accumulation = accumulation_dtype(x.data.dtype)
        total = window_sums(x.data, spec, accumulation)
        ctx.spec, ctx.count_include_pad, ctx.divisor_override = spec, count_include_pad, divisor_override
        ctx.input_size = size
        # The divisors come from shapes (host memory): sent to the data's device.
        total /= get_array_module(total).asarray(window_divisor(size, spec, count_include_pad, divisor_override),
                                                 dtype=accumulation)
        return total.astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        # Average pooling's gradient spreads each value evenly over its window.
        spread = _avg_spread(grad, ctx.spec, ctx.count_include_pad, ctx.divisor_override, ctx.input_size)
        return spread, None, None, None

    def attributes(self) -> dict[str, Any]:
        return _avg_attributes(self)


class AvgPool2d(_AvgPool):
    """y = sum of x over each 2-d window / divisor;  dx = AvgSpread2d(grad)."""


class AvgPool3d(_AvgPool):
    """y = sum of x over each 3-d window / divisor;  dx = AvgSpread3d(grad)."""


class _AvgSpread(Function):
    """y = every window of a zero map of the pooled input's ``size`` receives x / divisor (added where windows
    overlap);  dx = avg_pool(grad). The adjoint of average pooling with the same arguments."""

    @staticmethod
    def forward(ctx, x: Tensor, spec: PoolSpec, count_include_pad: bool, divisor_override: int | None,
                size: tuple[int, ...]) -> np.ndarray:
        # Overlapping windows add up in float32 for a float16 input.
        accumulation = accumulation_dtype(x.data.dtype)
        divisor = get_array_module(x.data).asarray(window_divisor(size, spec, count_include_pad, divisor_override))
        share = x.data / divisor.astype(accumulation, copy=False)
        ctx.spec, ctx.count_include_pad, ctx.divisor_override = spec, count_include_pad, divisor_override
        return spread_windows(share, spec, size).astype(x.data.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        pooled = _avg_pool(grad, ctx.spec, ctx.count_include_pad, ctx.divisor_override)
        return pooled, None, None, None, None

    def attributes(self) -> dict[str, Any]:
        return _avg_attributes(self)


class AvgSpread2d(_AvgSpread):
    """y = every 2-d window receives x / divisor (AvgPool2d's adjoint);  dx = avg_pool2d(grad)."""


class AvgSpread3d(_AvgSpread):
    """y = every 3-d window receives x / divisor (AvgPool3d's adjoint);  dx = avg_pool3d(grad)."""


def _avg_attributes(node: _AvgPool | _AvgSpread) -> dict[str, Any]:
    return {**_window_attributes(node.spec), **non_default(count_include_pad=(node.count_include_pad, True),
                                                           divisor_override=(node.divisor_override, None))}


def _avg_pool(x: Tensor, spec: PoolSpec, count_include_pad: bool, divisor_override: int | None) -> Tensor:
    return (AvgPool2d if len(spec.kernel) == 2 else AvgPool3d).apply(x, spec, count_include_pad, divisor_override)


def _avg_spread(x: Tensor, spec: PoolSpec, count_include_pad: bool, divisor_override: int | None,
                size: tuple[int, ...]) -> Tensor:
    return (AvgSpread2d if len(spec.kernel) == 2 else AvgSpread3d).apply(x, spec, count_include_pad,
                                                                          divisor_override, size)


_LAYOUTS = {1: "C, L", 2: "C, H, W", 3: "C, D, H, W"}


def _check_input(op: str, input: Tensor, spatial_dims: int = 2) -> None:
    if input.ndim not in (spatial_dims + 1, spatial_dims + 2):
        layout = _LAYOUTS[spatial_dims]
        raise OpError(f"{op}: expected a {spatial_dims + 1}-d ({layout}) or {spatial_dims + 2}-d (N, {layout}) "
                      f"input, got shape {input.shape}")


def _pool_spec(op: str, size: Sequence[int], kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
               padding: int | Sequence[int], dilation: int | Sequence[int], ceil_mode: bool) -> PoolSpec:
    """Validate a pooling's arguments for an input of spatial ``size``; return its spec."""
    dims = len(size)
    kernel = int_tuple(kernel_size, dims, "kernel_size", op, 1)
    stride = kernel if stride is None else int_tuple(stride, dims, "stride", op, 1)
    padding = int_tuple(padding, dims, "padding", op, 0)
    dilation = int_tuple(dilation, dims, "dilation", op, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise OpError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    spec = PoolSpec(kernel, stride, padding, dilation, bool(ceil_mode))
    if min(output_size(size, spec)) < 1:
        raise OpError(f"{op}: kernel {kernel} (dilation {dilation}) is larger than the input {size_text(size)} "
                      f"with padding {padding}")
    return spec


def _max_pool(op: str, input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
              padding: int | Sequence[int], dilation: int | Sequence[int], ceil_mode: bool, return_indices: bool,
              spatial_dims: int) -> Tensor | tuple[Tensor, Tensor]:
    _check_input(op, input, spatial_dims)
    spec = _pool_spec(op, input.shape[-spatial_dims:], kernel_size, stride, padding, dilation, ceil_mode)
    values, indices = batched_call((MaxPool2d if spatial_dims == 2 else MaxPool3d).apply, input, spatial_dims, spec)
    return (values, indices) if return_indices else values


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
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool3d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """3-d max pooling: the largest value of each window of a volume.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, dilation, ceil_mode: as in ``max_pool2d``, with three values per tuple.
        return_indices: also return, for each output, the flat index into its D*H*W input volume of the maximum
            (ties and NaNs as in ``max_pool2d``).

    Shape:
        output: (N, C, D_out, H_out, W_out) with D_out = floor_or_ceil((D + 2 pD - dD (kD - 1) - 1) / sD) + 1,
        and the same for H and W.

    Returns:
        the pooled tensor, or (pooled, indices) with int64 indices.
    """
    return _max_pool("max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def _avg_pool_call(op: str, input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
                   padding: int | Sequence[int], ceil_mode: bool, count_include_pad: bool,
                   divisor_override: int | None, spatial_dims: int) -> Tensor:
    _check_input(op, input, spatial_dims)
    check_floating(op, input)
    spec = _pool_spec(op, input.shape[-spatial_dims:], kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise OpError(f"{op}: divisor_override must be non-zero")
    return batched_call(_avg_pool, input, spatial_dims, spec, bool(count_include_pad), divisor_override)


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
    return _avg_pool_call("avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override, 2)


def avg_pool3d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """3-d average pooling: the mean of each window of a volume.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override: as in ``avg_pool2d``,
            with three values per tuple.

    Shape:
        output: (N, C, D_out, H_out, W_out) with D_out = floor_or_ceil((D + 2 pD - kD) / sD) + 1, and the same
        for H and W.

    Returns:
        Tensor of the input's dtype (a floating point one; float16 windows are added in float32).
    """
    return _avg_pool_call("avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override, 3)


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
        start, end = adaptive_bins(size, count)
        positions = np.arange(size)
        inside = (positions >= start[:, None]) & (positions < end[:, None])
        # Built from sizes on the host, sent to the input's device.
        averaging.append(wrap(get_array_module(input).asarray((inside / (end - start)[:, None]).astype(input.dtype))))
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
    out = _adaptive_output_size(op, input, output_size)
    values, indices = batched_call(AdaptiveMaxPool2d.apply, input, 2, out)
    return (values, indices) if return_indices else values


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
    kernel = int_tuple(kernel_size, 2, "kernel_size", op, 1)
    stride = kernel if stride is None else int_tuple(stride, 2, "stride", op, 1)
    padding = int_tuple(padding, 2, "padding", op, 0)
    default = tuple(window_extent(n, k, s, 1) - 2 * p for n, s, p, k in zip(input.shape[-2:], stride, padding, kernel))
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


# The 1-d poolings run as 2-d poolings of a (N, C, 1, L) image: the windows, ties, NaN rules, flat indices (into
# the 1 x L plane, so into L) and gradients are those of the 2-d ops.

def _single(op: str, value: int | Sequence[int], name: str, minimum: int) -> int:
    return int_tuple(value, 1, name, op, minimum)[0]


def _window_1d(op: str, input: Tensor, kernel_size: int | Sequence[int],
               stride: int | Sequence[int] | None) -> tuple[int, int]:
    """A 1-d pooling's checked input, and its kernel length and stride (the kernel's by default)."""
    _check_input(op, input, 1)
    kernel = _single(op, kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _single(op, stride, "stride", 1)
    return kernel, stride


def _drop_row(result: Tensor | tuple[Tensor, Tensor], return_indices: bool) -> Tensor | tuple[Tensor, Tensor]:
    """A 2-d pooling's result on the (N, C, 1, L) image back to (N, C, L_out), with its indices if returned."""
    return tuple(part.squeeze(-2) for part in result) if return_indices else result.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """1-d max pooling: the largest value of each window of a sequence.

    Args:
        input: (N, C, L) or (C, L).
        kernel_size, stride, padding, dilation, ceil_mode: as in ``max_pool2d``, one int (or a 1-tuple) each;
            stride defaults to ``kernel_size``.
        return_indices: also return the index into L of each maximum (ties and NaNs as in ``max_pool2d``).

    Shape:
        output: (N, C, L_out) with L_out = floor_or_ceil((L + 2 p - d (k - 1) - 1) / s) + 1.

    Returns:
        the pooled tensor, or (pooled, indices) with int64 indices.
    """
    op = "max_pool1d"
    kernel, stride = _window_1d(op, input, kernel_size, stride)
    result = _max_pool(op, input.unsqueeze(-2), (1, kernel), (1, stride), (0, _single(op, padding, "padding", 0)),
                       (1, _single(op, dilation, "dilation", 1)), ceil_mode, return_indices, 2)
    return _drop_row(result, return_indices)


def avg_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-d average pooling: the mean of each window of a sequence.

    Args:
        input: (N, C, L) or (C, L), floating point.
        kernel_size, stride, padding, ceil_mode, count_include_pad: as in ``avg_pool2d``, one int each.

    Shape:
        output: (N, C, L_out) with L_out = floor_or_ceil((L + 2 p - k) / s) + 1.

    Returns:
        Tensor of the input's dtype.
    """
    op = "avg_pool1d"
    kernel, stride = _window_1d(op, input, kernel_size, stride)
    return _avg_pool_call(op, input.unsqueeze(-2), (1, kernel), (1, stride), (0, _single(op, padding, "padding", 0)),
                          ceil_mode, count_include_pad, None, 2).squeeze(-2)


def _adaptive_length(op: str, input: Tensor, output_size: int | Sequence[int]) -> int:
    _check_input(op, input, 1)
    return _single(op, output_size, "output_size", 1)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """1-d average pooling to a fixed output length, with the bins of ``adaptive_avg_pool2d``.

    Args:
        input: (N, C, L) or (C, L), floating point.
        output_size: L_out, an int (or a 1-tuple).

    Returns:
        Tensor of shape (..., L_out).
    """
    length = _adaptive_length("adaptive_avg_pool1d", input, output_size)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, length)).squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """1-d max pooling to a fixed output length, with the bins of ``adaptive_avg_pool2d``.

    Args:
        input: (N, C, L) or (C, L).
        output_size: L_out, an int (or a 1-tuple).
        return_indices: also return the index into L of each maximum.

    Returns:
        the pooled tensor, or (pooled, indices) with int64 indices.
    """
    length = _adaptive_length("adaptive_max_pool1d", input, output_size)
    return _drop_row(adaptive_max_pool2d(input.unsqueeze(-2), (1, length), return_indices), return_indices)


def _lp_pool(op: str, input: Tensor, norm_type: float, kernel: tuple[int, ...], stride: tuple[int, ...],
             ceil_mode: bool) -> Tensor:
    """(sum over each window of x^p)^(1/p), as PyTorch computes it: the window mean of x^p times the window
    size (so an odd p with negative sums gives NaN, as there)."""
    if norm_type <= 0:
        raise OpError(f"{op}: norm_type must be positive, got {norm_type}")
    pooled = avg_pool2d(input ** norm_type, kernel, stride, 0, ceil_mode)
    return (pooled * math.prod(kernel)) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """1-d power-average pooling: (sum of x^p over each window)^(1/p); p = 1 is sum pooling, large p nears max.

    Args:
        input: (N, C, L) or (C, L), floating point.
        norm_type: p, positive.
        kernel_size: window length.
        stride: step between windows; defaults to ``kernel_size``.
        ceil_mode: round the output length up instead of down.

    Shape:
        output: (N, C, L_out) with L_out = floor_or_ceil((L - k) / s) + 1.

    Returns:
        Tensor of the input's dtype.
    """
    op = "lp_pool1d"
    kernel, stride = _window_1d(op, input, kernel_size, stride)
    return _lp_pool(op, input.unsqueeze(-2), norm_type, (1, kernel), (1, stride), ceil_mode).squeeze(-2)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: int | Sequence[int],
              stride: int | Sequence[int] | None = None, ceil_mode: bool = False) -> Tensor:
    """2-d power-average pooling: (sum of x^p over each window)^(1/p).

    Args:
        input: (N, C, H, W) or (C, H, W), floating point.
        norm_type: p, positive.
        kernel_size: window size, an int or (kH, kW).
        stride: step between windows; defaults to ``kernel_size``.
        ceil_mode: round the output size up instead of down.

    Shape:
        output: (N, C, H_out, W_out) with H_out = floor_or_ceil((H - kH) / sH) + 1.

    Returns:
        Tensor of the input's dtype.
    """
    op = "lp_pool2d"
    _check_input(op, input, 2)
    kernel = int_tuple(kernel_size, 2, "kernel_size", op, 1)
    stride = kernel if stride is None else int_tuple(stride, 2, "stride", op, 1)
    return _lp_pool(op, input, norm_type, kernel, stride, ceil_mode)
