"""Tests of values, logical and bitwise ops: isnan, isinf, isfinite, isposinf, isneginf, logical_and/or/xor/not,
bitwise_and/or/xor/not and the shifts (``& | ^ ~ << >>``).

None of them is differentiable: they return tensors without a ``grad_fn``, as in PyTorch. Logical ops take any
dtype (nonzero is true) and give bool; bitwise ops take integers and bools only and give the promoted dtype
(``int32 & 0-d int64 -> int32``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..device import check_same_device
from ..errors import OpError
from ..tensor import Tensor, unwrap, wrap_result
from .elementwise import _broadcasting, _shape
from .promotion import result_type


def isnan(input: Tensor) -> Tensor:
    """Whether each element is nan.

    Args:
        input: any tensor.

    Returns:
        bool Tensor of the same shape.
    """
    return wrap_result(np.isnan(input.data))


def isinf(input: Tensor) -> Tensor:
    """Whether each element is +inf or -inf.

    Args:
        input: any tensor.

    Returns:
        bool Tensor of the same shape.
    """
    return wrap_result(np.isinf(input.data))


def isposinf(input: Tensor) -> Tensor:
    """Whether each element is +inf.

    Args:
        input: any tensor.

    Returns:
        bool Tensor of the same shape.
    """
    return wrap_result(np.isposinf(input.data))


def isneginf(input: Tensor) -> Tensor:
    """Whether each element is -inf.

    Args:
        input: any tensor.

    Returns:
        bool Tensor of the same shape.
    """
    return wrap_result(np.isneginf(input.data))


def isfinite(input: Tensor) -> Tensor:
    """Whether each element is finite (neither inf nor nan).

    Args:
        input: any tensor.

    Returns:
        bool Tensor of the same shape.
    """
    return wrap_result(np.isfinite(input.data))


def _bool_broadcasting(ufunc: Callable, op: str, a: Any, b: Any) -> Tensor:
    """``ufunc(a, b)`` over the broadcast operands, as a tensor without a gradient (the logical ops, isclose)."""
    a, b = unwrap(a), unwrap(b)
    try:
        return wrap_result(ufunc(a, b))
    except ValueError:
        raise OpError(f"{op}: shapes {_shape(a)} and {_shape(b)} cannot be broadcast together") from None
    except TypeError:  # as Function.apply: CuPy's refusal to mix devices names neither device
        check_same_device(op, a, b)
        raise


def logical_and(input: Any, other: Any) -> Tensor:
    """Elementwise ``input and other``, nonzero counting as true.

    Args:
        input: any tensor.
        other: any tensor or number, broadcastable with ``input``.

    Returns:
        bool Tensor of the broadcast shape.
    """
    return _bool_broadcasting(np.logical_and, "logical_and", input, other)


def logical_or(input: Any, other: Any) -> Tensor:
    """Elementwise ``input or other``, nonzero counting as true.

    Args:
        input: any tensor.
        other: any tensor or number, broadcastable with ``input``.

    Returns:
        bool Tensor of the broadcast shape.
    """
    return _bool_broadcasting(np.logical_or, "logical_or", input, other)


def logical_xor(input: Any, other: Any) -> Tensor:
    """Elementwise exclusive or, nonzero counting as true.

    Args:
        input: any tensor.
        other: any tensor or number, broadcastable with ``input``.

    Returns:
        bool Tensor of the broadcast shape.
    """
    return _bool_broadcasting(np.logical_xor, "logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise ``not input``: True where the element is zero.

    Args:
        input: any tensor.

    Returns:
        bool Tensor of the same shape.
    """
    return wrap_result(np.logical_not(input.data))


def _bitwise(ufunc: Callable, op: str, a: Any, b: Any, bools: bool = True) -> Tensor:
    dtype = result_type(unwrap(a), unwrap(b))
    if dtype.kind not in ("biu" if bools else "iu"):
        raise OpError(f"{op}: expected integer{' or bool' if bools else ''} inputs, got dtype {dtype} "
                      f"(inputs of shapes {_shape(a)} and {_shape(b)})")
    return wrap_result(_broadcasting(ufunc, op, a, b))


def bitwise_and(input: Any, other: Any) -> Tensor:
    """Elementwise bitwise and (logical and for bools): ``input & other``.

    Args:
        input: an integer or bool tensor.
        other: an integer or bool tensor or number, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return _bitwise(np.bitwise_and, "bitwise_and", input, other)


def bitwise_or(input: Any, other: Any) -> Tensor:
    """Elementwise bitwise or: ``input | other``.

    Args:
        input: an integer or bool tensor.
        other: an integer or bool tensor or number, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return _bitwise(np.bitwise_or, "bitwise_or", input, other)


def bitwise_xor(input: Any, other: Any) -> Tensor:
    """Elementwise bitwise exclusive or: ``input ^ other``.

    Args:
        input: an integer or bool tensor.
        other: an integer or bool tensor or number, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return _bitwise(np.bitwise_xor, "bitwise_xor", input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise bitwise not (logical not for bools): ``~input``.

    Args:
        input: an integer or bool tensor.

    Returns:
        Tensor of the same shape and dtype.
    """
    if input.dtype.kind not in "biu":
        raise OpError(f"bitwise_not: expected an integer or bool input, got dtype {input.dtype}")
    return wrap_result(np.invert(input.data))


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """Elementwise ``input << other``: the bits of ``input`` moved ``other`` places up.

    Args:
        input: an integer tensor (or number).
        other: shift counts, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return _bitwise(np.left_shift, "bitwise_left_shift", input, other, bools=False)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """Elementwise ``input >> other``: the bits moved ``other`` places down (arithmetic shift for signed types).

    Args:
        input: an integer tensor (or number).
        other: shift counts, broadcastable with ``input``.

    Returns:
        Tensor of the broadcast shape and the promoted dtype.
    """
    return _bitwise(np.right_shift, "bitwise_right_shift", input, other, bools=False)
