"""Trigonometric and hyperbolic functions beyond sin, cos and tanh: tan, asin, acos, atan, atan2, sinh, cosh,
asinh, acosh, atanh.

Each gradient is written with the framework's own ops (``asin``'s is ``grad * rsqrt(1 - x**2)``), so it
differentiates again. Integer inputs give the default float dtype, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .elementwise import _broadcasting, _shape  # the binary ops' broadcasting and its error, shared
from .promotion import floating
from .shape import sum_to


class Tan(Function):
    """y = tan x;  dx = grad * (1 + tan(x)**2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.tan(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = Tan.apply(x)
        return grad * (y * y + 1.0)


class Asin(Function):
    """y = asin x;  dx = grad / sqrt(1 - x**2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.arcsin(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (1.0 - x * x).sqrt()


class Acos(Function):
    """y = acos x;  dx = -grad / sqrt(1 - x**2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.arccos(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return -grad / (1.0 - x * x).sqrt()


class Atan(Function):
    """y = atan x;  dx = grad / (1 + x**2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.arctan(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (x * x + 1.0)


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a);  da = grad * b / (a**2 + b**2),
    db = -grad * a / (a**2 + b**2)."""

    broadcasts_inputs = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _broadcasting(np.arctan2, "atan2", a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        scaled = grad / (a * a + b * b)
        return (sum_to(scaled * b, _shape(a)) if needs[0] else None,
                sum_to(-scaled * a, _shape(b)) if needs[1] else None)


class Sinh(Function):
    """y = sinh x;  dx = grad * cosh x."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sinh(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * Cosh.apply(x)


class Cosh(Function):
    """y = cosh x;  dx = grad * sinh x."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.cosh(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * Sinh.apply(x)


class Asinh(Function):
    """y = asinh x;  dx = grad / sqrt(x**2 + 1)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.arcsinh(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (x * x + 1.0).sqrt()


class Acosh(Function):
    """y = acosh x (x >= 1);  dx = grad / sqrt(x**2 - 1)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.arccosh(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (x * x - 1.0).sqrt()


class Atanh(Function):
    """y = atanh x (|x| < 1);  dx = grad / (1 - x**2)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.arctanh(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (1.0 - x * x)


def tan(input: Tensor) -> Tensor:
    """Tangent elementwise.

    Args:
        input: any tensor (integers give the default float dtype).

    Returns:
        Tensor of the same shape.
    """
    return Tan.apply(input)


def asin(input: Tensor) -> Tensor:
    """Arcsine elementwise: nan outside [-1, 1], as in PyTorch.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values in [-pi/2, pi/2].
    """
    return Asin.apply(input)


def acos(input: Tensor) -> Tensor:
    """Arccosine elementwise: nan outside [-1, 1].

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values in [0, pi].
    """
    return Acos.apply(input)


def atan(input: Tensor) -> Tensor:
    """Arctangent elementwise.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values in (-pi/2, pi/2).
    """
    return Atan.apply(input)


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input): atan(input / other) in the right quadrant.

    Args:
        input: the y coordinates.
        other: the x coordinates, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape, values in [-pi, pi].
    """
    return Atan2.apply(input, other)


def sinh(input: Tensor) -> Tensor:
    """Hyperbolic sine elementwise.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Sinh.apply(input)


def cosh(input: Tensor) -> Tensor:
    """Hyperbolic cosine elementwise.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values >= 1.
    """
    return Cosh.apply(input)


def asinh(input: Tensor) -> Tensor:
    """Inverse hyperbolic sine elementwise.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Asinh.apply(input)


def acosh(input: Tensor) -> Tensor:
    """Inverse hyperbolic cosine elementwise: nan below 1.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape, values >= 0.
    """
    return Acosh.apply(input)


def atanh(input: Tensor) -> Tensor:
    """Inverse hyperbolic tangent elementwise: +-inf at +-1, nan beyond.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape.
    """
    return Atanh.apply(input)
