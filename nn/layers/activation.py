"""Activation layers: ``ReLU``, ``LeakyReLU``, ``ELU``, ``GELU``, ``SiLU``, ``Sigmoid``, ``Tanh``, ``Softmax``,
``LogSoftmax``, and ``ReLU6``, ``Hardtanh``, ``Hardswish``, ``Hardsigmoid``, ``Mish``, ``CELU``, ``SELU``, ``Softsign``,
``LogSigmoid``, ``Softplus``, ``Softmin``, ``PReLU``, ``GLU``, ``Threshold``.

The ``inplace`` arguments are accepted for PyTorch compatibility (``nn.ReLU(inplace=True)`` appears
in most model code) and shown in the repr, but gradlab always computes out of place: the results and
gradients are the same, only the memory use differs.
"""

from __future__ import annotations

import numpy as np

from autograd.tensor import Tensor

from .. import functional as F
from .. import init as init_module  # PReLU's ``init`` argument takes the name
from ..module import Module
from ..parameter import Parameter


class _InplaceActivation(Module):
    """An activation that takes PyTorch's ``inplace`` flag and shows it in the repr when it is set.

    Subclasses with hyperparameters store them after ``super().__init__(inplace)`` and list them in
    ``_hyperparameter_repr``, which the repr puts before the flag.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def _hyperparameter_repr(self) -> str:
        return ""

    def extra_repr(self) -> str:
        parts = [self._hyperparameter_repr(), "inplace=True" if self.inplace else ""]
        return ", ".join(part for part in parts if part)


class _DimActivation(Module):
    """An activation applied along one dimension ``dim``, shown in the repr."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class ReLU(_InplaceActivation):
    """``max(0, x)`` elementwise.

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class LeakyReLU(_InplaceActivation):
    """``x`` for positive x, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: slope for negative inputs (default 0.01).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def _hyperparameter_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_InplaceActivation):
    """``x`` for positive x, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the saturation value for large negative inputs is ``-alpha`` (default 1).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def _hyperparameter_repr(self) -> str:
        return f"alpha={self.alpha}"


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


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)`` (also called swish).

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


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


class Softmax(_DimActivation):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``: the outputs along it are positive and sum to 1.

    Args:
        dim: the dimension to normalise (give it: without it PyTorch's deprecated implicit choice is used).

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)  # dim None: F.softmax's implicit choice and warning


class LogSoftmax(_DimActivation):
    """``x_i - log(sum_j exp(x_j))`` along ``dim``, computed without overflow.

    Args:
        dim: the dimension to normalise (give it: without it PyTorch's deprecated implicit choice is used).

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)


# ----------------------------------------------------------------------------- the rest of PyTorch's activations
class ReLU6(_InplaceActivation):
    """``min(max(0, x), 6)`` elementwise.

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input)


class Hardtanh(_InplaceActivation):
    """``clamp(x, min_val, max_val)``: linear between the two values, constant outside.

    Args:
        min_val: lower end of the linear region (default -1).
        max_val: upper end of the linear region (default 1).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        super().__init__(inplace)
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def _hyperparameter_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Hardswish(_InplaceActivation):
    """``x * relu6(x + 3) / 6`` (MobileNetV3).

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input)


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid.

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input)


class Mish(_InplaceActivation):
    """``x * tanh(softplus(x))``.

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input)


class CELU(_InplaceActivation):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Args:
        alpha: the saturation value for large negative inputs is ``-alpha`` (default 1; not 0).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha)

    def _hyperparameter_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(_InplaceActivation):
    """``scale * elu(x, alpha)`` with the self-normalising constants (Klambauer et al. 2017).

    Args:
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input)


class Softsign(Module):
    """``x / (1 + |x|)`` elementwise.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class LogSigmoid(Module):
    """``log(sigmoid(x))``, computed as ``-softplus(-x)``.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``.

    Args:
        beta: sharpness (default 1).
        threshold: above this value of ``beta * x`` the result is ``x`` (default 20).

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmin(_DimActivation):
    """``softmax(-x)`` along ``dim``.

    Args:
        dim: the dimension to normalise (give it: without it PyTorch's deprecated implicit choice is used).

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)


class PReLU(Module):
    """``x`` for positive x, ``weight * x`` otherwise, with learned slopes.

    Args:
        num_parameters: 1 (one slope for every channel) or the number of channels (dimension 1 of the input).
        init: the initial slope (default 0.25).

    Attributes:
        weight: the slopes, of shape (num_parameters,).

    Shape:
        - Input: (N, C, *) or any shape with one parameter. Output: same shape.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(np.empty(num_parameters, np.float32))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_module.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class GLU(_DimActivation):
    """Gated linear unit ``a * sigmoid(b)``, with ``a`` and ``b`` the halves of the input along ``dim``.

    Args:
        dim: the dimension to halve (default -1).

    Shape:
        - Input: (*, 2M, *). Output: (*, M, *).
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__(dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)


class Threshold(_InplaceActivation):
    """``x`` where ``x > threshold``, else ``value``.

    Args:
        threshold: the elements at or below it are replaced.
        value: their replacement.
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.threshold = threshold
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value)

    def _hyperparameter_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"
