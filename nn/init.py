"""Weight initialisation, with PyTorch's names, formulas and fan conventions.

Every function fills its tensor in place under ``no_grad`` from the global generator, so
``autograd.manual_seed`` makes initialisation reproducible, and returns the tensor.

Fans: for a weight of shape ``(out, in, *kernel)`` (Linear, Conv), ``fan_in = in * prod(kernel)``
and ``fan_out = out * prod(kernel)``. Variance-preserving scales follow from them: Xavier/Glorot
keeps ``Var = 2 / (fan_in + fan_out)``, He/Kaiming keeps ``Var = gain^2 / fan``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from autograd import random
from autograd.grad_mode import no_grad
from autograd.ops.activation import erfc_array
from autograd.tensor import Tensor

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of the weights for a nonlinearity (PyTorch's table).

    ``linear``/conv/``sigmoid``: 1; ``tanh``: 5/3; ``relu``: sqrt(2);
    ``leaky_relu``: sqrt(2 / (1 + slope^2)) with slope ``param`` (default 0.01); ``selu``: 3/4.

    Args:
        nonlinearity: the name of the function applied after the layer.
        param: negative slope for ``leaky_relu``.

    Returns:
        the gain as a float.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _is_empty(tensor: Tensor) -> bool:
    """Whether ``tensor`` has no elements; then its fan may be 0, and PyTorch warns and leaves it as it is."""
    if 0 not in tensor.shape:
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    return True


def _fill(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    with no_grad():
        return tensor.copy_(values)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples from U(a, b)."""
    return _fill(tensor, random.generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples from N(mean, std^2)."""
    return _fill(tensor, random.generator().normal(mean, std, tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill with N(mean, std^2) samples conditioned on lying in ``[a, b]`` (absolute bounds, as in PyTorch).

    Samples outside the bounds are redrawn until none is left (rejection sampling). When ``[a, b]``
    holds less than 1% of the distribution (far in a tail), redrawing would take too long, so the
    samples come from the inverse CDF instead.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: lower bound a={a} must be below upper bound b={b}")
    generator = random.generator()
    low, high = (a - mean) / std, (b - mean) / std
    if _normal_cdf(high) - _normal_cdf(low) < 0.01:
        return _fill(tensor, mean + std * _truncated_standard_normal(low, high, tensor.shape, generator))
    values = generator.normal(mean, std, tensor.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = generator.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def _normal_cdf(x: float | np.ndarray) -> float | np.ndarray:
    """Phi(x), the standard normal CDF, with relative accuracy in the lower tail."""
    if isinstance(x, np.ndarray):
        return 0.5 * erfc_array(-x / math.sqrt(2.0))
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _truncated_standard_normal(low: float, high: float, shape: tuple[int, ...],
                               generator: np.random.Generator) -> np.ndarray:
    """N(0, 1) samples in ``[low, high]`` by inverting the CDF: ``x = Phi^-1(U(Phi(low), Phi(high)))``.

    numpy has no inverse error function, so ``Phi^-1`` is found by bisection. An interval above the
    mean is mirrored below it, where ``Phi`` is tiny but still has full relative precision.
    """
    if low > 0:
        return -_truncated_standard_normal(-high, -low, shape, generator)
    # Phi is 0 or 1 in float64 beyond 40 standard deviations.
    low, high = max(low, -40.0), min(high, 40.0)
    targets = generator.uniform(_normal_cdf(low), _normal_cdf(high), shape)
    lower, upper = np.full(shape, low), np.full(shape, high)
    for _ in range(64):  # halves the bracket to below float64 spacing
        middle = 0.5 * (lower + upper)
        below = _normal_cdf(middle) < targets
        lower = np.where(below, middle, lower)
        upper = np.where(below, upper, middle)
    return 0.5 * (lower + upper)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix (ones on the diagonal of a rectangle too)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``.

    Args:
        tensor: weight of shape ``(out, in, *kernel)``.
        a: negative slope of the leaky ReLU that follows (used by ``leaky_relu``'s gain).
        mode: ``'fan_in'`` keeps the forward activations' variance, ``'fan_out'`` the gradients'.
        nonlinearity: ``'relu'`` or ``'leaky_relu'`` (the default; with ``a=sqrt(5)`` this is
            PyTorch's default layer init, U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
    """
    if _is_empty(tensor):
        return tensor
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(_calculate_correct_fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): N(0, std^2) with ``std = gain / sqrt(fan)``; arguments as in ``kaiming_uniform_``."""
    if _is_empty(tensor):
        return tensor
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_calculate_correct_fan(tensor, mode)))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Saxe et al. (2013): a (semi-)orthogonal matrix from the QR decomposition of a Gaussian one.

    Dimensions after the first are flattened; rows are orthonormal when there are fewer rows than
    columns, columns otherwise. The signs of R's diagonal are folded into Q so that the result is
    uniformly distributed.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flattened = random.generator().normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
