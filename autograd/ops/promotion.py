"""PyTorch's type promotion, where it differs from numpy's.

Operands fall into three groups, in decreasing priority: tensors with dimensions, 0-d tensors, and Python numbers.
Within a group dtypes promote as usual; a lower group only changes the result when it is of a higher category
(bool < integer < floating < complex), so ``float32 tensor + float64 0-d tensor`` is float32 and
``int32 tensor + 2.5`` is float32 (a Python float stands for the default dtype). Unlike numpy, an integer and a
floating dtype promote to the floating one (``int64 + float32 -> float32``, numpy: float64), and ops whose result
is a fraction (``/``, ``exp``, ``sqrt``, ``atan2``) give integer inputs the default float dtype.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import tensor as _tensor
from ..device import get_array_module

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_COMPLEX_OF = {np.dtype(np.float16): np.dtype(np.complex64), np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}

# Ufuncs whose result is a fraction: integer and bool inputs give the default float dtype, as in PyTorch.
FLOATING_UFUNCS = frozenset({np.true_divide, np.arctan2, np.logaddexp, np.copysign, np.hypot})


def promote_types(a: Any, b: Any) -> np.dtype:
    """``torch.promote_types``: the smallest dtype both ``a`` and ``b`` convert to, integers losing to floats.

    Args:
        a, b: numpy dtypes (or anything ``np.dtype`` accepts).

    Returns:
        numpy's promotion within a category; across bool/integer and floating/complex, the floating dtype.
    """
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    category_a, category_b = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if category_a >= 2 > category_b:
        return a
    if category_b >= 2 > category_a:
        return b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """A group's dtype after a lower-priority group's (ATen's ``combine_categories``)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "c":
        return higher
    if lower.kind == "c":
        return _COMPLEX_OF[higher] if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(value: Any) -> np.dtype:
    """The dtype a Python (or numpy) number stands for: bool, int64, the default float dtype or its complex."""
    kind = np.asarray(value).dtype.kind
    if kind == "b":
        return np.dtype(np.bool_)
    if kind in "iu":
        return np.dtype(np.int64)
    default = _tensor.DEFAULT_DTYPE
    return _COMPLEX_OF[default] if kind == "c" else default


def result_type(*operands: Any) -> np.dtype:
    """``torch.result_type``: the dtype of an elementwise op on ``operands``.

    Args:
        operands: Tensors, ndarrays (treated as tensors) and Python numbers.

    Returns:
        the promoted dtype (see the module docstring for the rules).
    """
    groups: list[np.dtype | None] = [None, None, None]  # dimensioned, 0-d, numbers
    for operand in operands:
        array = operand.data if isinstance(operand, _tensor.Tensor) else operand
        if type(array) is np.ndarray or get_array_module(array) is not np:  # a device (CuPy) array: a tensor too
            group, dtype = (0 if array.ndim else 1), array.dtype
        else:
            group, dtype = 2, _scalar_dtype(array)
        groups[group] = dtype if groups[group] is None else promote_types(groups[group], dtype)
    result = _combine(groups[0], _combine(groups[1], groups[2]))
    if result is None:
        raise TypeError("result_type: expected at least one operand")
    return result


def binary_dtype(ufunc: Callable, a: Any, b: Any) -> np.dtype | None:
    """The dtype to compute ``ufunc(a, b)`` in for PyTorch's result (``a``, ``b``: arrays or numbers), or None
    when numpy's own promotion already gives it: equal dtypes, or a floating array with a Python int or float
    (numpy 2 treats Python numbers as weak, as PyTorch does). Those common cases are checked first because every
    arithmetic op runs this."""
    if type(a) is np.ndarray:
        type_b = type(b)
        if type_b is np.ndarray:
            # ``is``: numpy keeps one dtype object per builtin type; other equal dtypes take the general path.
            # Kind first: floating operands (the common case) then skip hashing the ufunc.
            if a.dtype is b.dtype and (a.dtype.kind in "fc" or ufunc not in FLOATING_UFUNCS):
                return None
        elif (type_b is float or type_b is int) and a.dtype.kind == "f":
            return None
    elif type(b) is np.ndarray and (type(a) is float or type(a) is int) and b.dtype.kind == "f":
        return None
    dtype = result_type(a, b)
    if dtype.kind in "biu" and ufunc in FLOATING_UFUNCS:
        return _tensor.DEFAULT_DTYPE
    return dtype


def floating(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it is floating or complex, else cast to the default float dtype (what PyTorch's
    ``exp``, ``sqrt``, ``sin``... return for integer and bool tensors; numpy would give float64, or float16 for
    int8)."""
    return array if array.dtype.kind in "fc" else array.astype(_tensor.DEFAULT_DTYPE)
