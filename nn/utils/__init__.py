"""Utilities around modules: gradient clipping, flat parameter vectors and a layer-by-layer summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from autograd.grad_mode import no_grad
from autograd.ops.shape import cat
from autograd.tensor import Tensor, wrap

from ..layers.conv import _ConvNd
from ..layers.linear import Linear
from ..module import Module
from . import data


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if they were concatenated into one vector; when it exceeds
    ``max_norm`` every gradient is multiplied by ``max_norm / (norm + 1e-6)``. A cure for exploding
    gradients that keeps the update's direction.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped (None grads are skipped).
        max_norm: the largest allowed norm.
        norm_type: p of the p-norm; ``float('inf')`` for the largest absolute value.

    Returns:
        the total norm before clipping, as a 0-d Tensor.
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return wrap(np.array(0.0, np.float32))
    if math.isinf(norm_type):
        total = max(float(np.abs(g.data).max(initial=0.0)) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g.data.astype(np.float64)) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    coefficient = max_norm / (total + 1e-6)
    if not coefficient >= 1:  # also a nan norm: the gradients become nan, as in PyTorch, not silently kept
        for g in grads:
            g.data = g.data * np.asarray(coefficient, g.data.dtype)
    return wrap(np.array(total, grads[0].data.dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        clip_value: the largest allowed absolute value.
    """
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad.data = np.clip(p.grad.data, -clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-d tensor (differentiable).

    Args:
        parameters: an iterable of Tensors, e.g. ``model.parameters()``.

    Returns:
        Tensor of shape ``(total number of elements,)``.
    """
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place (the inverse of ``parameters_to_vector``).

    Args:
        vec: 1-d tensor with as many elements as the parameters together.
        parameters: an iterable of Tensors.
    """
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: expected a 1-d vector of {total} elements, got shape {vec.shape}")
    offset = 0
    with no_grad():
        for p in parameters:
            p.copy_(vec.data[offset:offset + p.numel()].reshape(p.shape))
            offset += p.numel()


@dataclass
class SummaryRow:
    """One call of one module during the summary's forward pass."""

    name: str
    type: str
    depth: int
    output_shape: Any = None
    params: int = 0
    mult_adds: int = 0


@dataclass
class ModelSummary:
    """The result of ``summary``; ``str()`` (or the REPL) shows it as a table.

    Attributes:
        rows: one ``SummaryRow`` per module call, in call order (parents before their children).
        input_shape: the shape that was fed to the model.
        total_params: number of parameter elements (shared parameters counted once).
        trainable_params: those with ``requires_grad``.
        total_mult_adds: multiply-accumulates of the Conv and Linear layers for this input.
    """

    rows: list[SummaryRow] = field(default_factory=list)
    input_shape: tuple = ()
    total_params: int = 0
    trainable_params: int = 0
    total_mult_adds: int = 0

    def __str__(self) -> str:
        header = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds")
        body = [("  " * row.depth + (f"{row.name} ({row.type})" if row.name else row.type),
                 _shape_text(row.output_shape), f"{row.params:,}" if row.params else "--",
                 f"{row.mult_adds:,}" if row.mult_adds else "--")
                for row in self.rows]
        widths = [max(len(line[i]) for line in [header] + body) for i in range(4)]

        def format_line(line: tuple) -> str:
            cells = [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]
            return "  ".join([line[0].ljust(widths[0])] + cells)

        rule = "=" * len(format_line(header))
        lines = [rule, format_line(header), rule] + [format_line(line) for line in body] + [rule]
        lines += [f"Input shape: {tuple(self.input_shape)}",
                  f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                  f"Total mult-adds: {self.total_mult_adds:,}",
                  rule]
        return "\n".join(lines)

    __repr__ = __str__


def _shape_of(output: Any) -> Any:
    """The shape of a Tensor output, a list of shapes for a tuple of outputs, None otherwise."""
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shape_of(item) for item in output]
    return None


def _shape_text(shape: Any) -> str:
    if isinstance(shape, tuple):
        return str(list(shape))
    if isinstance(shape, list):
        return ", ".join(_shape_text(item) for item in shape)
    return "--"


def _mult_adds(module: Module, input: Any, output: Any) -> int:
    """Multiplications done by a Conv or Linear layer: each output element costs its fan-in."""
    if not isinstance(output, Tensor):
        return 0
    if isinstance(module, _ConvNd):
        kernel = math.prod(module.kernel_size)
        if module.transposed:
            # the gradient-of-conv view: each input element is multiplied by out_channels / groups * kernel weights
            return input.numel() * (module.out_channels // module.groups) * kernel
        return output.numel() * (module.in_channels // module.groups) * kernel
    if isinstance(module, Linear):
        return output.numel() * module.in_features
    return 0


def summary(model: Module, input_shape: tuple[int, ...], dtype: Any = np.float32) -> ModelSummary:
    """Run one forward pass on zeros and tabulate every module call: output shape, parameters, mult-adds.

    The model is run in evaluation mode without recording the graph, then put back in its previous
    mode. Parameter counts of a row are the module's own (not its children's), so the rows add up
    to the total.

    Args:
        model: the module to describe.
        input_shape: the full input shape, batch dimension included, e.g. ``(1, 3, 32, 32)``.
        dtype: dtype of the zeros fed to the model.

    Returns:
        a ``ModelSummary``; print it for the table.

    Example::

        >>> print(nn.utils.summary(nn.models.resnet18(), (1, 3, 224, 224)))
    """
    result = ModelSummary(input_shape=tuple(input_shape))
    # Rows whose forward is still running, per module (a module may be called again inside itself).
    open_rows: dict[int, list[SummaryRow]] = {}
    handles = []
    for name, module in model.named_modules():
        depth = 0 if name == "" else name.count(".") + 1

        def before(module: Module, args: tuple, name: str = name, depth: int = depth) -> None:
            own = sum(p.numel() for p in module.parameters(recurse=False))
            row = SummaryRow(name, type(module).__name__, depth, params=own)
            result.rows.append(row)
            open_rows.setdefault(id(module), []).append(row)

        def after(module: Module, args: tuple, output: Any) -> None:
            row = open_rows[id(module)].pop()
            row.output_shape = _shape_of(output)
            row.mult_adds = _mult_adds(module, args[0] if args else None, output)

        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(wrap(np.zeros(input_shape, dtype)))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    parameters = list(model.parameters())
    result.total_params = sum(p.numel() for p in parameters)
    result.trainable_params = sum(p.numel() for p in parameters if p.requires_grad)
    result.total_mult_adds = sum(row.mult_adds for row in result.rows)
    return result
