"""``Parameter``: a Tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.tensor import Tensor, get_default_dtype


class Parameter(Tensor):
    """A leaf Tensor that is registered as a parameter when assigned to a ``Module`` attribute.

    It behaves exactly like a Tensor in every op (results of ops are plain Tensors); the type only
    tells ``Module.__setattr__`` to list it in ``parameters()`` and ``state_dict()``.

    Args:
        data: a Tensor (its array and version counter are shared, not copied), an ndarray or array-like; None gives an
            empty float32 parameter.
        requires_grad: whether the parameter is trained (default True).

    Example::

        >>> weight = nn.Parameter(autograd.randn(3, 4))
        >>> weight.is_leaf, weight.requires_grad
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, get_default_dtype())
        super().__init__(data)  # a Tensor's array is shared, and with it its version counter
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
