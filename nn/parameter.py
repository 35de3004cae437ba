"""``Parameter``: a Tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import DEFAULT_DTYPE, Tensor


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
            data = np.empty(0, DEFAULT_DTYPE)
        super().__init__(data)  # a Tensor's array is shared, and with it its version counter
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def zero_grads(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Reset the ``.grad`` of each parameter: to None, or to zeros in place.

    Shared by ``Module.zero_grad`` and ``Optimizer.zero_grad``. Zeroing detaches first: a gradient
    built with ``create_graph=True`` must not carry its graph into the next accumulation.

    Args:
        parameters: tensors whose gradients are reset (those without one are skipped).
        set_to_none: set ``.grad`` to None (frees memory) instead of filling it with zeros.
    """
    for param in parameters:
        if param.grad is None:
            continue
        if set_to_none:
            param.grad = None
        else:
            param.grad.detach_().zero_()
