"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameters have PyTorch's names, shapes and gate order, so state dicts load both ways: ``weight_ih_l{k}``
``(gates * hidden_size, input)``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (``_reverse`` for the
backward direction, ``weight_hr_l{k}`` for an LSTM's projection), gates stacked as (i, f, g, o) for the LSTM and
(r, z, n) for the GRU.

Each layer projects the whole input sequence at once (one matmul, ``x W_ih^T + b_ih``) and loops over time
steps only for the recurrent part, with the cells of ``autograd/ops/recurrent.py``: compositions of matmul,
sigmoid, tanh and arithmetic, so backpropagation through time, and its second derivatives, come from those ops.
"""

from __future__ import annotations

import math
import numpy as np

from autograd.errors import OpError
from autograd.ops.activation import dropout
from autograd.ops.linalg import linear
from autograd.ops.recurrent import CELLS
from autograd.ops.shape import cat, stack, unbind
from autograd.tensor import Tensor

from .. import init
from ..module import Module
from ..parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_mode(op: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{op}: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or 'relu'")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init of every recurrent weight and bias: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: the stacked, optionally bidirectional, parameters and the loop
    over layers, directions and time steps."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0) -> None:
        super().__init__()
        name = type(self).__name__
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout should be a number in [0, 1], got {dropout}")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError(f"{name}: hidden_size ({hidden_size}) and num_layers ({num_layers}) must be positive")
        if proj_size < 0 or proj_size >= hidden_size or (proj_size and mode != "LSTM"):
            raise ValueError(f"{name}: proj_size ({proj_size}) must be 0, or (LSTM only) in (0, hidden_size "
                             f"{hidden_size})")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        output_size = proj_size or hidden_size
        gates = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else output_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, output_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix, Parameter(np.empty(shape, np.float32)))
                    self._flat_weights_names.append(kind + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""
        _reset_uniform(self, self.hidden_size)

    def _cell_parameters(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        return tuple(getattr(self, f"{kind}{suffix}", None)
                     for kind in ("weight_ih", "bias_ih", "weight_hh", "bias_hh", "weight_hr"))

    def _initial_state(self, hx, batch: int, batched: bool, dtype: np.dtype) -> list[tuple[Tensor, ...]]:
        """The initial state as one tuple (h,) or (h, c) per layer and direction, each (N, size)."""
        name = type(self).__name__
        directions = 2 if self.bidirectional else 1
        sizes = (self.proj_size or self.hidden_size,) + ((self.hidden_size,) if self.mode == "LSTM" else ())
        if hx is None:
            like = self.weight_ih_l0.data  # zeros on the parameters' device
            parts = [Tensor(np.zeros_like(like, shape=(self.num_layers * directions, batch, size), dtype=dtype))
                     for size in sizes]
        else:
            parts = list(hx) if self.mode == "LSTM" else [hx]
            if self.mode == "LSTM" and len(parts) != 2:
                raise OpError(f"{name}: hx must be a pair (h_0, c_0)")
            if not batched:
                parts = [part.unsqueeze(1) for part in parts]
            for part, size in zip(parts, sizes):
                if tuple(part.shape) != (self.num_layers * directions, batch, size):
                    raise OpError(f"{name}: expected an initial state of shape "
                                  f"{(self.num_layers * directions, batch, size)}, got {tuple(part.shape)}")
        return [tuple(part[index] for part in parts) for index in range(self.num_layers * directions)]

    def forward(self, input: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None):
        """Run the layers over the sequence (the shapes are in the class's docstring).

        Args:
            input: the sequence, ``(L, N, H_in)``, ``(N, L, H_in)`` with ``batch_first``, or ``(L, H_in)``.
            hx: the initial state, for an LSTM a pair ``(h_0, c_0)``; zeros if None.

        Returns:
            ``(output, h_n)``, for an LSTM ``(output, (h_n, c_n))``, output the last layer's h at every step
            (both directions concatenated) and h_n (and c_n) the final state of every layer and direction.
        """
        name = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise OpError(f"{name}: expected an input of shape (L, N, {self.input_size}) or (L, {self.input_size}), "
                          f"got {tuple(input.shape)}")
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        states = self._initial_state(hx, input.shape[1], batched, input.dtype)
        step = CELLS[self.mode]
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                input = dropout(input, self.dropout)
            outputs = []
            for direction in range(directions):
                weight_ih, bias_ih, weight_hh, bias_hh, weight_hr = self._cell_parameters(layer, direction)
                # Every time step's input projection at once; the loop only adds the recurrent part.
                steps = unbind(linear(input, weight_ih, bias_ih))
                state = states[layer * directions + direction]
                hidden = []
                for projected in (steps[::-1] if direction else steps):
                    state = step(projected, state, weight_hh, bias_hh, weight_hr)
                    hidden.append(state[0])
                outputs.append(stack(hidden[::-1] if direction else hidden))
                finals.append(state)
            input = outputs[0] if directions == 1 else cat(outputs, dim=-1)
        output = input
        final = [stack([state[i] for state in finals]) for i in range(len(finals[0]))]
        if not batched:
            output, final = output.squeeze(1), [part.squeeze(1) for part in final]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (tuple(final) if self.mode == "LSTM" else final[0])

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    """Multi-layer Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act tanh or relu.

    Args:
        input_size: features of each input step (H_in).
        hidden_size: features of the hidden state (H_out).
        num_layers: stacked layers, each reading the previous one's outputs (default 1).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        batch_first: input and output are ``(N, L, H)`` instead of ``(L, N, H)``; the states are not affected
            (default False).
        dropout: dropout probability on the outputs of every layer but the last, while training (default 0).
        bidirectional: add a second set of layers that runs backwards in time (D = 2) and concatenate the two
            directions' outputs (default False).

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` with batch_first, or ``(L, H_in)`` unbatched.
        - hx: ``(D * num_layers, N, H_out)``, or ``(D * num_layers, H_out)`` unbatched; zeros if None.
        - output: ``(L, N, D * H_out)``, ``(N, L, D * H_out)`` with batch_first, or ``(L, D * H_out)``
          unbatched.
        - h_n: like hx.

    Returns:
        ``(output, h_n)``, output the last layer's h at every step and h_n the final h of every layer and
        direction.

    Attributes:
        weight_ih_l{k}: ``(hidden_size, H_in)`` for k = 0, ``(hidden_size, D * hidden_size)`` after.
        weight_hh_l{k}: ``(hidden_size, hidden_size)``.
        bias_ih_l{k}, bias_hh_l{k}: ``(hidden_size,)``.

    The backward direction's parameters end in ``_reverse``; all start from U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False) -> None:
        self.nonlinearity = nonlinearity
        super().__init__(_rnn_mode("RNN", nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Multi-layer long short-term memory RNN (Hochreiter & Schmidhuber 1997).

    Each layer and step computes, with ``s = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` split into gates
    (i, f, g, o): ``c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g)`` and ``h_t = sigmoid(o) tanh(c_t)``, then
    ``h_t = h_t W_hr^T`` if ``proj_size > 0``.

    Args:
        input_size: features of each input step (H_in).
        hidden_size: features of the cell state c (H_cell), and of h without a projection.
        num_layers: stacked layers, each reading the previous one's outputs (default 1).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        batch_first: input and output are ``(N, L, H)`` instead of ``(L, N, H)``; the states are not affected
            (default False).
        dropout: dropout probability on the outputs of every layer but the last, while training (default 0).
        bidirectional: add a second set of layers that runs backwards in time (D = 2) and concatenate the two
            directions' outputs (default False).
        proj_size: if positive, project h to this size (Sak et al. 2014); below hidden_size (default 0).

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` with batch_first, or ``(L, H_in)`` unbatched.
        - hx: a pair ``(h_0, c_0)``, ``(D * num_layers, N, H_out)`` and ``(D * num_layers, N, H_cell)``
          (without N unbatched), H_out being proj_size if set, else hidden_size; zeros if None.
        - output: ``(L, N, D * H_out)``, ``(N, L, D * H_out)`` with batch_first, or ``(L, D * H_out)``
          unbatched.
        - h_n, c_n: like h_0 and c_0.

    Returns:
        ``(output, (h_n, c_n))``, output the last layer's h at every step and h_n, c_n the final h and c of
        every layer and direction.

    Attributes:
        weight_ih_l{k}: ``(4 * hidden_size, H_in)`` for k = 0, ``(4 * hidden_size, D * H_out)`` after.
        weight_hh_l{k}: ``(4 * hidden_size, H_out)``.
        bias_ih_l{k}, bias_hh_l{k}: ``(4 * hidden_size,)``.
        weight_hr_l{k}: ``(proj_size, hidden_size)``, only if ``proj_size > 0``.

    Gates are stacked (i, f, g, o) in the weights and biases. The backward direction's parameters end in
    ``_reverse``; all start from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size)


class GRU(RNNBase):
    """Multi-layer gated recurrent unit RNN (Cho et al. 2014).

    Each layer and step computes, with gates (r, z, n):
    ``r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)``, z likewise,
    ``n = tanh(x_t W_in^T + b_in + r (h_{t-1} W_hn^T + b_hn))`` and ``h_t = (1 - z) n + z h_{t-1}``.

    Args:
        input_size: features of each input step (H_in).
        hidden_size: features of the hidden state (H_out).
        num_layers: stacked layers, each reading the previous one's outputs (default 1).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        batch_first: input and output are ``(N, L, H)`` instead of ``(L, N, H)``; the states are not affected
            (default False).
        dropout: dropout probability on the outputs of every layer but the last, while training (default 0).
        bidirectional: add a second set of layers that runs backwards in time (D = 2) and concatenate the two
            directions' outputs (default False).

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` with batch_first, or ``(L, H_in)`` unbatched.
        - hx: ``(D * num_layers, N, H_out)``, or ``(D * num_layers, H_out)`` unbatched; zeros if None.
        - output: ``(L, N, D * H_out)``, ``(N, L, D * H_out)`` with batch_first, or ``(L, D * H_out)``
          unbatched.
        - h_n: like hx.

    Returns:
        ``(output, h_n)``, output the last layer's h at every step and h_n the final h of every layer and
        direction.

    Attributes:
        weight_ih_l{k}: ``(3 * hidden_size, H_in)`` for k = 0, ``(3 * hidden_size, D * hidden_size)`` after.
        weight_hh_l{k}: ``(3 * hidden_size, hidden_size)``.
        bias_ih_l{k}, bias_hh_l{k}: ``(3 * hidden_size,)``.

    Gates are stacked (r, z, n) in the weights and biases. The backward direction's parameters end in
    ``_reverse``; all start from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)


