"""Rounding, signs and division with remainders: sign, trunc, floor, ceil, round, frac, copysign, fmod, remainder
(``%``), div with a rounding mode and floor_divide (``//``).

The rounding ops are piecewise constant, so their gradient is 0 (as PyTorch defines it; the jumps are ignored) and
they still record a node, so a graph through them reaches its leaves. ``fmod`` and ``remainder`` are
``a - b * trunc(a / b)`` and ``a - b * floor(a / b)``: their gradients are ``grad`` and ``-grad * trunc(a / b)``
(``floor``). Integer tensors round to themselves, and integer division by zero raises, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import OpError
from ..function import Function
from ..tensor import Tensor, unwrap, wrap
from .elementwise import Div, _broadcasting
from .promotion import result_type
from .shape import sum_to


class _PiecewiseConstant(Function):
    """Base of the ops that are constant between jumps: every input gets a zero gradient."""

    @staticmethod
    def backward(ctx, grad: Tensor):
        # *_like(grad): the zeros go on the gradient's device.
        return tuple(None if edge is None else wrap(np.zeros_like(grad.data, shape=edge.shape, dtype=edge.dtype))
                     for edge in ctx.next_edges)


def _integral(x: Tensor) -> bool:
    return x.data.dtype.kind in "biu"


class Sign(_PiecewiseConstant):
    """y = -1, 0 or 1 by the sign of x (0 for nan, as in PyTorch);  dx = 0."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        if x.data.dtype.kind == "b":
            return x.data.copy()
        signs = np.sign(x.data)
        return np.where(np.isnan(signs), 0, signs).astype(signs.dtype) if signs.dtype.kind == "f" else signs


class Trunc(_PiecewiseConstant):
    """y = x rounded towards 0;  dx = 0."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        return x.data.copy() if _integral(x) else np.trunc(x.data)


class Floor(_PiecewiseConstant):
    """y = the largest integer <= x;  dx = 0."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        return x.data.copy() if _integral(x) else np.floor(x.data)


class Ceil(_PiecewiseConstant):
    """y = the smallest integer >= x;  dx = 0."""

    @staticmethod
    def forward(ctx, x: Tensor) -> np.ndarray:
        return x.data.copy() if _integral(x) else np.ceil(x.data)


class Round(_PiecewiseConstant):
    """y = x rounded to ``decimals`` places, halves to even;  dx = 0."""

    def attributes(self) -> dict[str, Any]:
        return {"decimals": self.decimals} if self.decimals else {}

    @staticmethod
    def forward(ctx, x: Tensor, decimals: int) -> np.ndarray:
        ctx.decimals = decimals
        return x.data.copy() if _integral(x) and decimals >= 0 else np.round(x.data, decimals)


class RoundedDiv(_PiecewiseConstant):
    """y = trunc(a / b) or floor(a / b) (``mode``), exact for integers;  da = db = 0."""

    broadcasts_inputs = True

    def attributes(self) -> dict[str, Any]:
        return {"rounding_mode": self.mode}

    @staticmethod
    def forward(ctx, a: Any, b: Any, mode: str) -> np.ndarray:
        ctx.mode = mode
        if not _check_integer_divisor("div", a, b):
            return np.trunc(_broadcasting(np.true_divide, "div", a, b)) if mode == "trunc" else \
                _broadcasting(np.floor_divide, "div", a, b)
        quotient = _broadcasting(np.floor_divide, "div", a, b)
        a, b = unwrap(a), unwrap(b)
        if mode == "floor":
            return quotient
        # Floor and truncation differ by one where the division is inexact and the signs differ.
        inexact = np.not_equal(np.remainder(a, b), 0) & np.not_equal(np.less(a, 0), np.less(b, 0))
        return quotient + inexact.astype(quotient.dtype)


