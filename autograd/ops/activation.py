"""Activations: relu, sigmoid, softmax and log_softmax.

Softmax and log-softmax shift by the max before exponentiating, so logits of any magnitude stay
finite. Their backward passes recompute softmax with the framework's own op instead of saving it,
which keeps them differentiable twice.
"""

from __future__ import annotations

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .reduction import reduced_axes, stable_logsumexp


class Relu(Function):
    """y = max(x, 0);  dx = grad where x > 0, else 0."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.positive = x.data > 0
        return np.maximum(x.data, 0)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.positive


def relu(input: Tensor) -> Tensor:
    """Rectified linear unit, max(x, 0), elementwise.

    Args:
        input: any float tensor.

    Returns:
        Tensor of the same shape.
    """
    return Relu.apply(input)


class Sigmoid(Function):
    """y = 1 / (1 + e**-x);  dx = grad * y * (1 - y)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        # exp(-|x|) never overflows; pick the algebraically equal form per sign.
        decay = np.exp(-np.abs(x.data))
        return np.where(x.data >= 0, 1.0 / (1.0 + decay), decay / (1.0 + decay)).astype(x.data.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = x.sigmoid()
        return grad * y * (1.0 - y)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic function 1 / (1 + e**-x), elementwise, stable for large |x|."""
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return input.tanh()


class Softmax(Function):
    """y = exp(x) / sum(exp(x)) along ``dim``;  dx = y * (grad - sum(grad * y))."""

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        axes = reduced_axes(dim, x.data.ndim, "softmax")
        ctx.dim = axes[0] if axes else 0
        ctx.save_for_backward(x)
        return np.exp(x.data - stable_logsumexp(x.data, axes))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = Softmax.apply(x, ctx.dim)
        return y * (grad - (grad * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``dim``;  dx = grad - softmax(x) * sum(grad)."""

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        axes = reduced_axes(dim, x.data.ndim, "log_softmax")
        ctx.dim = axes[0] if axes else 0
        ctx.save_for_backward(x)
        return x.data - stable_logsumexp(x.data, axes)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad - Softmax.apply(x, ctx.dim) * grad.sum(ctx.dim, keepdim=True), None


def softmax(input: Tensor, dim: int) -> Tensor:
    """Softmax along ``dim``: exp(x_i) / sum_j exp(x_j), computed without overflow.

    Args:
        input: float tensor.
        dim: the dimension whose entries sum to 1 in the result.
    """
    return Softmax.apply(input, dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """log(softmax(input)) along ``dim``, computed as x - logsumexp(x) (finite for any logits)."""
    return LogSoftmax.apply(input, dim)
