"""Comparisons with PyTorch's nan rules: isclose, allclose, equal, fmax, fmin.

``maximum``/``minimum`` (in elementwise.py) propagate nan; ``fmax``/``fmin`` ignore it, returning the other
operand, so they are what a reduction over data with missing values wants. ``fmax``'s gradient goes wholly to
``input`` where ``input >= other`` or ``other`` is nan, and to ``other`` elsewhere (ties are not split, unlike
``maximum``'s), as PyTorch defines it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..errors import OpError
from ..function import Function
from ..tensor import Tensor, unwrap
from .elementwise import _broadcasting
from .indexing import where
from .logical import _bool_broadcasting
from .shape import sum_to


class Fmax(Function):
    """y = max(a, b) ignoring nan;  da = grad where a >= b or b is nan,  db = grad elsewhere."""

    broadcasts_inputs = True
    ufunc = staticmethod(np.fmax)
    keeps_a = staticmethod(np.greater_equal)

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        return Fmax._compute(ctx, a, b)

    @classmethod
    def _compute(cls, ctx, a: Any, b: Any) -> np.ndarray:
        result = _broadcasting(cls.ufunc, cls.__name__.lower(), a, b)
        a_data, b_data = unwrap(a), unwrap(b)
        ctx.save_for_backward(np.broadcast_to(cls.keeps_a(a_data, b_data) | np.isnan(b_data), np.shape(result)))
        return result

    @staticmethod
    def backward(ctx, grad: Tensor):
        (from_a,) = ctx.saved_tensors
        a, b = ctx.next_edges
        return (sum_to(where(from_a, grad, 0.0), a.shape) if a else None,
                sum_to(where(from_a, 0.0, grad), b.shape) if b else None)


class Fmin(Fmax):
    """y = min(a, b) ignoring nan;  da = grad where a <= b or b is nan,  db = grad elsewhere."""

    ufunc = staticmethod(np.fmin)
    keeps_a = staticmethod(np.less_equal)

    @staticmethod
    def forward(ctx, a: Any, b: Any) -> np.ndarray:
        return Fmin._compute(ctx, a, b)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum that ignores nan: where one side is nan the other is returned (nan only if both are).

    Args:
        input: a tensor.
        other: a tensor broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return Fmax.apply(input, other)


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum that ignores nan: where one side is nan the other is returned (nan only if both are).

    Args:
        input: a tensor.
        other: a tensor broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return Fmin.apply(input, other)


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Whether ``|input - other| <= atol + rtol * |other|`` elementwise (equal infinities are close).

    Args:
        input: a tensor.
        other: a tensor of the same dtype, broadcastable with ``input``.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: count two nans as close.

    Returns:
        bool Tensor of the broadcast shape. No gradient.
    """
    a, b = unwrap(input), unwrap(other)
    if np.result_type(a) != np.result_type(b):
        raise OpError(f"isclose: expected both inputs to have the same dtype, got {np.result_type(a)} and "
                      f"{np.result_type(b)}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"isclose: rtol and atol must be non-negative, got rtol={rtol} and atol={atol}")
    close = functools.partial(np.isclose, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return _bool_broadcasting(close, "isclose", a, b)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element of ``input`` is close to ``other``'s (see ``isclose``).

    Args:
        input: a tensor.
        other: a tensor of the same dtype, broadcastable with ``input``.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: count two nans as close.

    Returns:
        a Python bool.
    """
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether ``input`` and ``other`` have the same shape and the same values (nan is never equal).

    Args:
        input: a tensor.
        other: a tensor (of any dtype: the values are compared after promotion).

    Returns:
        a Python bool.
    """
    a, b = unwrap(input), unwrap(other)
    return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
