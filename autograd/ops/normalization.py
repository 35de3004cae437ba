"""Normalization: batch_norm (one fused op), layer_norm and group_norm (compositions).

Batch norm sits after nearly every convolution, so it is fused: the forward makes a few numpy
passes and the backward is the closed form

    dx = gamma * invstd / M * (M * g - sum(g) - xhat * sum(g * xhat)),
    dgamma = sum(g * xhat),  dbeta = sum(g),

sums running over the M = N * H * W values of a channel. The backward is written with Tensor ops,
so it can itself be differentiated. Layer norm and group norm are compositions of mean, var and
arithmetic: they are not on the hot path of a CNN and get their gradients (of any order) for free.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..function import Function
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor, wrap


def _stat_shape(shape: tuple) -> tuple:
    """(1, C, 1, ...): per-channel statistics broadcast against an (N, C, ...) input."""
    return (1, shape[1]) + (1,) * (len(shape) - 2)


class BatchNorm(Function):
    """y = (x - mean) * invstd * weight + bias, statistics per channel over (N, *spatial);
    dx = weight * invstd / M * (M g - sum(g) - xhat sum(g xhat)) in training (batch statistics),
    dx = weight * invstd * g in evaluation (running statistics, constants)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                running_var: Tensor | None, training: bool, momentum: float, eps: float) -> np.ndarray:
        data = x.data
        channels = data.shape[1]
        # (N, C, L) view: every layout reduces over axes 0 and 2.
        flat = data.reshape(data.shape[0], channels, -1)
        count = flat.shape[0] * flat.shape[2]
        if training:
            mean = flat.sum(axis=(0, 2)) / count
            centred = flat - mean[:, None]
            var = np.einsum("ncl,ncl->c", centred, centred) / count
            if running_mean is not None:
                running_mean.mul_(1.0 - momentum).add_(mean, alpha=momentum)
            if running_var is not None:
                # The running estimate uses the unbiased variance, as in PyTorch.
                running_var.mul_(1.0 - momentum).add_(var * (count / (count - 1)), alpha=momentum)
        else:
            mean = running_mean.data.astype(data.dtype)
            var = running_var.data.astype(data.dtype)
            centred = flat - mean[:, None]
        invstd = 1.0 / np.sqrt(var + eps)
        scale = invstd if weight is None else invstd * weight.data
        centred *= scale[:, None]
        if bias is not None:
            centred += bias.data[:, None]
        ctx.training, ctx.eps, ctx.count = training, eps, count
        ctx.save_for_backward(x, weight, mean, invstd)
        return centred.reshape(data.shape)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight, mean, invstd = ctx.saved_tensors
        shape = _stat_shape(x.shape)
        axes = (0,) + tuple(range(2, x.ndim))
        needs = ctx.needs_input_grad
        if ctx.training and is_grad_enabled():
            # create_graph: the batch statistics are functions of x, so rebuild them with Tensor ops
            # for the second derivative to see that dependence.
            centred = x - x.mean(axes, keepdim=True)
            invstd = ((centred * centred).mean(axes, keepdim=True) + ctx.eps) ** -0.5
        else:
            centred = x - wrap(mean.reshape(shape)) if ctx.training or needs[1] else None
            invstd = wrap(invstd.reshape(shape))
        # Sums of g * (x - mean) rather than of g * xhat: one full-size pass fewer, same values.
        sum_g = grad.sum(axes, keepdim=True) if needs[2] or ctx.training else None
        sum_g_centred = (grad * centred).sum(axes, keepdim=True) if centred is not None else None
        grad_input = grad_weight = grad_bias = None
        if needs[0]:
            scale = invstd if weight is None else invstd * weight.reshape(shape)
            if ctx.training:
                # xhat * mean(g * xhat) = (x - mean) * invstd**2 * sum(g * (x - mean)) / M
                inverse_count = 1.0 / ctx.count
                grad_input = ((grad - sum_g * inverse_count) * scale
                              - centred * (scale * invstd * invstd * sum_g_centred * inverse_count))
            else:
                grad_input = grad * scale
        channels = x.shape[1]
        if needs[1]:
            grad_weight = (sum_g_centred * invstd).reshape((channels,))
        if needs[2]:
            grad_bias = sum_g.reshape((channels,))
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


def _check_channel_vector(op: str, name: str, value: Tensor | None, channels: int, shape: tuple) -> None:
    if value is not None and tuple(value.shape) != (channels,):
        raise ValueError(f"{op}: {name} has shape {tuple(value.shape)} but the input (shape {shape}) has "
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
        eps: added to the variance, so a constant channel gives 0 rather than 0/0.

    Returns:
        Tensor of the input's shape.
    """
    shape = tuple(input.shape)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *) with at least 2 dimensions, got {shape}")
    channels = shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        _check_channel_vector("batch_norm", name, value, channels, shape)
    if training:
        if input.data.size // channels <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of "
                             f"shape {shape}")
    elif running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are required when training=False")
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, training, momentum, eps)


def _normalize(input: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims`` (biased variance), as a composition of Tensor ops."""
    centred = input - input.mean(dims, keepdim=True)
    return centred * ((centred * centred).mean(dims, keepdim=True) + eps) ** -0.5


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last dimensions, then scale and shift elementwise.

    Args:
        input: (*, *normalized_shape).
        normalized_shape: the trailing shape normalized together (an int for the last dimension).
        weight: elementwise scale of shape ``normalized_shape``, or None.
        bias: elementwise shift of shape ``normalized_shape``, or None.
        eps: added to the variance.

    Returns:
        Tensor of the input's shape.
    """
    normalized = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    count = len(normalized)
    if count == 0 or tuple(input.shape[input.ndim - count:]) != normalized or input.ndim < count:
        raise ValueError(f"layer_norm: normalized_shape {normalized} does not match the trailing dimensions of the "
                         f"input of shape {tuple(input.shape)}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != normalized:
            raise ValueError(f"layer_norm: {name} has shape {tuple(value.shape)}, expected {normalized}")
    result = _normalize(input, tuple(range(input.ndim - count, input.ndim)), eps)
    if weight is not None:
        result = result * weight
    if bias is not None:
        result = result + bias
    return result


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize each sample over groups of channels (and all their positions), then scale and shift
    per channel. Unlike batch norm it does not depend on the batch size.

    Args:
        input: (N, C, *) with C divisible by ``num_groups``.
        num_groups: number of channel groups.
        weight: (C,) per-channel scale, or None.
        bias: (C,) per-channel shift, or None.
        eps: added to the variance.

    Returns:
        Tensor of the input's shape.
    """
    shape = tuple(input.shape)
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *), got {shape}")
    channels = shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ValueError(f"group_norm: num_groups {num_groups} must divide the number of channels {channels}")
    for name, value in (("weight", weight), ("bias", bias)):
        _check_channel_vector("group_norm", name, value, channels, shape)
    grouped = input.reshape(shape[0], num_groups, -1)
    result = _normalize(grouped, (2,), eps).reshape(shape)
    stat_shape = _stat_shape(shape)
    if weight is not None:
        result = result * weight.reshape(stat_shape)
    if bias is not None:
        result = result + bias.reshape(stat_shape)
    return result
