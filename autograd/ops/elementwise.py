"""Elementwise math with numpy broadcasting: + - * / ** and the unary functions.

Binary ops broadcast like numpy and promote dtypes like PyTorch (``promotion.py``: ``int64 / int64`` is float32,
a 0-d float64 tensor leaves a float32 tensor float32); each input's gradient is summed back to that input's shape
(``sum_to``), because broadcasting used each of its elements several times. Shapes that do not
broadcast raise an ``OpError`` (a RuntimeError, as in PyTorch) naming both. Subtraction and
division are primitives rather than compositions (a + (-b), a * b**-1): they sit in every hot
loop and a/b rounds differently from a * (1/b).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..function import Function
from ..tensor import ScalarTensor, Tensor, unwrap, wrap
from .indexing import where
from .promotion import binary_dtype, floating
from .shape import sum_to


def _shape(value: Any) -> tuple:
    if type(value) is ScalarTensor:
        return ()  # without making its array
    if isinstance(value, Tensor):
        return value.data.shape
    return () if isinstance(value, (int, float, np.generic)) else np.shape(value)


def _broadcasting(ufunc: Callable, op: str, a: Any, b: Any) -> np.ndarray:
    # Inline rather than unwrap(): two calls fewer on every arithmetic op.
    a, b = a.data if isinstance(a, Tensor) else a, b.data if isinstance(b, Tensor) else b
    dtype = binary_dtype(ufunc, a, b)  # PyTorch's promotion where numpy's differs (see promotion.py)
    try:
        # Unsafe: PyTorch casts a 0-d int8 tensor into a uint8 tensor's dtype, which numpy calls unsafe.
        return ufunc(a, b) if dtype is None else ufunc(a, b, dtype=dtype, casting="unsafe")
    except ValueError:
        raise OpError(f"{op}: shapes {_shape(a)} and {_shape(b)} cannot be broadcast together") from None


class Add(Function):
    """y = a + b."""

    broadcasts_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        return _broadcasting(np.add, "add", a, b)

    @staticmethod
    def scalar_forward(ctx, a: Any, b: Any) -> np.generic:
        return a + b

    @staticmethod
    def backward(ctx, grad: Tensor):
        # The edge of each input that needs a gradient holds its shape: nothing else to keep (the scalar graphs
        # of many additions keep two objects fewer per op).
        a, b = ctx.next_edges
        return sum_to(grad, a.shape) if a else None, sum_to(grad, b.shape) if b else None


class Sub(Function):
    """y = a - b."""

    broadcasts_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        return _broadcasting(np.subtract, "sub", a, b)

    @staticmethod
    def scalar_forward(ctx, a: Any, b: Any) -> np.generic:
        return a - b

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.next_edges  # their shapes, as in Add
        return sum_to(grad, a.shape) if a else None, sum_to(-grad, b.shape) if b else None


class Mul(Function):
    """y = a * b;  da = grad * b,  db = grad * a."""

    broadcasts_inputs = True
    scalar_saves_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _broadcasting(np.multiply, "mul", a, b)

    @staticmethod
    def scalar_forward(ctx, a: Any, b: Any) -> np.generic:
        return a * b

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        edge_a, edge_b = ctx.next_edges  # the inputs' shapes, for those that need a gradient (as in Add)
        return (sum_to(grad * b, edge_a.shape) if edge_a else None,
                sum_to(grad * a, edge_b.shape) if edge_b else None)


class Div(Function):
    """y = a / b;  da = grad / b,  db = -grad * a / b**2."""

    broadcasts_inputs = True
    scalar_saves_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _broadcasting(np.true_divide, "div", a, b)

    @staticmethod
    def scalar_forward(ctx, a: Any, b: Any) -> np.generic:
        return a / b

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        edge_a, edge_b = ctx.next_edges  # the inputs' shapes, as in Mul
        return (sum_to(grad / b, edge_a.shape) if edge_a else None,
                sum_to(-grad * a / (b * b), edge_b.shape) if edge_b else None)


class Neg(Function):
    """y = -x."""

    scalar_backward = True

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        return np.negative(x.data)

    @staticmethod
    def scalar_forward(ctx, x: np.generic) -> np.generic:
        return -x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return -grad


def _is_integral(value: Any) -> bool:
    return np.asarray(unwrap(value)).dtype.kind in "biu"


class Pow(Function):
    """y = base ** exponent;  d base = grad * exponent * base**(exponent-1),  d exponent = grad * y * log(base),
    with PyTorch's masks: d base = 0 where exponent == 0, d exponent = 0 where base == 0 and exponent >= 0."""

    broadcasts_inputs = True
    scalar_saves_inputs = True

    @staticmethod
    def scalar_forward(ctx, base: Any, exponent: Any) -> np.generic:
        # The ufunc, as on arrays: numpy's scalar ** rounds differently (1 ulp in a fifth of float32 powers).
        return np.power(base, exponent)  # only floats come here: no integer check

    @staticmethod
    def forward(ctx, base: Any, exponent: Any) -> np.ndarray:
        if _is_integral(base) and _is_integral(exponent) and np.any(np.less(unwrap(exponent), 0)):
            # PyTorch raises this for a negative Python int exponent and truncates 1 / base**-e to an integer for
            # tensor exponents; both are refused here, rather than returning 0 for nearly every base.
            raise OpError(f"pow: Integers to negative integer powers are not allowed (base of dtype "
                          f"{np.asarray(unwrap(base)).dtype}, exponent {unwrap(exponent)!r})")
        ctx.save_for_backward(base, exponent)
        return _broadcasting(np.power, "pow", base, exponent)

    @staticmethod
    def backward(ctx, grad: Tensor):
        base, exponent = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if needs[0]:
            # On the operands' device: a scalar exponent's mask must not be a host array beside device data.
            zero = get_array_module(base, exponent).asarray(np.equal(unwrap(exponent), 0))
            if not zero.any():
                grad_base = grad * exponent * base ** (exponent - 1)
            else:
                # base**0 is constant: its derivative is 0, not exponent * base**-1 = 0 * inf = nan at base 0. The
                # power 0 put where the exponent is 0 keeps the discarded branch finite, so that the second
                # derivative, which sends zeros through it, is not nan either.
                power = where(zero, 0.0, exponent - 1) if np.ndim(zero) else 0
                grad_base = where(zero, 0.0, grad * exponent * base ** power)
            grad_base = sum_to(grad_base, _shape(base))
        if needs[1]:
            # At base 0, 0**e is constant in e for e >= 0 (0, or 1 at e = 0): the derivative is 0 there, not
            # y * log 0 = 0 * -inf. Taking log(1) instead makes that product 0. For e < 0 it stays inf * -inf, as in
            # PyTorch.
            base_tensor = base if isinstance(base, Tensor) else wrap(
                get_array_module(exponent.data).asarray(base, dtype=exponent.dtype))
            constant = (base_tensor.data == 0) & (exponent.data >= 0)
            safe_base = where(constant, 1.0, base_tensor)
            grad_exponent = sum_to(grad * base ** exponent * safe_base.log(), _shape(exponent))
        return grad_base, grad_exponent


