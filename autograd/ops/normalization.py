"""Normalization: batch_norm (one fused op); layer_norm, group_norm, instance_norm and local_response_norm
(compositions).

Batch norm sits after nearly every convolution, so it is fused: the forward makes three sweeps over the
activation (``autograd/kernels/normalization.py``, on all cores) and the backward is the closed form

    dx = gamma * invstd / M * (M * g - sum(g) - xhat * sum(g * xhat)),
    dgamma = sum(g * xhat),  dbeta = sum(g),

sums running over the M = N * H * W values of a channel. With create_graph the backward is written
with Tensor ops, so it can itself be differentiated; otherwise (the usual case) the same formula,
with the same per-channel coefficients, is evaluated by the kernels in two sweeps. That is the one
source of truth: both paths take scale, shift and slope from ``_grad_input_coefficients``. Layer norm
and group norm are compositions of mean, var and arithmetic: they are not on the hot path of a CNN and
get their gradients (of any order) for free.

float16 inputs are normalised in float32 and the result rounded to float16, as PyTorch's CPU kernels do:
a float16 sum over a channel stops growing at 2048 and overflows past 65504 (4096 values around 20 are
enough), which turned whole channels into nan or zeros. Going through a differentiable cast keeps the
sums of the backward in float32 as well, and the gradients come back in float16.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import OpError
from ..function import Function
from ..grad_mode import is_grad_enabled
from ..kernels import normalization as kernels
from ..tensor import Tensor, wrap
from .padding import pad
from .pooling import avg_pool2d
from .reduction import HALF, check_floating


def _stat_shape(shape: tuple) -> tuple:
    """(1, C, 1, ...): per-channel statistics broadcast against an (N, C, ...) input."""
    return (1, shape[1]) + (1,) * (len(shape) - 2)


class BatchNorm(Function):
    """y = (x - mean) * invstd * weight + bias, statistics per channel over (N, *spatial);
    dx = weight * invstd / M * (M g - sum(g) - xhat sum(g xhat)) in training (batch statistics),
    dx = weight * invstd * g in evaluation (running statistics, constants)."""

    def attributes(self) -> dict[str, Any]:
        shown = {} if self.training else {"training": False}
        if self.eps != 1e-5:
            shown["eps"] = self.eps
        return shown

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                running_var: Tensor | None, training: bool, momentum: float, eps: float) -> np.ndarray:
        data = x.data
        samples, channels = data.shape[:2]
        length = math.prod(data.shape[2:])
        count = samples * length
        flat = data.reshape(samples, channels, length)
        # C order: the kernels write through (N, C*L) reshapes of it, which must be views (a permuted input's flat
        # is not C-contiguous, nor is an einsum's result on a device).
        out = np.empty_like(flat, order="C")
        if training:
            # Three sweeps (the sums; centring with the sum of squares; the affine map), each on all cores. The
            # variance comes from the centred values, never from E[x^2] - E[x]^2, which cancels in float32.
            mean = kernels.channel_sums(flat) / count
            (squares,) = kernels.centre(flat, mean, out)
            var = squares / count
            if running_mean is not None:
                running_mean.mul_(1.0 - momentum).add_(mean, alpha=momentum)
            if running_var is not None:
                # The running estimate uses the unbiased variance, as in PyTorch.
                running_var.mul_(1.0 - momentum).add_(var * (count / (count - 1)), alpha=momentum)
        else:
            mean = running_mean.data.astype(data.dtype)
            var = running_var.data.astype(data.dtype)
        invstd = 1.0 / np.sqrt(var + eps)
        scale = invstd if weight is None else invstd * weight.data
        bias_data = None if bias is None else bias.data
        if training:
            kernels.channel_affine(out, scale, bias_data, out)
        else:
            # One sweep, x * scale + (bias - mean * scale), as PyTorch's CPU kernel: 0.54 ms against 0.69 ms for
            # centring first, on 64x16x32x32 float32 (CPU time, one thread, Xeon).
            shift = -mean * scale if bias is None else bias_data - mean * scale
            kernels.channel_affine(flat, scale, shift, out)
        ctx.training, ctx.eps, ctx.count = training, eps, count
        ctx.save_for_backward(x, weight, mean, invstd)
        return out.reshape(data.shape)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight, mean, invstd = ctx.saved_tensors
        needs = ctx.needs_input_grad
        # Which per-channel sums the requested gradients use.
        wants_sum_g = needs[2] or (ctx.training and needs[0])
        wants_centred = needs[1] or (ctx.training and needs[0])
        if is_grad_enabled():
            grads = _batch_norm_backward_tensors(ctx, grad, x, weight, mean, invstd, wants_sum_g, wants_centred)
        else:
            grads = _batch_norm_backward_arrays(ctx, grad.data, x.data, weight, mean, invstd, wants_sum_g,
                                                wants_centred)
        return grads + (None,) * 5


def _grad_input_coefficients(training: bool, count: int, invstd, weight, sum_g, sum_g_centred) -> tuple:
    """Per-channel (scale, shift, slope) of dx = scale * (g - shift - slope * (x - mean)).

    The closed form with xhat = (x - mean) * invstd: scale = weight * invstd, shift = mean(g) and
    slope = invstd**2 * mean(g * (x - mean)) in training; in evaluation the statistics are constants and
    dx = scale * g (shift and slope are None). Takes Tensors or ndarrays alike, so that both backward paths
    evaluate this one formula.
    """
    scale = invstd if weight is None else invstd * weight
    if not training:
        return scale, None, None
    inverse_count = 1.0 / count
    return scale, sum_g * inverse_count, invstd * invstd * sum_g_centred * inverse_count


def _batch_norm_backward_tensors(ctx, grad: Tensor, x: Tensor, weight: Tensor | None, mean: np.ndarray,
                                 invstd: np.ndarray, wants_sum_g: bool, wants_centred: bool) -> tuple:
    """BatchNorm's gradients written with Tensor ops, for create_graph: they can be differentiated again."""
    shape = _stat_shape(x.shape)
    axes = (0,) + tuple(range(2, x.ndim))
    if ctx.training:
        # The batch statistics are functions of x: rebuild them with Tensor ops for the second derivative to
        # see that dependence.
        centred = x - x.mean(axes, keepdim=True)
        invstd = ((centred * centred).mean(axes, keepdim=True) + ctx.eps) ** -0.5
    else:
        centred = x - wrap(mean.reshape(shape)) if wants_centred else None
        invstd = wrap(invstd.reshape(shape))
    # Sums of g * (x - mean) rather than of g * xhat: one full-size pass fewer, same values.
    sum_g = grad.sum(axes, keepdim=True) if wants_sum_g else None
    sum_g_centred = (grad * centred).sum(axes, keepdim=True) if wants_centred else None
    needs = ctx.needs_input_grad
    grad_input = grad_weight = grad_bias = None
    if needs[0]:
        scale, shift, slope = _grad_input_coefficients(ctx.training, ctx.count, invstd,
                                                       None if weight is None else weight.reshape(shape),
                                                       sum_g, sum_g_centred)
        grad_input = grad * scale if shift is None else (grad - shift - centred * slope) * scale
    channels = x.shape[1]
    if needs[1]:
        grad_weight = (sum_g_centred * invstd).reshape((channels,))
    if needs[2]:
        grad_bias = sum_g.reshape((channels,))
    return grad_input, grad_weight, grad_bias


