"""Attention: ``scaled_dot_product_attention``, softmax(q k^T / sqrt(E) + mask) v.

It is a composition of matmul, softmax and where, so its gradients (of any order) come from theirs: the
score gradient is softmax's Jacobian applied to grad @ v^T, and the query, key and value gradients are matmul's.
A masked score is -inf before the softmax, so its weight is exactly 0 and it passes no gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..device import get_array_module
from ..errors import OpError
from ..tensor import Tensor
from .activation import dropout, softmax
from .indexing import where
from .linalg import matmul


def _repeat_heads(x: Tensor, groups: int) -> Tensor:
    """(..., H, S, E) -> (..., H * groups, S, E), each head repeated ``groups`` times in a row (grouped-query
    attention's key and value heads, as ``repeat_interleave`` along the head dimension)."""
    shape = tuple(x.shape)
    expanded = x.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * groups, *shape[-2:])


def attention_mask(op: str, attn_mask: Tensor | np.ndarray | None, is_causal: bool, target: int, source: int,
                   dtype: np.dtype, xp: Any = np) -> tuple[np.ndarray | None, Tensor | np.ndarray | None]:
    """An attention mask split into where the scores are kept (a bool array, or None for everywhere) and what is
    added to them (a float Tensor or array, or None), from a bool mask (True = attend), a float mask (added)
    and ``is_causal`` (position i attends to positions up to i, the top-left aligned lower triangle), made with
    the array module ``xp`` of the scores' device."""
    if is_causal:
        if attn_mask is not None:
            raise OpError(f"{op}: give either attn_mask or is_causal=True, not both")
        return xp.tril(xp.ones((target, source), np.bool_)), None
    if attn_mask is None:
        return None, None
    # A device mask stays on its device (np.asarray would copy it to the host; CuPy refuses).
    data = attn_mask.data if isinstance(attn_mask, Tensor) else get_array_module(attn_mask).asarray(attn_mask)
    if any(m not in (1, n) for m, n in zip(reversed(data.shape), (source, target))):
        raise OpError(f"{op}: attn_mask of shape {data.shape} does not broadcast to the (L, S) = "
                      f"({target}, {source}) scores")
    if data.dtype == np.bool_:
        return data, None
    if data.dtype.kind != "f":
        raise OpError(f"{op}: attn_mask must be bool or floating point, got {data.dtype}")
    return None, attn_mask if isinstance(attn_mask, Tensor) else data.astype(dtype, copy=False)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | np.ndarray | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention of each query over the keys: ``softmax(query @ key^T * scale + mask) @ value``.

    Args:
        query: (..., L, E).
        key: (..., S, E).
        value: (..., S, Ev).
        attn_mask: broadcastable to (..., L, S): bool (True = take part in attention; False scores are -inf)
            or float (added to the scores). A row with every score masked gives NaN, as PyTorch's math path does.
        dropout_p: probability of dropping an attention weight (always applied when positive, as in PyTorch's
            functional form; pass 0 in evaluation).
        is_causal: mask out keys after each query (a lower-triangular mask); not together with ``attn_mask``.
        scale: multiplier of the scores; defaults to 1 / sqrt(E).
        enable_gqa: grouped-query attention: ``key`` and ``value`` may have fewer heads (dimension -3) than
            ``query``, a divisor of its count; each key/value head serves that many query heads in a row.

    Shape:
        output: (..., L, Ev).

    Returns:
        the attended values.
    """
    op = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise OpError(f"{op}: query, key and value must be at least 2-d, got shapes {query.shape}, {key.shape}, "
                      f"{value.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise OpError(f"{op}: query (..., L, E) {query.shape}, key (..., S, E) {key.shape} and value (..., S, Ev) "
                      f"{value.shape} do not fit")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or value.shape[-3] != kv_heads:
            raise OpError(f"{op}: with enable_gqa the query's {heads} heads must be a multiple of the key's and "
                          f"value's heads, got shapes {query.shape}, {key.shape}, {value.shape}")
        key, value = _repeat_heads(key, heads // kv_heads), _repeat_heads(value, heads // kv_heads)
    target, source = query.shape[-2], key.shape[-2]
    keep, added = attention_mask(op, attn_mask, is_causal, target, source, query.dtype, get_array_module(query))
    return attend(query, key, value, keep, added, dropout_p, scale)[0]


def attend(query: Tensor, key: Tensor, value: Tensor, keep: np.ndarray | None, added: Tensor | np.ndarray | None,
           dropout_p: float, scale: float | None) -> tuple[Tensor, Tensor]:
    """(softmax(q k^T * scale + added, with -inf where not ``keep``) @ v, the softmax weights after dropout):
    the core that ``scaled_dot_product_attention`` and ``nn.MultiheadAttention`` share."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.mT) * scale
    if added is not None:
        scores = scores + added
    if keep is not None:
        scores = where(keep, scores, -math.inf)
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value), weights
