"""The recurrent cells' equations (Elman RNN, LSTM, GRU).

The cells are compositions of linear, sigmoid, tanh and arithmetic, so backpropagation through time, and its
second derivatives, come from those ops; the layers split a sequence into its steps with ``unbind``, whose
backward is one ``stack`` (linear in the length).
"""

from __future__ import annotations

from typing import Callable

from ..tensor import Tensor
from .activation import relu, sigmoid, tanh
from .linalg import linear


def _rnn_cell(activation: Callable[[Tensor], Tensor]) -> Callable:
    def cell(projected: Tensor, state: tuple[Tensor], weight_hh: Tensor, bias_hh: Tensor | None,
             weight_hr: Tensor | None = None) -> tuple[Tensor]:
        """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), given ``projected`` = x W_ih^T + b_ih."""
        return (activation(projected + linear(state[0], weight_hh, bias_hh)),)
    return cell


def lstm_cell(projected: Tensor, state: tuple[Tensor, Tensor], weight_hh: Tensor, bias_hh: Tensor | None,
              weight_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x W_ih^T + b_ih + h W_hh^T + b_hh), given ``projected`` =
    x W_ih^T + b_ih;  c' = f c + i g;  h' = o tanh(c'), projected by W_hr when there is one. Returns (h', c')."""
    h, c = state
    i, f, g, o = (projected + linear(h, weight_hh, bias_hh)).chunk(4, -1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if weight_hr is None else linear(h, weight_hr)), c


def gru_cell(projected: Tensor, state: tuple[Tensor], weight_hh: Tensor, bias_hh: Tensor | None,
             weight_hr: Tensor | None = None) -> tuple[Tensor]:
    """r, z = sigmoid(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z});
    n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn));  h' = (1 - z) n + z h, given ``projected`` = x W_ih^T + b_ih."""
    (h,) = state
    x_r, x_z, x_n = projected.chunk(3, -1)
    h_r, h_z, h_n = linear(h, weight_hh, bias_hh).chunk(3, -1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return (n + z * (h - n),)


# The step of each mode: (x W_ih^T + b_ih, state tuple, W_hh, b_hh, W_hr) -> the next state tuple, h first.
CELLS = {"RNN_TANH": _rnn_cell(tanh), "RNN_RELU": _rnn_cell(relu), "LSTM": lstm_cell, "GRU": gru_cell}