def _batch_norm_backward_arrays(ctx, grad: np.ndarray, data: np.ndarray, weight: Tensor | None, mean: np.ndarray,
                                invstd: np.ndarray, wants_sum_g: bool, wants_centred: bool) -> tuple:
    """The gradients of ``_batch_norm_backward_tensors``, evaluated in numpy when no graph is being built.

    That is the usual backward, and a hot path of CNN training: the Tensor ops allocate six full-size arrays,
    whereas here two sweeps over the batch, each on all cores and on one slice of the batch at a time, do it:
    the first centres x into the buffer of the input gradient while it takes both sums, the second turns that
    buffer and g into dx in place. The seven full passes this had as whole-array numpy expressions took 2.03 ms
    for a 64x16x32x32 float32 training backward, the sweeps 1.88 ms (CPU time, one thread, Xeon).
    """
    flat_shape = data.shape[:2] + (math.prod(data.shape[2:]),)
    flat, grad_flat = data.reshape(flat_shape), grad.reshape(flat_shape)
    needs = ctx.needs_input_grad
    sum_g = centred = sum_g_centred = None
    if wants_centred:
        centred = np.empty_like(flat, order="C")  # as in forward
        sum_g, sum_g_centred = kernels.centre(flat, mean, centred, grad_flat)
    elif wants_sum_g:
        sum_g = kernels.channel_sums(grad_flat)
    grad_input = grad_weight = grad_bias = None
    if needs[0]:
        scale, shift, slope = _grad_input_coefficients(ctx.training, ctx.count, invstd,
                                                       None if weight is None else weight.data, sum_g,
                                                       sum_g_centred)
        if shift is None:
            grad_input = kernels.channel_affine(grad_flat, scale, None, np.empty_like(grad_flat, order="C"))
        else:
            # scale * (g - shift - slope * (x - mean)), in the buffer of centred (its last use).
            grad_input = kernels.channel_affine(centred, -slope, -shift, centred, grad_flat, scale)
        grad_input = wrap(grad_input.reshape(data.shape))
    if needs[1]:
        grad_weight = wrap(sum_g_centred * invstd)
    if needs[2]:
        grad_bias = wrap(sum_g)
    return grad_input, grad_weight, grad_bias