class Exp(Function):
    """y = e**x;  dx = grad * e**x."""

    scalar_saves_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.exp(floating(x.data))

    @staticmethod
    def scalar_forward(ctx, x: np.generic) -> np.generic:
        return np.exp(x)  # the ufunc, as on arrays (numpy's scalar math would round differently)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * Exp.apply(x)  # not x.exp(): backward also runs on numbers (scalar_backward)


class Log(Function):
    """y = ln x;  dx = grad / x."""

    scalar_saves_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(floating(x.data))

    @staticmethod
    def scalar_forward(ctx, x: np.generic) -> np.generic:
        return np.log(x)  # the ufunc, as on arrays (numpy's scalar math would round differently)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Function):
    """y = ln(1 + x);  dx = grad / (1 + x)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log1p(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad / (x + 1.0)


class Sqrt(Function):
    """y = sqrt(x);  dx = grad / (2 sqrt(x))."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sqrt(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * 0.5 / x.sqrt()


class Sin(Function):
    """y = sin x;  dx = grad * cos x."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.sin(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Function):
    """y = cos x;  dx = -grad * sin x."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.cos(floating(x.data))

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Tanh(Function):
    """y = tanh x;  dx = grad * (1 - tanh(x)**2)."""

    scalar_saves_inputs = True
    scalar_backward = True

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.tanh(floating(x.data))

    @staticmethod
    def scalar_forward(ctx, x: np.generic) -> np.generic:
        return np.tanh(x)  # the ufunc, as on arrays (numpy's scalar math would round differently)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        y = Tanh.apply(x)  # not x.tanh(): backward also runs on numbers (scalar_backward)
        return grad * (1.0 - y * y)


class Abs(Function):
    """y = |x|;  dx = grad * sign(x) (0 at x = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x.data)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        return grad * np.sign(x.data)  # piecewise constant: no second-order term


class Clamp(Function):
    """y = min(max(x, low), high);  dx = grad where low <= x <= high, else 0."""

    def attributes(self) -> dict[str, Any]:
        return {name: value for name, value in (("min", self.low), ("max", self.high)) if value is not None}

    @staticmethod
    def forward(ctx, x: Tensor, low: float | None, high: float | None) -> np.ndarray:
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return np.clip(x.data, low, high)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        inside = np.ones_like(x.data, dtype=bool)
        if ctx.low is not None:
            inside &= x.data >= ctx.low
        if ctx.high is not None:
            inside &= x.data <= ctx.high
        return where(inside, grad, 0.0), None, None


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Clamp every element of ``input`` into ``[min, max]``.

    Args:
        input: any tensor.
        min: lower bound, or None for no lower bound.
        max: upper bound, or None for no upper bound.

    Returns:
        Tensor of the same shape; the gradient passes where the input was inside the bounds.
    """
    if min is None and max is None:
        raise OpError("clamp: at least one of min and max must be given")
    return Clamp.apply(input, min, max)