def _check_integer_divisor(op: str, a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` divide as integers; raises for a zero integer divisor (before numpy warns)."""
    if result_type(unwrap(a), unwrap(b)).kind not in "biu":
        return False
    if np.any(np.equal(unwrap(b), 0)):
        raise OpError(f"{op}: ZeroDivisionError (an integer divisor is 0)")
    return True


class Copysign(Function):
    """y = |a| with the sign of b;  da = grad * y / a (0 where a == 0, as in PyTorch),  db = 0."""

    broadcasts_inputs = True

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        result = _broadcasting(np.copysign, "copysign", a, b)
        a_data = unwrap(a)
        # The factor +-1 that turns a into y, kept instead of the inputs: backward needs nothing else.
        ctx.save_for_backward(np.where(np.equal(a_data, 0), 0, np.copysign(1, a_data) * np.copysign(1, result)))
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        (flip,) = ctx.saved_tensors
        a, b = ctx.next_edges
        return (sum_to(grad * flip.astype(grad.dtype), a.shape) if a else None,
                wrap(np.zeros_like(grad.data, shape=b.shape, dtype=b.dtype)) if b else None)


class _Modulo(Function):
    """Base of fmod and remainder: y = a - b * q(a / b);  da = grad,  db = -grad * q(a / b)."""

    broadcasts_inputs = True
    ufunc = staticmethod(np.fmod)
    quotient = staticmethod(lambda a, b: np.trunc(np.true_divide(a, b)))

    @classmethod
    def _compute(cls, ctx, a: Any, b: Any) -> np.ndarray:
        op = cls.__name__.lower()
        integral = _check_integer_divisor(op, a, b)
        result = _broadcasting(cls.ufunc, op, a, b)
        if not integral and ctx.needs_input_grad[1]:
            ctx.save_for_backward(cls.quotient(unwrap(a), unwrap(b)).astype(result.dtype))
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.next_edges
        grad_b = None
        if b:
            (quotient,) = ctx.saved_tensors
            grad_b = sum_to(-grad * quotient, b.shape)
        return sum_to(grad, a.shape) if a else None, grad_b


class Fmod(_Modulo):
    """y = a - b * trunc(a / b), the sign of a (C's fmod);  da = grad,  db = -grad * trunc(a / b)."""

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        return Fmod._compute(ctx, a, b)


class Remainder(_Modulo):
    """y = a - b * floor(a / b), the sign of b (Python's %);  da = grad,  db = -grad * floor(a / b)."""

    ufunc = staticmethod(np.remainder)
    quotient = staticmethod(np.floor_divide)  # PyTorch's div(rounding_mode='floor'), consistent with np.remainder

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        return Remainder._compute(ctx, a, b)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for nan, as in PyTorch); zero gradient.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape and dtype.
    """
    return Sign.apply(input)


def trunc(input: Tensor) -> Tensor:
    """Round towards 0 elementwise; zero gradient.

    Args:
        input: any tensor (integer tensors are returned as a copy).

    Returns:
        Tensor of the same shape and dtype.
    """
    return Trunc.apply(input)


def floor(input: Tensor) -> Tensor:
    """The largest integer <= x, elementwise; zero gradient.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape and dtype.
    """
    return Floor.apply(input)


def ceil(input: Tensor) -> Tensor:
    """The smallest integer >= x, elementwise; zero gradient.

    Args:
        input: any tensor.

    Returns:
        Tensor of the same shape and dtype.
    """
    return Ceil.apply(input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round to ``decimals`` decimal places, halves to even (``round(2.5) == 2``); zero gradient.

    Args:
        input: any tensor.
        decimals: places after the point; negative rounds to tens, hundreds...

    Returns:
        Tensor of the same shape and dtype.
    """
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise OpError(f"round: decimals must be an int, got {decimals!r}")
    return Round.apply(input, int(decimals))


def frac(input: Tensor) -> Tensor:
    """The fractional part x - trunc(x), with the sign of x; gradient 1.

    Args:
        input: a float tensor.

    Returns:
        Tensor of the same shape.
    """
    if _integral(input):
        raise OpError(f"frac: expected a floating point input, got dtype {input.dtype}")
    return input - Trunc.apply(input)


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign of ``other``, elementwise (integer inputs give the default float dtype).

    Args:
        input: the magnitudes.
        other: the signs (-0.0 counts as negative), broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape; the gradient to ``other`` is 0.
    """
    return Copysign.apply(input, other)


def fmod(input: Any, other: Any) -> Tensor:
    """The remainder of ``input / other`` with the sign of ``input`` (C's fmod).

    Args:
        input: the dividend.
        other: the divisor, broadcastable with ``input``; an integer 0 raises ``OpError``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return Fmod.apply(input, other)


def remainder(input: Any, other: Any) -> Tensor:
    """The remainder of ``input / other`` with the sign of ``other`` (Python's ``%``, ``tensor % other``).

    Args:
        input: the dividend.
        other: the divisor, broadcastable with ``input``; an integer 0 raises ``OpError``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return Remainder.apply(input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other`` with an optional rounding of the quotient.

    Args:
        input: the dividend.
        other: the divisor, broadcastable with ``input``.
        rounding_mode: None for true division (integers give the default float dtype), ``'trunc'`` to round
            towards 0 (C's integer division), ``'floor'`` to round down (Python's ``//``). The rounded quotients have
            the promoted dtype and zero gradients; an integer divisor of 0 raises ``OpError``.

    Returns:
        Tensor of the broadcast shape.
    """
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"{rounding_mode!r}")
    return RoundedDiv.apply(input, other, rounding_mode)


def floor_divide(input: Any, other: Any) -> Tensor:
    """``input // other``: the quotient rounded down, ``div(input, other, rounding_mode='floor')``.

    Args:
        input: the dividend.
        other: the divisor, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype, with zero gradients.
    """
    return RoundedDiv.apply(input, other, "floor")