def check_eps(op: str, eps: float) -> None:
    """eps keeps the variance of a constant channel away from 0; without it the output is 0 / 0 = nan."""
    if not eps > 0:
        raise ValueError(f"{op}: eps must be positive, got {eps}")


def _float32(value: Tensor | None) -> Tensor | None:
    return None if value is None else value.float()


def _check_input(op: str, input: Tensor, min_ndim: int, layout: str) -> None:
    if input.ndim < min_ndim:
        raise OpError(f"{op}: expected an input of shape {layout} with at least {min_ndim} dimensions, got "
                      f"{tuple(input.shape)}")
    check_floating(op, input)


def _check_channel_vector(op: str, name: str, value: Tensor | None, channels: int, shape: tuple) -> None:
    if value is not None and tuple(value.shape) != (channels,):
        raise OpError(f"{op}: {name} has shape {tuple(value.shape)} but the input (shape {shape}) has "
                      f"{channels} channels; expected ({channels},)")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalization: (x - mean) / sqrt(var + eps) * weight + bias per channel.

    In training the statistics are those of the batch (biased variance) and the running
    statistics, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased batch variance
    (times M / (M - 1)) for ``running_var``. In evaluation the running statistics are used.

    Args:
        input: (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *) works).
        running_mean: (C,) running mean, or None (then ``training`` must be True).
        running_var: (C,) running variance, or None.
        weight: (C,) scale gamma, or None for 1.
        bias: (C,) shift beta, or None for 0.
        training: use batch statistics and update the running ones.
        momentum: weight of the batch statistics in the running update.
        eps: added to the variance, so a constant channel gives 0 rather than 0/0 (positive).

    Returns:
        Tensor of the input's shape and dtype (float16 is normalised in float32, then rounded).
    """
    op = "batch_norm"
    _check_input(op, input, 2, "(N, C, *)")
    check_eps(op, eps)
    shape = tuple(input.shape)
    channels = shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        _check_channel_vector(op, name, value, channels, shape)
    if training:
        if input.data.size <= channels:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got input of "
                             f"shape {shape}")
    elif running_mean is None or running_var is None:
        raise OpError(f"{op}: running_mean and running_var are required when training=False")
    if input.dtype == HALF:
        return BatchNorm.apply(input.float(), _float32(weight), _float32(bias), running_mean, running_var, training,
                               momentum, eps).to(HALF)
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, training, momentum, eps)


def _normalize(input: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims`` (biased variance), as a composition of Tensor ops."""
    centred = input - input.mean(dims, keepdim=True)
    return centred * ((centred * centred).mean(dims, keepdim=True) + eps) ** -0.5


