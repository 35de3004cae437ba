"""Activation layers: ``ReLU``, ``LeakyReLU``, ``ELU``, ``GELU``, ``SiLU``, ``Sigmoid``, ``Tanh``, ``Softmax``,
``LogSoftmax``.

The ``inplace`` arguments are accepted for PyTorch compatibility (``nn.ReLU(inplace=True)`` appears
in most model code) and shown in the repr, but gradlab always computes out of place: the results and
gradients are the same, only the memory use differs.
"""

from __future__ import annotations

import warnings

from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module


def _inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """``max(0, x)`` elementwise.

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """``x`` for positive x, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: slope for negative inputs (default 0.01).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` for positive x, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the saturation value for large negative inputs is ``-alpha`` (default 1).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """``x * Phi(x)`` with Phi the standard normal CDF (Hendrycks & Gimpel 2016).

    Args:
        approximate: ``'none'`` (exact, with erf) or ``'tanh'`` (the tanh approximation).

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``x * sigmoid(x)`` (also called swish).

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent elementwise.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


def _softmax_dim(module: Module, ndim: int) -> int:
    """PyTorch's legacy choice when no dim was given: 0 for 0-, 1- and 3-d inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {type(module).__name__} has been deprecated. "
                  f"Change the call to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``: the outputs along it are positive and sum to 1.

    Args:
        dim: the dimension to normalise (give it: without it PyTorch's deprecated implicit choice is used).

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim if self.dim is not None else _softmax_dim(self, input.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``x_i - log(sum_j exp(x_j))`` along ``dim``, computed without overflow.

    Args:
        dim: the dimension to normalise (give it: without it PyTorch's deprecated implicit choice is used).

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim if self.dim is not None else _softmax_dim(self, input.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