class Maximum(Function):
    """y = max(a, b) elementwise; where a == b each side gets half the gradient (as in PyTorch)."""

    broadcasts_inputs = True

    winner = staticmethod(np.greater)

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _broadcasting(np.maximum, "maximum", a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        a_data, b_data = unwrap(a), unwrap(b)
        # Each side's share is 1 unless the other side wins, less a half at ties: where either is nan (no order)
        # both get the whole gradient, as in PyTorch.
        tie = 0.5 * (a_data == b_data)
        winner = type(ctx).winner
        share_a = (1.0 - winner(b_data, a_data) - tie).astype(grad.dtype)
        share_b = (1.0 - winner(a_data, b_data) - tie).astype(grad.dtype)
        needs = ctx.needs_input_grad
        return (sum_to(grad * share_a, _shape(a)) if needs[0] else None,
                sum_to(grad * share_b, _shape(b)) if needs[1] else None)


class Minimum(Maximum):
    """y = min(a, b) elementwise; where a == b each side gets half the gradient."""

    winner = staticmethod(np.less)

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return _broadcasting(np.minimum, "minimum", a, b)


# Functional forms, as in ``torch.exp(x)``; Tensor methods call the Functions directly.
def exp(input: Tensor) -> Tensor:
    """e**x elementwise."""
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    """Natural logarithm elementwise."""
    return Log.apply(input)


def log1p(input: Tensor) -> Tensor:
    """log(1 + x) elementwise, accurate for small x."""
    return Log1p.apply(input)


def sqrt(input: Tensor) -> Tensor:
    """Square root elementwise."""
    return Sqrt.apply(input)


def sin(input: Tensor) -> Tensor:
    """Sine elementwise."""
    return Sin.apply(input)


def cos(input: Tensor) -> Tensor:
    """Cosine elementwise."""
    return Cos.apply(input)


def abs(input: Tensor) -> Tensor:
    """Absolute value elementwise."""
    return Abs.apply(input)


def pow(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` with broadcasting; either may be a Python number.

    Args:
        input: the base.
        exponent: the exponent. An integer base with a negative integer exponent raises ``OpError``.

    Returns:
        Tensor of the broadcast shape. Its gradients follow PyTorch at base 0: the derivative of ``x ** 0`` is 0,
        and the derivative with respect to the exponent of ``0 ** e`` (e >= 0) is 0.
    """
    return Pow.apply(input, exponent)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum of two broadcastable tensors."""
    return Maximum.apply(input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum of two broadcastable tensors."""
    return Minimum.apply(input, other)


clip = clamp


def clamp_min(input: Tensor, min: float) -> Tensor:
    """``clamp(input, min=min)``: every element raised to at least ``min``.

    Args:
        input: any tensor.
        min: the lower bound (a number).

    Returns:
        Tensor of the same shape; the gradient passes where ``input >= min``.
    """
    return Clamp.apply(input, min, None)


def clamp_max(input: Tensor, max: float) -> Tensor:
    """``clamp(input, max=max)``: every element lowered to at most ``max``.

    Args:
        input: any tensor.
        max: the upper bound (a number).

    Returns:
        Tensor of the same shape; the gradient passes where ``input <= max``.
    """
    return Clamp.apply(input, None, max)


class NanToNum(Function):
    """y = x with nan, +inf and -inf replaced by numbers;  dx = grad where x is finite, else 0."""

    def attributes(self) -> dict[str, Any]:
        return {name: value for name, value in self.replacements.items() if value != (0.0 if name == "nan" else None)}

    @staticmethod
    def forward(ctx, x: Tensor, nan: float, posinf: float | None, neginf: float | None) -> np.ndarray:
        ctx.replacements = {"nan": nan, "posinf": posinf, "neginf": neginf}
        if x.data.dtype.kind not in "fc":
            return x.data.copy()
        ctx.save_for_backward(np.isfinite(x.data))
        # None stands for the dtype's largest and smallest finite values, numpy's and PyTorch's default.
        return np.nan_to_num(x.data, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (finite,) = ctx.saved_tensors
        return where(finite, grad, 0.0), None, None, None


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """Replace nan by ``nan``, +inf by ``posinf`` and -inf by ``neginf``.

    Args:
        input: any tensor (integer tensors are returned as a copy).
        nan: the value for nan.
        posinf: the value for +inf; None for the dtype's largest finite value.
        neginf: the value for -inf; None for the dtype's smallest finite value.

    Returns:
        Tensor of the same shape and dtype; the gradient passes at the finite elements only.
    """
    return NanToNum.apply(input, nan, posinf, neginf)


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)`` (a composition, so all three get gradients).

    Args:
        input: the start points.
        end: the end points, broadcastable with ``input``.
        weight: a number or a tensor broadcastable with both (0 gives ``input``, 1 gives ``end``).

    Returns:
        Tensor of the broadcast shape.
    """
    return input + weight * (end - input)
