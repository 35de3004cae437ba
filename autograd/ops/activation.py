"""Activations: relu, leaky_relu, elu, gelu, silu, sigmoid, tanh, hardtanh, softmax, log_softmax, dropout.

Softmax and log-softmax shift by the max before exponentiating, so logits of any magnitude stay
finite. Their backward passes recompute softmax with the framework's own op instead of saving it,
which keeps them differentiable twice. Exact gelu needs erf, which numpy lacks: ``erfc_array``
evaluates Cody's rational approximations, vectorised, to full precision in the input's dtype (about
twice as fast as ``math.erfc`` element by element, and float32 stays float32). Softplus is here for
the losses on logits. Dropout draws its mask from the global generator (``autograd.manual_seed``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..device import device_of, to_device
from ..errors import OpError
from ..function import Function
from ..kernels import elementwise as kernels
from ..random import generator
from ..tensor import SCALAR_TYPES, Tensor
from .indexing import where
from .promotion import floating
from .reduction import check_floating, reduced_axes, stable_logsumexp


_SCALAR_ZEROS = {kind: kind(0) for kind in SCALAR_TYPES}


class Relu(Function):
    """y = max(x, 0);  dx = grad where x > 0, else 0 (``ReluGrad``)."""

    scalar_backward = True

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        if not ctx.needs_input_grad[0]:
            return kernels.relu(x.data)  # nothing recorded: no mask, one pass
        # The mask rather than x or y: a quarter of the memory, freed after backward, and made in the forward's
        # own pass, so the backward is one multiply.
        out, positive = kernels.relu_with_mask(x.data)
        ctx.save_for_backward(positive)
        return out

    @staticmethod
    def scalar_forward(ctx, x: np.generic) -> np.generic:
        # What np.maximum(x, 0) and its mask give (as kernels.relu_with_mask: nan stays nan, its mask False; -0
        # becomes +0), from comparisons: np.maximum costs 600 ns on a numpy scalar, a comparison 30.
        positive = x > 0
        ctx.save_for_backward(positive)
        return x if positive or x != x else _SCALAR_ZEROS[type(x)]

    @staticmethod
    def backward(ctx, grad: Tensor):
        (positive,) = ctx.saved_tensors
        return ReluGrad.apply(grad, positive)


class ReluGrad(Function):
    """y = grad where positive, else 0 (relu's gradient, positive = x > 0);  dgrad = ReluGrad(ggrad, positive).

    Linear in grad, so it is its own gradient; none flows to x through the mask, constant off the kink (relu's
    second derivative is 0 there)."""

    scalar_backward = True

    @staticmethod
    def forward(ctx, grad: Tensor, positive: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(positive)
        return kernels.masked(grad.data, positive)

    @staticmethod
    def scalar_forward(ctx, grad: np.generic, positive: np.bool_) -> np.generic:
        ctx.save_for_backward(positive)
        return grad * positive

    @staticmethod
    def backward(ctx, grad_grad: Tensor):
        (positive,) = ctx.saved_tensors
        return ReluGrad.apply(grad_grad, positive), None


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
        data = floating(x.data)
        decay = np.exp(-np.abs(data))
        return np.where(data >= 0, 1.0 / (1.0 + decay), decay / (1.0 + decay)).astype(data.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = x.sigmoid()
        return grad * y * (1.0 - y)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic function 1 / (1 + e**-x), elementwise, stable for large |x|.

    Args:
        input: any float tensor.

    Returns:
        Tensor of the same shape, values in [0, 1].
    """
    return Sigmoid.apply(input)


class Softplus(Function):
    """y = log(1 + e**x), computed as max(x, 0) + log1p(e**-|x|) so it never overflows;  dx = grad * sigmoid(x)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.maximum(x.data, 0) + np.log1p(np.exp(-np.abs(x.data)))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * Sigmoid.apply(x)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise.

    Args:
        input: any float tensor.

    Returns:
        Tensor of the same shape, values in [-1, 1].
    """
    return input.tanh()


class Softmax(Function):
    """y = exp(x) / sum(exp(x)) along ``dim``;  dx = y * (grad - sum(grad * y))."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        check_floating("softmax", x)
        axes = reduced_axes(dim, x.data.ndim, "softmax")
        ctx.dim = axes[0] if axes else 0
        ctx.save_for_backward(x)
        # Exponentiated in the dtype of the sum (float32 for float16), then rounded.
        return np.exp(x.data - stable_logsumexp(x.data, axes)).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = Softmax.apply(x, ctx.dim)
        return y * (grad - (grad * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``dim``;  dx = grad - softmax(x) * sum(grad)."""

    def attributes(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> np.ndarray:
        check_floating("log_softmax", x)
        axes = reduced_axes(dim, x.data.ndim, "log_softmax")
        ctx.dim = axes[0] if axes else 0
        ctx.save_for_backward(x)
        return (x.data - stable_logsumexp(x.data, axes)).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad - Softmax.apply(x, ctx.dim) * grad.sum(ctx.dim, keepdim=True), None


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """Softmax along ``dim``: exp(x_i) / sum_j exp(x_j), computed without overflow.

    Args:
        input: float tensor.
        dim: the dimension whose entries sum to 1 in the result. None makes PyTorch's deprecated implicit choice
            (0 for 0-, 1- and 3-d inputs, else 1) with a warning.
        dtype: cast the input to this dtype first.

    Returns:
        Tensor of the input's shape.
    """
    input, dim = _softmax_arguments("softmax", input, dim, dtype, _stacklevel)
    return Softmax.apply(input, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """log(softmax(input)) along ``dim``, computed as x - logsumexp(x) (finite for any logits).

    Args:
        input: float tensor.
        dim: the dimension the softmax normalizes over (None: PyTorch's deprecated implicit choice, as ``softmax``).
        dtype: cast the input to this dtype first.

    Returns:
        Tensor of the input's shape.
    """
    input, dim = _softmax_arguments("log_softmax", input, dim, dtype, _stacklevel)
    return LogSoftmax.apply(input, dim)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp into ``[min_val, max_val]`` (a composition: ``input.clamp(min_val, max_val)``).

    Args:
        input: any float tensor.
        min_val: lower end of the linear region.
        max_val: upper end of the linear region.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape.
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return input.clamp(min_val, max_val)


class LeakyRelu(Function):
    """y = x if x > 0 else slope * x;  dx = grad where x > 0, else slope * grad."""

    def attributes(self) -> dict[str, Any]:
        return {} if self.negative_slope == 0.01 else {"negative_slope": self.negative_slope}

    @staticmethod
    def forward(ctx, x: Tensor, negative_slope: float) -> np.ndarray:
        positive = x.data > 0
        ctx.negative_slope = negative_slope
        ctx.save_for_backward(positive)
        return np.where(positive, x.data, x.data * negative_slope)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (positive,) = ctx.saved_tensors
        return where(positive, grad, grad * ctx.negative_slope), None


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """max(x, 0) + negative_slope * min(x, 0), elementwise.

    Args:
        input: any float tensor.
        negative_slope: slope for negative inputs.

    Returns:
        Tensor of the same shape.
    """
    return LeakyRelu.apply(input, negative_slope)


class Elu(Function):
    """y = x if x > 0 else alpha * (e**x - 1);  dx = grad where x > 0, else grad * alpha * e**x."""

    def attributes(self) -> dict[str, Any]:
        return {} if self.alpha == 1.0 else {"alpha": self.alpha}

    @staticmethod
    def forward(ctx, x: Tensor, alpha: float) -> np.ndarray:
        ctx.alpha = alpha
        ctx.save_for_backward(x)
        # expm1 of min(x, 0): exact near 0, and large positive x (not used there) cannot overflow.
        return np.where(x.data > 0, x.data, alpha * np.expm1(np.minimum(x.data, 0)))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return where(x.data > 0, grad, grad * (x.clamp(max=0.0).exp() * ctx.alpha)), None


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha * (e**x - 1) otherwise.

    Args:
        input: any float tensor.
        alpha: the value approached for very negative inputs is -alpha.

    Returns:
        Tensor of the same shape.
    """
    return Elu.apply(input, alpha)


def silu(input: Tensor) -> Tensor:
    """Sigmoid-weighted linear unit x * sigmoid(x) (a composition of two ops).

    Args:
        input: any float tensor.

    Returns:
        Tensor of the same shape.
    """
    return input * Sigmoid.apply(input)


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
# the coefficients of netlib's specfun/calerf: relative error below 1e-16 in exact arithmetic, so the
# result is as accurate as the dtype it is evaluated in (a few ulps in float64). erf on
# |x| <= 0.46875 as x * A(x^2) / B(x^2); erfc(x) * e**(x^2) as C(x) / D(x) on (0.46875, 4] and as an
# asymptotic series in 1/x^2 beyond.
_ERF_A = (3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3,
          1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2,
           8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3,
           2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3,
           3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
           6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2,
           2.33520497626869185e-3)
_INV_SQRT_PI = 0.56418958354775628695


def _rational(t: np.ndarray, numerator: tuple, denominator: tuple) -> np.ndarray:
    """Cody's Horner scheme: the highest numerator coefficient is stored last, the denominator is monic."""
    steps = len(denominator) - 1
    # In place: the loop runs up to 16 passes, and fresh temporaries would dominate its cost.
    top = numerator[-1] * t
    bottom = t.copy()
    for a, b in zip(numerator[:steps], denominator[:steps]):
        top += a
        top *= t
        bottom += b
        bottom *= t
    top += numerator[steps]
    bottom += denominator[steps]
    top /= bottom
    return top


def erfc_array(x: np.ndarray) -> np.ndarray:
    """Complementary error function of an ndarray, in its own float dtype (numpy has no erf).

    Vectorised over the three ranges of Cody's approximation; accurate to a few ulps, and relative
    accuracy is kept in the tail where erfc is tiny (what ``gelu`` of very negative inputs needs).
    """
    y = np.abs(x)
    result = np.empty_like(x)
    near = y <= 0.46875
    x_near = x[near]
    result[near] = 1.0 - x_near * _rational(x_near * x_near, _ERF_A, _ERF_B)
    middle = ~near & (y <= 4.0)
    far = ~near & ~middle
    # Beyond 40 erfc underflows to 0 in every dtype; clipping keeps inf from producing inf - inf below.
    y_mid, y_far = y[middle], np.minimum(y[far], 40.0)
    scaled = np.empty_like(y)
    scaled[middle] = _rational(y_mid, _ERFC_C, _ERFC_D)
    inverse_square = 1.0 / (y_far * y_far)
    scaled[far] = (_INV_SQRT_PI - inverse_square * _rational(inverse_square, _ERFC_P, _ERFC_Q)) / y_far
    # e**(-y^2) with y^2 split into a part exact in floating point (y rounded to 1/16) and a small
    # remainder, so the rounding error of y*y is not amplified by the exponential.
    tail = ~near
    y_tail = np.minimum(y[tail], 40.0)
    rounded = np.trunc(y_tail * 16.0) / 16.0
    tail_value = np.exp(-rounded * rounded) * np.exp(-(y_tail - rounded) * (y_tail + rounded)) * scaled[tail]
    result[tail] = np.where(x[tail] < 0, 2.0 - tail_value, tail_value)
    return result


class Erfc(Function):
    """y = erfc(x) = 1 - erf(x);  dx = -grad * 2 / sqrt(pi) * e**(-x^2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return erfc_array(x.data)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * (-x * x).exp() * (-2.0 * _INV_SQRT_PI)


_INV_SQRT_2 = 0.70710678118654752440
_INV_SQRT_2PI = 0.39894228040143267794
_SQRT_2_OVER_PI = 0.79788456080286535588
_TANH_CUBIC = 0.044715


class Gelu(Function):
    """y = x * Phi(x) with Phi the standard normal cdf (or its tanh approximation);
    dx = grad * (Phi(x) + x * phi(x)), phi the normal density."""

    def attributes(self) -> dict[str, Any]:
        return {} if self.approximate == "none" else {"approximate": self.approximate}

    @staticmethod
    def forward(ctx, x: Tensor, approximate: str) -> np.ndarray:
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        data = x.data
        if approximate == "tanh":
            return 0.5 * data * (1.0 + np.tanh(_SQRT_2_OVER_PI * (data + _TANH_CUBIC * data ** 3)))
        # Phi(x) = erfc(-x / sqrt 2) / 2 keeps full relative accuracy for very negative x.
        return 0.5 * data * erfc_array(-_INV_SQRT_2 * data)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = (x + x * x * x * _TANH_CUBIC) * _SQRT_2_OVER_PI
            t = inner.tanh()
            slope = (1.0 + t) * 0.5 + x * (1.0 - t * t) * (1.0 + x * x * (3 * _TANH_CUBIC)) * (0.5 * _SQRT_2_OVER_PI)
        else:
            cdf = Erfc.apply(x * -_INV_SQRT_2) * 0.5
            slope = cdf + x * (x * x * -0.5).exp() * _INV_SQRT_2PI
        return grad * slope, None


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x * Phi(x), Phi the standard normal cdf.

    Args:
        input: any float tensor.
        approximate: ``'none'`` for the exact form (through erf, evaluated with Cody's rational
            approximations to full precision), ``'tanh'`` for
            0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Returns:
        Tensor of the same shape.
    """
    if approximate not in ("none", "tanh"):
        raise OpError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate)


class Dropout(Function):
    """y = x * mask;  dx = grad * mask (the mask already holds the 1 / (1 - p) scale)."""

    @staticmethod
    def forward(ctx, x: Tensor, mask: np.ndarray) -> np.ndarray:
        mask = to_device(mask, device_of(x.data))  # drawn by the host generator (the CPU's stream): sent to x's device
        ctx.save_for_backward(mask)
        return x.data * mask

    @staticmethod
    def backward(ctx, grad: Tensor):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def _dropout_mask(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """Keep-mask scaled by 1 / (1 - p) (inverted dropout), drawn from the global generator."""
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float32
    keep = generator().random(shape, dtype=draw_dtype) >= p
    return (keep * (1.0 / (1.0 - p) if p < 1 else 0.0)).astype(dtype)


def _check_probability(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (inverted dropout),
    so that no rescaling is needed at evaluation time.

    Args:
        input: any float tensor.
        p: probability of zeroing an element.
        training: apply dropout; when False the input is returned unchanged.

    Returns:
        Tensor of the same shape. The mask comes from the generator seeded by ``autograd.manual_seed``.
    """
    _check_probability(p, "dropout")
    if not training or p == 0:
        return input
    return Dropout.apply(input, _dropout_mask(input.shape, p, input.dtype))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels with probability ``p`` and scale the kept ones by 1 / (1 - p).

    Adjacent pixels of a feature map are strongly correlated, so dropping single elements barely
    regularises a conv net; dropping a channel does.

    Args:
        input: (N, C, H, W), or (C, H, W) for one unbatched sample.
        p: probability of zeroing a channel.
        training: apply dropout; when False the input is returned unchanged.

    Returns:
        Tensor of the same shape.
    """
    _check_probability(p, "dropout2d")
    if input.ndim not in (3, 4):
        raise OpError(f"dropout2d: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape {input.shape}")
    if not training or p == 0:
        return input
    return Dropout.apply(input, _dropout_mask(input.shape[:-2] + (1, 1), p, input.dtype))


# ----------------------------------------------------------------------------- more activations, PyTorch's set
# Most are compositions of the ops above, so their gradients (and second derivatives) come from those ops.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) elementwise (``hardtanh(x, 0, 6)``).

    Args:
        input: any float tensor.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape.
    """
    return input.clamp(0.0, 6.0)


class Hardsigmoid(Function):
    """y = clamp(x / 6 + 1/2, 0, 1);  dx = grad / 6 where -3 < x < 3 (open, as in PyTorch), else 0."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        data = floating(x.data)
        ctx.save_for_backward((data > -3.0) & (data < 3.0))
        return np.clip(data / 6.0 + 0.5, 0.0, 1.0).astype(data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (inside,) = ctx.saved_tensors
        return where(inside, grad / 6.0, 0.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Piecewise-linear sigmoid: 0 below -3, 1 above 3, x / 6 + 1/2 between.

    Args:
        input: any float tensor.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape.
    """
    return Hardsigmoid.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (MobileNetV3): 0 below -3, x above 3.

    Args:
        input: any float tensor.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape; its gradient is PyTorch's at the kinks too (x / 3 + 1/2 on [-3, 3]).
    """
    return input * (input + 3.0).clamp(0.0, 6.0) / 6.0


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e**(beta x)) / beta, and x itself where beta x > threshold (where they agree to float precision).

    Args:
        input: any float tensor.
        beta: sharpness; large beta approaches relu.
        threshold: above this value of beta * x the result is linear.

    Returns:
        Tensor of the same shape, positive.
    """
    scaled = input if beta == 1 else input * beta
    smooth = Softplus.apply(scaled) if beta == 1 else Softplus.apply(scaled) / beta
    return where(scaled.data > threshold, input, smooth)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (Misra 2019).

    Args:
        input: any float tensor.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape.
    """
    return input * Softplus.apply(input).tanh()


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (e**(x / alpha) - 1)), continuously differentiable for any alpha.

    Args:
        input: any float tensor.
        alpha: the saturation value for very negative inputs is -alpha; must not be 0.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape.
    """
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (ZeroDivisionError)")
    # celu(x, alpha) = alpha * elu(x / alpha, 1).
    return Elu.apply(input, 1.0) if alpha == 1 else Elu.apply(input / alpha, 1.0) * alpha


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with Klambauer et al.'s self-normalising constants (alpha 1.6733, scale 1.0507).

    Args:
        input: any float tensor.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape.
    """
    return Elu.apply(input, _SELU_ALPHA) * _SELU_SCALE


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) elementwise.

    Args:
        input: any float tensor.

    Returns:
        Tensor of the same shape, values in (-1, 1).
    """
    return input / (input.abs() + 1.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), finite for any x.

    Args:
        input: any float tensor.

    Returns:
        Tensor of the same shape, values <= 0.
    """
    return -Softplus.apply(-input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``.

    Args:
        input: any float tensor.
        threshold: the elements at or below it are replaced.
        value: their replacement.
        inplace: accepted for compatibility; the result is always a new tensor.

    Returns:
        Tensor of the same shape; the gradient passes where x > threshold.
    """
    return where(input.data > threshold, input, value)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, with one learned slope per channel (dimension 1) or one for all.

    Args:
        input: (N, C, *) or any shape when ``weight`` has one element.
        weight: (C,) or (1,) slopes.

    Shape:
        - Input: (N, C, *), or (C,) / () with one slope. Output: same shape.

    Returns:
        Tensor of the input's shape.
    """
    count = weight.numel()
    if count != 1:
        channels = input.shape[1] if input.ndim >= 2 else None
        if weight.ndim != 1 or count != channels:
            raise OpError(f"prelu: weight of shape {weight.shape} must have 1 element or one per channel "
                          f"(dimension 1) of the input of shape {input.shape}")
        weight = weight.reshape((count,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return where(input.data > 0, input, input * weight)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit a * sigmoid(b), with a and b the two halves of ``input`` along ``dim``.

    Args:
        input: a tensor whose size along ``dim`` is even.
        dim: the dimension to halve.

    Shape:
        - Input: (*, 2M, *). Output: (*, M, *).

    Returns:
        Tensor with ``dim`` halved.
    """
    if input.ndim == 0:
        raise OpError("glu: does not support scalars because halving size must be even")
    axis = reduced_axes(dim, input.ndim, "glu")[0]
    if input.shape[axis] % 2:
        raise OpError(f"glu: Halving dimension must be even, but dimension {axis} is size {input.shape[axis]} "
                      f"(input of shape {input.shape})")
    first, second = input.chunk(2, axis)
    return first * Sigmoid.apply(second)


def _softmax_arguments(op: str, input: Tensor, dim: int | None, dtype: Any, stacklevel: int) -> tuple[Tensor, int]:
    """The input cast to ``dtype`` (when given) and the dim of softmax, log_softmax and softmin.

    Without a dim, PyTorch's legacy choice with its deprecation warning (``stacklevel`` counted from here, so the
    wrappers pass their own ``_stacklevel``): 0 for 0-, 1- and 3-d inputs (one unbatched sample), else 1.
    """
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as "
                      f"an argument.", stacklevel=stacklevel)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return (input if dtype is None else input.to(dtype)), dim


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``: the smallest entries get the largest weights.

    Args:
        input: float tensor.
        dim: the dimension whose entries sum to 1 (None: PyTorch's deprecated implicit choice, with a warning).
        dtype: cast the input to this dtype first.

    Returns:
        Tensor of the input's shape.
    """
    input, dim = _softmax_arguments("softmin", input, dim, dtype, _stacklevel)
    return Softmax.apply(-input, dim)


def normalize(input: Tensor, p: float = 2.0, dim: int | tuple = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors, zero vectors left at 0.

    Args:
        input: float tensor.
        p: the norm's exponent (``float('inf')`` for the largest absolute value).
        dim: the dimension (or dimensions) the norm runs over.
        eps: the smallest norm divided by, so a zero vector stays 0 (its gradient too).
        out: not supported (results are always new tensors); must be None.

    Returns:
        Tensor of the input's shape.
    """
    if out is not None:
        raise ValueError("normalize: out= is not supported; use the returned tensor")
    check_floating("normalize", input)
    if p == float("inf"):
        norm = input.abs().amax(dim, keepdim=True).clamp(min=eps)
    elif p == 2:
        # sqrt(max(sum x^2, eps^2)) is max(||x||, eps), and its gradient stays finite at a zero vector.
        norm = (input * input).sum(dim, keepdim=True).clamp(min=eps * eps).sqrt()
    elif p > 0:
        norm = (input.abs() ** p).sum(dim, keepdim=True).clamp(min=eps ** p) ** (1.0 / p)
    else:
        raise ValueError(f"normalize: p must be positive, got {p}")
    return input / norm