class RNNCellBase(Module):
    """What the cells share: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` and one step."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(np.empty((gates, input_size), np.float32))
        self.weight_hh = Parameter(np.empty((gates, hidden_size), np.float32))
        if bias:
            self.bias_ih = Parameter(np.empty(gates, np.float32))
            self.bias_hh = Parameter(np.empty(gates, np.float32))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""
        _reset_uniform(self, self.hidden_size)

    def _step(self, input: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None) -> tuple[Tensor, ...]:
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise OpError(f"{name}: expected an input of shape (N, {self.input_size}) or ({self.input_size},), "
                          f"got {tuple(input.shape)}")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        count = 2 if self.mode == "LSTM" else 1
        if hx is None:
            state = tuple(Tensor(np.zeros_like(input.data, shape=(input.shape[0], self.hidden_size)))
                          for _ in range(count))
        else:
            state = tuple(hx) if count == 2 else (hx,)
            state = state if batched else tuple(part.unsqueeze(0) for part in state)
            for part in state:
                if tuple(part.shape) != (input.shape[0], self.hidden_size):
                    raise OpError(f"{name}: expected a hidden state of shape {(input.shape[0], self.hidden_size)}, "
                                  f"got {tuple(part.shape)}")
        projected = linear(input, self.weight_ih, self.bias_ih)
        state = CELLS[self.mode](projected, state, self.weight_hh, self.bias_hh, None)
        return state if batched else tuple(part.squeeze(0) for part in state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act tanh or relu.

    Args:
        input_size: features of the input (H_in).
        hidden_size: features of the hidden state (H_out).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.

    Shape:
        - input: ``(N, H_in)`` or ``(H_in,)``.
        - hx: ``(N, H_out)`` or ``(H_out,)``; zeros if None.
        - output: like hx.

    Returns:
        h', the next hidden state.

    Attributes:
        weight_ih: ``(hidden_size, input_size)``.
        weight_hh: ``(hidden_size, hidden_size)``.
        bias_ih, bias_hh: ``(hidden_size,)``.

    All start from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        self.nonlinearity = nonlinearity
        super().__init__(_rnn_mode("RNNCell", nonlinearity), input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state (hx defaults to zeros)."""
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One long short-term memory step.

    With ``s = x W_ih^T + b_ih + h W_hh^T + b_hh`` split into gates (i, f, g, o):
    ``c' = sigmoid(f) c + sigmoid(i) tanh(g)`` and ``h' = sigmoid(o) tanh(c')``.

    Args:
        input_size: features of the input (H_in).
        hidden_size: features of the hidden and cell states (H_out).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).

    Shape:
        - input: ``(N, H_in)`` or ``(H_in,)``.
        - hx: a pair ``(h, c)``, each ``(N, H_out)`` or ``(H_out,)``; zeros if None.
        - output: a pair ``(h', c')`` like hx.

    Returns:
        ``(h', c')``, the next hidden and cell states.

    Attributes:
        weight_ih: ``(4 * hidden_size, input_size)``.
        weight_hh: ``(4 * hidden_size, hidden_size)``.
        bias_ih, bias_hh: ``(4 * hidden_size,)``.

    Gates are stacked (i, f, g, o); all start from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """The next ``(h, c)`` (hx defaults to zeros)."""
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """One gated recurrent unit step.

    With gates (r, z, n): ``r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)``, z likewise,
    ``n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))`` and ``h' = (1 - z) n + z h``.

    Args:
        input_size: features of the input (H_in).
        hidden_size: features of the hidden state (H_out).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).

    Shape:
        - input: ``(N, H_in)`` or ``(H_in,)``.
        - hx: ``(N, H_out)`` or ``(H_out,)``; zeros if None.
        - output: like hx.

    Returns:
        h', the next hidden state.

    Attributes:
        weight_ih: ``(3 * hidden_size, input_size)``.
        weight_hh: ``(3 * hidden_size, hidden_size)``.
        bias_ih, bias_hh: ``(3 * hidden_size,)``.

    Gates are stacked (r, z, n); all start from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__("GRU", input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state (hx defaults to zeros)."""
        return self._step(input, hx)[0]
