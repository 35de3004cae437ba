"""``MultiheadAttention`` (Vaswani et al. 2017), with PyTorch's parameters, so that its state dicts load.

The heads are computed at once: the projected queries, keys and values are reshaped to (N, heads, L, head_dim)
and attend with ``autograd.ops.attention.attend``, the core of ``F.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import numpy as np

from autograd.device import get_array_module
from autograd.errors import OpError
from autograd.ops.attention import attend
from autograd.ops.shape import cat
from autograd.tensor import Tensor

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from .linear import Linear


def _additive(op: str, mask: Tensor | np.ndarray | None, name: str, dtype: np.dtype) -> np.ndarray | None:
    """A bool mask (True = not allowed) as 0 / -inf, a float mask as it is (both added to the scores)."""
    if mask is None:
        return None
    # A device mask stays on its device (np.asarray would copy it to the host; CuPy refuses).
    data = mask.data if isinstance(mask, Tensor) else get_array_module(mask).asarray(mask)
    if data.dtype == np.bool_:
        return np.where(data, -np.inf, 0.0).astype(dtype)
    if data.dtype.kind != "f":
        raise OpError(f"{op}: {name} must be bool or floating point, got {data.dtype}")
    return data.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Multi-head attention: ``out_proj(concat_h(softmax(q_h k_h^T / sqrt(head_dim) + mask) v_h))`` with
    ``q_h, k_h, v_h`` head h of the projected query, key and value.

    Args:
        embed_dim: E, the query's (and output's) feature size; split over the heads.
        num_heads: number of heads; must divide ``embed_dim``.
        dropout: probability of dropping an attention weight while training.
        bias: learn the input and output projections' biases.
        add_bias_kv: learn one more key and value (``bias_k``, ``bias_v``) appended to the sequence.
        add_zero_attn: append a zero key and value after the projection.
        kdim, vdim: the key's and value's feature sizes (default ``embed_dim``); when either differs, the
            projections are separate parameters ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``.
        batch_first: inputs and outputs are (N, L, E) instead of (L, N, E).

    Shape:
        - query: ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or ``(L, E)`` unbatched; key: ``(S, N, kdim)``;
          value: ``(S, N, vdim)``.
        - key_padding_mask: ``(N, S)`` (or ``(S,)``): True (bool) marks keys to ignore; a float mask is added.
        - attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``: True (bool) marks pairs not allowed to attend
          (the opposite of ``F.scaled_dot_product_attention``'s bool mask, as in PyTorch); a float mask is added.
        - output: ``(L, N, E)``; weights: ``(N, L, S)`` averaged over heads, or ``(N, num_heads, L, S)``.

    Attributes:
        in_proj_weight: ``(3 E, E)``, Xavier-uniform (when kdim = vdim = E); in_proj_bias: ``(3 E,)``, zeros.
        out_proj: ``Linear(E, E)`` with a zero bias.
        bias_k, bias_v: ``(1, 1, E)``, Xavier-normal (``add_bias_kv``).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads}), both positive")
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), np.float32))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), np.float32))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), np.float32))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), np.float32))
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, np.float32))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), np.float32))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), np.float32))
        else:
            self.bias_k = self.bias_v = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: Xavier-uniform projections, zero biases, Xavier-normal ``bias_k``/``bias_v``."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self) -> tuple[tuple[Tensor, Tensor, Tensor], tuple]:
        if self._qkv_same_embed_dim:
            weights = tuple(self.in_proj_weight[i * self.embed_dim:(i + 1) * self.embed_dim] for i in range(3))
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        if self.in_proj_bias is None:
            return weights, (None, None, None)
        return weights, tuple(self.in_proj_bias[i * self.embed_dim:(i + 1) * self.embed_dim] for i in range(3))

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | np.ndarray | None = None,
                need_weights: bool = True, attn_mask: Tensor | np.ndarray | None = None,
                average_attn_weights: bool = True, is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` over ``key``/``value``; see the class docstring for shapes.

        ``is_causal`` is, as in PyTorch, a hint that ``attn_mask`` is the causal mask: ``attn_mask`` is required
        and is what is applied.

        Returns:
            (output, attention weights or None when ``need_weights`` is False).
        """
        op = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise ValueError(f"{op}: is_causal=True is a hint that attn_mask is the causal mask; give attn_mask")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise OpError(f"{op}: query, key and value must all be 3-d (batched) or 2-d (unbatched), got shapes "
                          f"{query.shape}, {key.shape}, {value.shape}")
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.data if isinstance(key_padding_mask, Tensor) \
                    else get_array_module(key_padding_mask).asarray(key_padding_mask)
                key_padding_mask = key_padding_mask[None]
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        target, batch, features = query.shape
        source = key.shape[0]
        if (features, key.shape[2], value.shape[2]) != (self.embed_dim, self.kdim, self.vdim) \
                or key.shape[:2] != value.shape[:2] or key.shape[1] != batch:
            raise OpError(f"{op}: query (L, N, {self.embed_dim}) {query.shape}, key (S, N, {self.kdim}) {key.shape} "
                          f"and value (S, N, {self.vdim}) {value.shape} do not fit (in (L, N, E) order)")
        weights, biases = self._projections()
        q, k, v = (F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))
        heads, head_dim = self.num_heads, self.head_dim
        attn = _additive(op, attn_mask, "attn_mask", q.dtype)
        if attn is not None:
            if attn.shape not in ((target, source), (batch * heads, target, source)):
                raise OpError(f"{op}: attn_mask must be (L, S) = ({target}, {source}) or (N * num_heads, L, S) = "
                              f"({batch * heads}, {target}, {source}), got {attn.shape}")
            attn = attn.reshape(-1, heads, target, source) if attn.ndim == 3 else attn
        padding = _additive(op, key_padding_mask, "key_padding_mask", q.dtype)
        if padding is not None and padding.shape != (batch, source):
            raise OpError(f"{op}: key_padding_mask must be (N, S) = ({batch}, {source}), got {padding.shape}")
        extra = 0
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, batch, self.embed_dim)])
            v = cat([v, self.bias_v.expand(1, batch, self.embed_dim)])
            extra += 1
        # (L, N, E) -> (N, heads, L, head_dim)
        q, k, v = (x.reshape(x.shape[0], batch, heads, head_dim).permute(1, 2, 0, 3) for x in (q, k, v))
        if self.add_zero_attn:
            zeros = Tensor(np.zeros_like(q.data, shape=(batch, heads, 1, head_dim)))  # on q's device
            k, v = cat([k, zeros], dim=2), cat([v, zeros], dim=2)
            extra += 1
        # The appended keys are never masked: both masks get zero columns for them.
        mask = np.zeros_like(q.data, shape=(1, 1, target, source + extra))
        if attn is not None:
            mask = mask + np.pad(attn, [(0, 0)] * (attn.ndim - 1) + [(0, extra)])
        if padding is not None:
            mask = mask + np.pad(padding, [(0, 0), (0, extra)])[:, None, None, :]
        out, attention = attend(q, k, v, None, mask if attn is not None or padding is not None else None,
                                self.dropout if self.training else 0.0, 1.0 / math.sqrt(head_dim))
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(target, batch, self.embed_dim))
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not need_weights:
            return (out if batched else out.squeeze(1)), None
        if average_attn_weights:
            attention = attention.mean(1)
        return (out, attention) if batched else (out.squeeze(1), attention.squeeze(0))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")