def _scale_shift(result: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Tensor:
    """``result * weight + bias`` (either skipped when None), weight and bias viewed in ``shape``: the channel
    layout of ``_stat_shape`` for group and instance norm, the normalized shape itself for layer norm."""
    if weight is not None:
        result = result * weight.reshape(shape)
    if bias is not None:
        result = result + bias.reshape(shape)
    return result


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last dimensions, then scale and shift elementwise.

    Args:
        input: (*, *normalized_shape).
        normalized_shape: the trailing shape normalized together (an int for the last dimension).
        weight: elementwise scale of shape ``normalized_shape``, or None.
        bias: elementwise shift of shape ``normalized_shape``, or None.
        eps: added to the variance (positive).

    Returns:
        Tensor of the input's shape and dtype (float16 is normalised in float32, then rounded).
    """
    op = "layer_norm"
    normalized = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    count = len(normalized)
    if count == 0 or tuple(input.shape[input.ndim - count:]) != normalized or input.ndim < count:
        raise OpError(f"{op}: normalized_shape {normalized} does not match the trailing dimensions of the input of "
                      f"shape {tuple(input.shape)}")
    check_floating(op, input)
    check_eps(op, eps)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != normalized:
            raise OpError(f"{op}: {name} has shape {tuple(value.shape)}, expected {normalized}")
    if input.dtype == HALF:
        return layer_norm(input.float(), normalized, _float32(weight), _float32(bias), eps).to(HALF)
    result = _normalize(input, tuple(range(input.ndim - count, input.ndim)), eps)
    return _scale_shift(result, weight, bias, normalized)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize each sample over groups of channels (and all their positions), then scale and shift
    per channel. Unlike batch norm it does not depend on the batch size.

    Args:
        input: (N, C, *) with C divisible by ``num_groups``.
        num_groups: number of channel groups.
        weight: (C,) per-channel scale, or None.
        bias: (C,) per-channel shift, or None.
        eps: added to the variance (positive).

    Returns:
        Tensor of the input's shape and dtype (float16 is normalised in float32, then rounded).
    """
    op = "group_norm"
    _check_input(op, input, 2, "(N, C, *)")
    check_eps(op, eps)
    shape = tuple(input.shape)
    channels = shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise OpError(f"{op}: num_groups {num_groups} must divide the number of channels {channels}")
    for name, value in (("weight", weight), ("bias", bias)):
        _check_channel_vector(op, name, value, channels, shape)
    if input.dtype == HALF:
        return group_norm(input.float(), num_groups, _float32(weight), _float32(bias), eps).to(HALF)
    grouped = input.reshape(shape[0], num_groups, -1)
    result = _normalize(grouped, (2,), eps).reshape(shape)
    stat_shape = _stat_shape(shape)
    return _scale_shift(result, weight, bias, stat_shape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization (Ulyanov et al. 2016): normalize each channel of each sample over its positions,
    then scale and shift per channel. A composition of mean, var and arithmetic.

    With ``use_input_stats`` (the default) each sample's own statistics are used and the running statistics,
    when given, are updated in place with their average over the batch (as PyTorch does:
    ``running = (1 - momentum) * running + momentum * mean_n(stat)``, the variance unbiased over the positions).
    Otherwise the running statistics are used.

    Args:
        input: (N, C, *) with at least one position dimension.
        running_mean, running_var: (C,) running statistics, or None (required without ``use_input_stats``).
        weight, bias: (C,) per-channel scale and shift, or None.
        use_input_stats: normalize with each instance's statistics.
        momentum: weight of the batch in the running update.
        eps: added to the variance (positive).

    Returns:
        Tensor of the input's shape and dtype (float16 is normalised in float32, then rounded).
    """
    op = "instance_norm"
    _check_input(op, input, 3, "(N, C, *)")
    check_eps(op, eps)
    shape = tuple(input.shape)
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        _check_channel_vector(op, name, value, shape[1], shape)
    if input.dtype == HALF:
        return instance_norm(input.float(), running_mean, running_var, _float32(weight), _float32(bias),
                             use_input_stats, momentum, eps).to(HALF)
    dims = tuple(range(2, input.ndim))
    stat_shape = _stat_shape(shape)
    if use_input_stats:
        count = math.prod(shape[2:])
        if count <= 1:
            raise ValueError(f"{op}: expected more than 1 spatial element when training, got input of shape {shape}")
        result = _normalize(input, dims, eps)
        if running_mean is not None:
            running_mean.mul_(1.0 - momentum).add_(input.data.mean(dims).mean(0), alpha=momentum)
        if running_var is not None:
            running_var.mul_(1.0 - momentum).add_(input.data.var(dims, ddof=1).mean(0), alpha=momentum)
    elif running_mean is None or running_var is None:
        raise OpError(f"{op}: running_mean and running_var are required when use_input_stats=False")
    else:
        result = (input - running_mean.reshape(stat_shape)) * (running_var.reshape(stat_shape) + eps) ** -0.5
    return _scale_shift(result, weight, bias, stat_shape)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Local response normalization across channels (AlexNet, Krizhevsky et al. 2012):
    ``y_c = x_c / (k + alpha / size * sum_{c' near c} x_{c'}^2) ^ beta``.

    The window holds channels c - size // 2 to c + (size - 1) // 2, zero past the ends; the sum is PyTorch's
    zero-padded average pooling of the squares along the channels, times ``size``, so its gradient is pooling's.

    Args:
        input: (N, C, *) with at least one position dimension.
        size: number of neighbouring channels in the window.
        alpha: multiplier of the (averaged) sum of squares.
        beta: exponent.
        k: additive constant.

    Returns:
        Tensor of the input's shape.
    """
    op = "local_response_norm"
    _check_input(op, input, 3, "(N, C, *)")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, got {size!r}")
    shape = tuple(input.shape)
    # (N, 1, C, positions): the window runs down the channel axis of a one-channel image.
    squares = (input * input).reshape(shape[0], 1, shape[1], -1)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    average = avg_pool2d(squares, (size, 1), stride=1).reshape(shape)
    return input / (average * alpha + k) ** beta
