"""Matrix product with numpy's rules: 1-d vectors, 2-d matrices and broadcast batches of matrices."""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..function import Function
from ..tensor import Tensor
from .shape import sum_to


class Matmul(Function):
    """y = a @ b;  da = grad @ b^T,  db = a^T @ grad (summed over broadcast batch dimensions).

    A 1-d operand is a row vector on the left or a column vector on the right, and that
    dimension is dropped from the result; the gradients treat it the same way.
    """

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> np.ndarray:
        a_data = a.data if isinstance(a, Tensor) else np.asarray(a)
        b_data = b.data if isinstance(b, Tensor) else np.asarray(b)
        if a_data.ndim == 0 or b_data.ndim == 0:
            raise OpError(f"matmul: both operands need at least 1 dimension, got shapes {a_data.shape} "
                          f"and {b_data.shape}")
        ctx.save_for_backward(a, b)
        try:
            return np.matmul(a_data, b_data)
        except ValueError:
            raise OpError(f"matmul: shapes {a_data.shape} and {b_data.shape} are not aligned for a matrix "
                          f"product") from None

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        a = a if isinstance(a, Tensor) else Tensor(np.asarray(a))
        b = b if isinstance(b, Tensor) else Tensor(np.asarray(b))
        needs = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return (grad * b if needs[0] else None), (grad * a if needs[1] else None)
        # Promote vectors to matrices so one rule covers every case, then undo the promotion.
        a_matrix = a.unsqueeze(0) if a.ndim == 1 else a
        b_matrix = b.unsqueeze(-1) if b.ndim == 1 else b
        if a.ndim == 1:
            grad = grad.unsqueeze(-2)
        if b.ndim == 1:
            grad = grad.unsqueeze(-1)
        grad_a = grad_b = None
        if needs[0]:
            grad_a = grad @ b_matrix.mT
            if a.ndim == 1:
                grad_a = grad_a.squeeze(-2)
            grad_a = sum_to(grad_a, a.shape)
        if needs[1]:
            grad_b = a_matrix.mT @ grad
            if b.ndim == 1:
                grad_b = grad_b.squeeze(-1)
            grad_b = sum_to(grad_b, b.shape)
        return grad_a, grad_b


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product of two tensors, following ``numpy.matmul``/``torch.matmul``.

    Args:
        input: (n,), (n, m) or (*batch, n, m).
        other: (m,), (m, p) or (*batch, m, p); batch dimensions broadcast.

    Returns:
        the product; dimensions of size 1 added for vector operands are removed.
    """
    return Matmul.apply(input, other)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map ``input @ weight.T + bias`` (a composition of matmul, transpose and add).

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,), or None.

    Returns:
        (*, out_features).
    """
    if weight.ndim != 2:
        raise OpError(f"linear: weight must be 2-d (out_features, in_features), got shape {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise OpError(f"linear: input of shape {tuple(input.shape)} has {input.shape[-1] if input.ndim else 0} "
                      f"features but weight of shape {tuple(weight.shape)} expects {weight.shape[1]}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise OpError(f"linear: bias has shape {tuple(bias.shape)}, expected ({weight.shape[0]},)")
    output = Matmul.apply(input, weight.T)
    return output if bias is None else output + bias
