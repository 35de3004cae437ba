"""Exponentials, logarithms and the Gaussian integrals: exp2, expm1, log2, log10, rsqrt, erf, erfc, logaddexp.

``expm1`` and ``logaddexp`` exist for accuracy: e**x - 1 near 0 and log(e**a + e**b) for large a, b lose every
digit when computed naively. numpy has no erf: ``erf_array`` uses the same rational approximations (Cody 1969) as
gelu's ``erfc_array``, evaluating erf itself near 0 so that tiny inputs keep their relative accuracy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..function import Function
from ..tensor import Tensor, wrap
from .activation import _ERF_A, _ERF_B, _INV_SQRT_PI, Erfc, _rational, erfc_array  # Cody's erf, shared with gelu
from .elementwise import _broadcasting, _shape
from .promotion import floating
from .shape import sum_to

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class Exp2(Function):
    """y = 2**x;  dx = grad * 2**x * ln 2."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.exp2(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * Exp2.apply(x) * _LN2


class Expm1(Function):
    """y = e**x - 1, accurate near 0;  dx = grad * e**x."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.expm1(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * x.exp()


class Log2(Function):
    """y = log2 x;  dx = grad / (x ln 2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log2(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (x * _LN2)


class Log10(Function):
    """y = log10 x;  dx = grad / (x ln 10)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log10(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (x * _LN10)


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dx = -grad * y**3 / 2."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.reciprocal(np.sqrt(floating(x.data)))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = Rsqrt.apply(x)
        return grad * y * y * y * -0.5


def erf_array(x: np.ndarray) -> np.ndarray:
    """The error function of a float ndarray, in its dtype, to a few ulps (relative accuracy kept near 0)."""
    near = np.abs(x) <= 0.46875
    result = erfc_array(x)
    np.subtract(1.0, result, out=result)  # in place: an expression would make a 0-d result a numpy scalar
    x_near = x[near]
    result[near] = x_near * _rational(x_near * x_near, _ERF_A, _ERF_B)
    return result


class Erf(Function):
    """y = erf x;  dx = grad * 2 / sqrt(pi) * e**(-x**2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return erf_array(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * (-x * x).exp() * (2.0 * _INV_SQRT_PI)


class LogAddExp(Function):
    """y = log(e**a + e**b), computed without overflow;  da = grad * sigmoid(a - b),  db = grad * sigmoid(b - a)."""

    broadcasts_inputs = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _broadcasting(np.logaddexp, "logaddexp", a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        difference = a - b
        return (sum_to(grad * difference.sigmoid(), _shape(a)) if needs[0] else None,
                sum_to(grad * (-difference).sigmoid(), _shape(b)) if needs[1] else None)


def exp2(input: Tensor) -> Tensor:
    """2**x elementwise.

    Args:
        input: any tensor (integers give the default float dtype).

    Returns:
        Tensor of the same shape.
    """
    return Exp2.apply(input)


def expm1(input: Tensor) -> Tensor:
    """e**x - 1 elementwise, accurate for small x.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Expm1.apply(input)


def log2(input: Tensor) -> Tensor:
    """Base-2 logarithm elementwise (-inf at 0, nan below).

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Log2.apply(input)


def log10(input: Tensor) -> Tensor:
    """Base-10 logarithm elementwise (-inf at 0, nan below).

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Log10.apply(input)


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(x) elementwise (inf at 0, nan below).

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Rsqrt.apply(input)


def erf(input: Tensor) -> Tensor:
    """Error function 2 / sqrt(pi) * integral of e**(-t**2) from 0 to x, elementwise.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values in [-1, 1].
    """
    return Erf.apply(input)


def erfc(input: Tensor) -> Tensor:
    """Complementary error function 1 - erf(x), accurate where it is tiny (large x).

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values in [0, 2].
    """
    if input.dtype.kind not in "fc":
        input = wrap(floating(input.data))  # an integer tensor: no gradient to keep
    return Erfc.apply(input)


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(e**input + e**other) elementwise, without overflow or underflow.

    Args:
        input: a tensor.
        other: a tensor broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape.
    """
    return LogAddExp.apply(input, other)
