"""Dropout layers: ``Dropout`` (elements) and ``Dropout2d`` (whole channels)."""

from __future__ import annotations

from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (so the expected value is unchanged); the identity in evaluation (Srivastava et al. 2014).

    Args:
        p: probability of zeroing an element (default 0.5).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: any. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels with probability ``p`` and scale the rest by ``1 / (1 - p)``;
    the identity in evaluation. Suits conv features, whose neighbouring pixels are correlated.

    Args:
        p: probability of zeroing a channel (default 0.5).
        inplace: accepted for compatibility; the result is always a new tensor.

    Shape:
        - Input: ``(N, C, H, W)``. Output: same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)
