"""Embedding lookup: ``embedding`` picks rows of a weight matrix by integer index.

A lookup is indexing (``weight[input]``), so its gradient is the adjoint of a gather, a scatter-add of the output
gradient into the picked rows (``IndexAdd``); repeated indices add up. ``padding_idx`` and
``scale_grad_by_freq`` change only the gradient, so both are written as compositions that keep the value:
``where(mask, y.detach(), y)`` stops the gradient of padding positions, and ``y * s + (y * (1 - s)).detach()``
scales it by ``s`` without changing ``y``.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..grad_mode import no_grad
from ..tensor import Tensor
from .indexing import kept_array, out_of_bounds, where


def _index_array(op: str, input: Tensor | np.ndarray, count: int) -> np.ndarray:
    """The integer indices of ``input``, checked to lie in [0, count)."""
    index = kept_array(input)
    if index.dtype.kind not in "iu":
        raise OpError(f"{op}: expected an integer index tensor, got dtype {index.dtype}")
    bad = out_of_bounds(index, 0, count)
    if bad is not None:
        raise IndexError(f"{op}: index {bad} is out of range for a weight of {count} rows")
    return index


def padding_index(op: str, padding_idx: int | None, count: int) -> int | None:
    """``padding_idx`` as a row number in [0, count) (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -count <= padding_idx < count:
        raise ValueError(f"{op}: padding_idx {padding_idx} must be within num_embeddings ({count})")
    return padding_idx % count


def _renorm_(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, each of ``rows`` whose ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``
    (PyTorch's ``embedding_renorm_``: the 1e-7 keeps the new norm just below the limit)."""
    picked = weight.data[rows]
    norms = np.linalg.norm(picked, ord=norm_type, axis=1)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(weight.dtype)
    with no_grad():
        weight[rows] = picked * scale[:, None]


def embedding(input: Tensor | np.ndarray, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Look up rows of ``weight``: ``output[..., :] = weight[input[...], :]``.

    Args:
        input: integer tensor (or array) of any shape, each entry in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: a row whose lookups get no gradient (negative counts from the end). Its value is used as
            it is; ``nn.Embedding`` initialises it to zeros.
        max_norm: renormalise, in place and before the lookup, each looked-up row whose norm exceeds this.
        norm_type: the p of the p-norm for ``max_norm``.
        scale_grad_by_freq: divide the gradient of each row by how often its index occurs in ``input``.
        sparse: must be False: gradients are dense (PyTorch's sparse gradients are not supported).

    Shape:
        - input: ``(*)``. weight: ``(V, D)``. Output: ``(*, D)``.

    Returns:
        Tensor of the weight's dtype.
    """
    op = "embedding"
    if weight.ndim != 2:
        raise OpError(f"{op}: weight must be 2-d (num_embeddings, embedding_dim), got shape {weight.shape}")
    if sparse:
        raise OpError(f"{op}: sparse gradients are not supported; use sparse=False")
    count = weight.shape[0]
    index = _index_array(op, input, count)
    padding_idx = padding_index(op, padding_idx, count)
    if max_norm is not None:
        _renorm_(weight, np.unique(index), max_norm, norm_type)
    output = weight[index]
    if scale_grad_by_freq:
        _, inverse, counts = np.unique(index, return_inverse=True, return_counts=True)
        share = (1.0 / counts[inverse.reshape(index.shape)])[..., None].astype(weight.dtype)
        output = output * share + (output * (1 - share)).detach()
    if padding_idx is not None:
        output = where(index[..., None] == padding_idx, output.detach(), output)
    return output
