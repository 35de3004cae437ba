"""Matrix product with numpy's rules: 1-d vectors, 2-d matrices and broadcast batches of matrices."""

from __future__ import annotations

import string
from typing import Any, Sequence

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..function import Function
from ..tensor import Tensor
from .indexing import IndexAdd
from .shape import expand, sum_to


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


# ----------------------------------------------------------------------------- batched products and einsum
def _check_matrices(op: str, first: Tensor, second: Tensor, ndim: int) -> None:
    if first.ndim != ndim or second.ndim != ndim:
        raise OpError(f"{op}: expected {ndim}-d tensors, got shapes {first.shape} and {second.shape}")
    if first.shape[:-2] != second.shape[:-2] or first.shape[-1] != second.shape[-2]:
        raise OpError(f"{op}: shapes {first.shape} and {second.shape} cannot be multiplied")


def _scaled_sum(op: str, input: Tensor, product: Tensor, beta: float, alpha: float) -> Tensor:
    """beta * input + alpha * product, with ``input`` broadcast to the product; beta = 0 ignores input (its nan
    and inf too), as in PyTorch."""
    try:
        shape = np.broadcast_shapes(input.shape, product.shape)
    except ValueError:
        raise OpError(f"{op}: input of shape {input.shape} does not broadcast to the product's "
                      f"{product.shape}") from None
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return expand(product, shape)
    return product + (input if beta == 1 else input * beta)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p), without broadcasting."""
    _check_matrices("bmm", input, mat2, 3)
    return Matmul.apply(input, mat2)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``; ``input`` broadcasts to (b, n, p)."""
    _check_matrices("baddbmm", batch1, batch2, 3)
    return _scaled_sum("baddbmm", input, Matmul.apply(batch1, batch2), beta, alpha)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * mat1 @ mat2`` for matrices; ``input`` broadcasts to (n, p)."""
    _check_matrices("addmm", mat1, mat2, 2)
    return _scaled_sum("addmm", input, Matmul.apply(mat1, mat2), beta, alpha)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-d tensors: ``out[i, j] = input[i] * vec2[j]``."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise OpError(f"outer: expected 1-d tensors, got shapes {input.shape} and {vec2.shape}")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


class Einsum(Function):
    """y = einsum(inputs -> output);  d operand_i = einsum(output, the other operands -> operand_i's subscripts),
    broadcast over its subscripts found nowhere else and written onto the diagonal of a repeated subscript."""

    def attributes(self) -> dict[str, Any]:
        return {"equation": ",".join(self.inputs) + "->" + self.output}

    @staticmethod
    def forward(ctx, inputs: tuple, output: str, *operands: Tensor) -> np.ndarray:
        ctx.inputs, ctx.output = inputs, output
        ctx.sizes = {letter: size for subscripts, operand in zip(inputs, operands)
                     for letter, size in zip(subscripts, operand.data.shape)}
        ctx.save_for_backward(*operands)
        # asarray: a full contraction gives a numpy scalar; the module's keeps a device's 0-d array there.
        return get_array_module(operands[0].data).asarray(
            np.einsum(",".join(inputs) + "->" + output, *(o.data for o in operands), optimize=len(operands) > 2))

    @staticmethod
    def backward(ctx, grad: Tensor):
        operands = ctx.saved_tensors
        grads = []
        for i, (subscripts, operand) in enumerate(zip(ctx.inputs, operands)):
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
                continue
            others = [(s, o) for j, (s, o) in enumerate(zip(ctx.inputs, operands)) if j != i]
            target = "".join(dict.fromkeys(subscripts))  # each letter once, in order
            reached = set(ctx.output).union(*(s for s, _ in others))
            kept = "".join(letter for letter in target if letter in reached)
            part = Einsum.apply((ctx.output, *(s for s, _ in others)), kept, grad, *(o for _, o in others))
            if kept != target:  # letters summed within this operand alone: their gradient is a broadcast
                part = expand(part.reshape(tuple(ctx.sizes[l] if l in kept else 1 for l in target)),
                              tuple(ctx.sizes[l] for l in target))
            if target != subscripts:  # a repeated letter reads a diagonal: write the gradient back onto it
                key = tuple(np.arange(ctx.sizes[l]).reshape([-1 if k == target.index(l) else 1
                                                             for k in range(len(target))]) for l in subscripts)
                part = IndexAdd.apply(part, operand.shape, key)
            grads.append(part)
        return (None, None, *grads)


def _einsum_subscripts(equation: str, operands: Sequence[Tensor]) -> tuple[tuple[str, ...], str, str]:
    """The equation's input and output subscripts, with '...' spelled out as letters the equation does not use,
    and the implicit output (the ellipsis, then the letters used once, in alphabetical order) made explicit; and
    the letters of the ellipsis."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise OpError(f"einsum: equation {equation!r} names {len(inputs)} operands, got {len(operands)}")
    free = [letter for letter in string.ascii_letters if letter not in equation]
    ellipsis_dims = 0
    for subscripts, operand in zip(inputs, operands):
        letters = len(subscripts.replace("...", ""))
        if "..." in subscripts:
            ellipsis_dims = max(ellipsis_dims, operand.ndim - letters)
        elif letters != operand.ndim:
            raise OpError(f"einsum: subscripts {subscripts!r} name {letters} dimensions of an operand of shape "
                          f"{operand.shape}")
    ellipsis = "".join(free[:ellipsis_dims])
    spelled = tuple(s.replace("...", ellipsis[ellipsis_dims - (o.ndim - len(s.replace('...', ''))):])
                    for s, o in zip(inputs, operands))
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:
        counts = "".join(spelled)
        output = ellipsis + "".join(sorted(l for l in set(counts) if counts.count(l) == 1 and l not in ellipsis))
    return spelled, output, ellipsis


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.

    Args:
        equation: comma-separated subscripts of the operands, optionally ``->`` and the output's; ``...`` stands
            for the remaining (broadcast) dimensions. Without ``->`` the output has the letters used once, sorted.
        operands: tensors, or one list of them.

    Returns:
        Tensor; differentiable in every operand (repeated subscripts, like ``'ii->'``, included).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output, ellipsis = _einsum_subscripts(equation, operands)
    # Broadcast the ellipsis dimensions of all operands to one shape first: the gradient then sums it back.
    if ellipsis:
        sizes = {}
        for subscripts, operand in zip(inputs, operands):
            for letter, size in zip(subscripts, operand.shape):
                if letter in ellipsis and size != 1:
                    sizes[letter] = size
        operands = tuple(expand(o, tuple(sizes.get(l, size) if l in ellipsis else size
                                         for l, size in zip(s, o.shape))) for s, o in zip(inputs, operands))
    try:
        return Einsum.apply(inputs, output, *operands)
    except ValueError as error:
        raise OpError(f"einsum: {error} (equation {equation!r}, shapes {[o.shape for o in operands]})") from None
