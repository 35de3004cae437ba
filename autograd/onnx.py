"""ONNX export, as ``torch.onnx.export``: one traced forward of a model, written as an ONNX graph.

The model runs once in eval mode on the example inputs, made leaves that require grad so that every op that
depends on them is recorded. ``record_inputs`` keeps each node's arguments; the graph is then read through the
public graph API (``Node.name()``, ``next_edges``, ``attributes()``): each recorded node reachable from the
outputs becomes one or a few ONNX nodes, its Tensor arguments are the values its ``next_edges`` point at, the
model's parameters and buffers (found by identity in ``named_parameters()`` / ``named_buffers()``) become
initializers named as in the state dict, and any other Tensor or array an op read becomes a constant. Forward
hooks note which module made each node, and the ONNX nodes are named by that module's path.

As with ``torch.jit.trace``, what the forward computed outside the graph is frozen into the trace: Python control
flow, and arrays computed from the data without recording (a comparison's mask). The ops that take such an
array (``Where``) are therefore left unmapped.

The ONNX side is built with the ``onnx`` package (``pip install gradlab[onnx]``), imported on first use. The
result opens in Netron and runs in onnxruntime.
"""

from __future__ import annotations

import inspect
import math
import os
from typing import IO, Any, Callable, Mapping, Sequence

import numpy as np

from .audit import record_inputs, recorded_inputs
from .function import AccumulateGrad, Edge, Node
from .grad_mode import enable_grad
from .graph import get_gradient_edge, walk_graph
from .tensor import Tensor

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "UnsupportedOperatorError", "export", "supported_ops"]

DEFAULT_OPSET = 20
"""The opset ``export`` targets when ``opset_version`` is None (``torch.onnx``'s default in PyTorch 2.13)."""

MIN_OPSET = 13
"""The oldest opset ``export`` writes: from 13 on, Softmax normalises one axis and ReduceSum takes its axes as an
input, as gradlab's ops do."""


class UnsupportedOperatorError(RuntimeError):
    """A recorded op has no ONNX mapping (``torch.onnx.errors.UnsupportedOperatorError`` in PyTorch)."""


def export(model: Any, args: Tensor | Sequence[Tensor], f: str | os.PathLike | IO[bytes] | None = None, *,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None,
           dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None) -> Any:
    """Trace one forward of ``model`` on ``args`` and write it as an ONNX model.

    The model runs in eval mode (batch norm uses its running statistics, dropout is off), as with PyTorch's
    default ``training=TrainingMode.EVAL``; each module's mode is restored afterwards. Control flow is traced,
    not captured: the graph holds the ops this forward ran.

    Args:
        model: an ``nn.Module`` (or any callable; only a module's parameters and buffers get their names).
        args: the example input, or a tuple of them (floating-point Tensors).
        f: a path or a binary file to write the model to; None only returns it.
        input_names: names of the graph's inputs, in order; by default the names of ``model.forward``'s
            parameters (as PyTorch's exporter does), or ``input0``, ``input1``...
        output_names: names of the graph's outputs, in order; by default ``output`` (``output0``, ``output1``...
            for several).
        opset_version: the ONNX opset to target, from ``MIN_OPSET`` (13) to the newest the ``onnx`` package
            knows; None for ``DEFAULT_OPSET`` (20).
        dynamic_axes: which axes of which inputs and outputs have no fixed size, as in PyTorch:
            ``{"input": {0: "batch"}, "output": {0: "batch"}}``, or ``{"input": [0]}`` to name them
            ``input_dynamic_axes_1``... Reshapes that keep leading dimensions keep them symbolic.

    Returns:
        the ``onnx.ModelProto`` (checked with ``onnx.checker`` and annotated with inferred shapes).

    Raises:
        UnsupportedOperatorError: an op of the forward has no ONNX mapping (the message names it).
    """
    import onnx

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"onnx.export: opset_version must be between {MIN_OPSET} and {newest} (the newest the "
                         f"installed onnx {onnx.__version__} knows), got {opset_version}")
    examples = (args,) if isinstance(args, Tensor) else tuple(args)
    for position, example in enumerate(examples):
        if not isinstance(example, Tensor) or example.dtype.kind != "f":
            kind = f"a {example.dtype} Tensor" if isinstance(example, Tensor) else type(example).__name__
            raise TypeError(f"onnx.export: input {position} must be a floating-point Tensor, got {kind}")
    input_names = _names("input_names", input_names, _default_input_names(model, len(examples)))
    leaves, created, scopes, outputs = _trace(model, examples)
    output_names = _names("output_names", output_names,
                          ["output"] if len(outputs) == 1 else [f"output{i}" for i in range(len(outputs))])
    dims = _dynamic_dims(dynamic_axes, input_names, output_names, [t.ndim for t in examples + outputs])

    graph = _Graph(onnx, opset, model, dict(zip(map(id, leaves), input_names)))
    edges = [get_gradient_edge(output) for output in outputs]
    for edge, name in zip(edges, output_names):
        graph.wanted.setdefault((edge.node, edge.output_nr), name)
    reachable = set(walk_graph([edge.node for edge in edges]))
    for index, (node, scope) in enumerate(zip(created, scopes)):
        if node in reachable:
            graph.convert(node, index, scope)
    for output, edge, name in zip(outputs, edges, output_names):
        if graph.name_of(output, edge) != name:  # an input, a constant, or one value returned twice
            graph.emit("Identity", [graph.name_of(output, edge)], outputs=[name])

    helper = onnx.helper
    onnx_graph = helper.make_graph(
        graph.nodes, type(model).__name__,
        [_value_info(onnx, name, t, dims[name]) for name, t in zip(input_names, examples)],
        [_value_info(onnx, name, t, dims[name]) for name, t in zip(output_names, outputs)],
        graph.initializers)
    opset_id = helper.make_opsetid("", opset)
    proto = helper.make_model(onnx_graph, opset_imports=[opset_id], producer_name="gradlab",
                              ir_version=helper.find_min_ir_version_for([opset_id]))
    proto = onnx.shape_inference.infer_shapes(proto)  # intermediate shapes, shown by Netron
    onnx.checker.check_model(proto)
    if f is not None:
        onnx.save(proto, f)
    return proto


def _trace(model: Any, examples: tuple[Tensor, ...]) -> tuple[list[Tensor], list[Node], list[str],
                                                               tuple[Tensor, ...]]:
    """Run ``model`` once in eval mode on leaves made from ``examples``; return them, the nodes it recorded (in
    creation order), the name of the module that was running when each was made, and the outputs. Each module's
    mode is restored."""
    # Fresh leaves that require grad: every op that depends on an input is then recorded, whatever the
    # parameters' requires_grad.
    leaves = [Tensor(example.data, requires_grad=True) for example in examples]
    modules = list(model.named_modules()) if hasattr(model, "named_modules") else []
    modes = [(module, module.training) for _, module in modules]
    if hasattr(model, "eval"):
        model.eval()
    # Forward hooks keep the stack of modules running: the nodes made since the last hook belong to its top.
    names = {id(module): name for name, module in modules}
    running, scopes, handles = [""], [], []

    def claim() -> None:
        scopes.extend([running[-1]] * (len(created) - len(scopes)))

    def enter(module: Any, args: tuple) -> None:
        claim()
        running.append(names[id(module)])

    def leave(module: Any, args: tuple, result: Any) -> None:
        claim()
        running.pop()

    for _, module in modules:
        handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    try:
        with enable_grad(), record_inputs() as created:
            result = model(*leaves)
        claim()
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:  # parents first: a parent's train() sets its children, who come after
            module.train(training)
    outputs = (result,) if isinstance(result, Tensor) else tuple(result)
    if not outputs or not all(isinstance(output, Tensor) for output in outputs):
        raise TypeError(f"onnx.export: the model must return a Tensor or a tuple of Tensors, got "
                        f"{type(result).__name__}")
    return leaves, created, scopes, outputs


def supported_ops() -> list[str]:
    """The names of the recorded ops (``Node.name()``) that ``export`` maps to ONNX."""
    return sorted(_CONVERTERS)


# ----------------------------------------------------------------------------- arguments
def _default_input_names(model: Any, count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(model.forward if hasattr(model, "forward") else model).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) >= count:
        return names[:count]
    return ["input"] if count == 1 else [f"input{i}" for i in range(count)]


def _names(argument: str, given: Sequence[str] | None, default: list[str]) -> list[str]:
    if given is None:
        return default
    names = list(given)
    if len(names) != len(default):
        raise ValueError(f"onnx.export: {argument} has {len(names)} names for {len(default)} values: {names}")
    return names


def _dynamic_dims(dynamic_axes: Mapping | None, input_names: list[str], output_names: list[str],
                  ranks: list[int]) -> dict[str, dict[int, str]]:
    """Each input's and output's symbolic axes, ``{axis: dim_param}``, from torch's ``dynamic_axes`` forms."""
    ranks_by_name = dict(zip(input_names + output_names, ranks))
    dims: dict[str, dict[int, str]] = {name: {} for name in ranks_by_name}
    for name, axes in (dynamic_axes or {}).items():
        if name not in ranks_by_name:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is none of the inputs {input_names} "
                             f"or outputs {output_names}")
        named = dict(axes) if isinstance(axes, Mapping) else {axis: f"{name}_dynamic_axes_{i + 1}"
                                                              for i, axis in enumerate(axes)}
        for axis, dim_param in named.items():
            if not -ranks_by_name[name] <= axis < ranks_by_name[name]:
                raise ValueError(f"onnx.export: dynamic axis {axis} of {name!r} is out of range for its "
                                 f"{ranks_by_name[name]} dimensions")
            dims[name][axis % ranks_by_name[name]] = str(dim_param)
    return dims


def _value_info(onnx: Any, name: str, tensor: Tensor, dynamic: dict[int, str]) -> Any:
    shape = [dynamic.get(axis, size) for axis, size in enumerate(tensor.shape)]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(tensor.dtype), shape)


# ----------------------------------------------------------------------------- the graph being built
class _Graph:
    """The ONNX nodes and initializers made so far, and the ONNX name of every traced value."""

    def __init__(self, onnx: Any, opset: int, model: Any, inputs: dict[int, str]) -> None:
        self.onnx = onnx
        self.opset = opset
        self.inputs = inputs  # id(leaf) -> graph input name
        self.names: dict[int, str] = {}  # id(parameter or buffer) -> its state-dict name
        for members in ("named_buffers", "named_parameters"):
            for name, tensor in _members(model, members):
                self.names.setdefault(id(tensor), name)
        self.values: dict[tuple[Node, int], str] = {}  # (node, output_nr) -> ONNX name
        self.wanted: dict[tuple[Node, int], str] = {}  # the graph outputs' names, for the values they are
        self.nodes: list = []
        self.initializers: list = []
        self.stored: dict[Any, str] = {}  # id(tensor) or a small constant's bytes -> initializer name
        self.scope = ""

    def convert(self, node: Node, index: int, scope: str) -> None:
        """Emit the ONNX nodes of one recorded node made inside the module named ``scope`` ("" for the model
        itself) and note the names of its outputs."""
        converter = _CONVERTERS.get(node.name())
        if converter is None:
            hint = _UNMAPPED.get(node.name(), "")
            raise UnsupportedOperatorError(
                f"ONNX export: the op {node!r} (node {index} of the forward, in {scope or 'the model itself'}) has no "
                f"ONNX mapping{hint}; the ops "
                f"that map are {', '.join(supported_ops())}")
        # ONNX nodes are named by module path, as PyTorch's exporter names them: /layer1/0/conv1/Conv_3.
        self.scope = "".join(f"/{part}" for part in scope.split(".") if part)
        before = len(self.nodes)
        outputs = converter(_Op(self, node), *recorded_inputs(node)[0])
        for output_nr, name in enumerate([outputs] if isinstance(outputs, str) else outputs):
            wanted = self.wanted.get((node, output_nr))
            last = self.nodes[-1].output if len(self.nodes) > before else []
            if wanted is not None and name in last:
                # The converter's last node makes this graph output (nothing reads it yet): name it so.
                last[list(last).index(name)] = wanted
                name = wanted
            self.values[(node, output_nr)] = name

    def emit(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str] | None = None,
             **attributes: Any) -> str:
        """Add one ONNX node; returns the name of its (first) output."""
        name = f"{self.scope}/{op_type}_{len(self.nodes)}"
        if outputs is None:
            outputs = [f"{name}_output"]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), list(outputs), name=name, **attributes))
        return outputs[0]

    def constant(self, array: np.ndarray, name: str | None = None, key: Any = None) -> str:
        """An initializer holding ``array`` (stored once per ``key``; small constants once per value)."""
        array = np.asarray(array)
        if key is None and array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
        if key is not None and key in self.stored:
            return self.stored[key]
        name = name or f"{self.scope}/constant_{len(self.initializers)}"
        # np.asarray(order="C"), not np.ascontiguousarray: that one makes a 0-d scalar 1-d, and the (1,) it
        # broadcasts to would turn a 0-d result (a mean of everything) into shape (1,).
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, order="C"), name))
        if key is not None:
            self.stored[key] = name
        return name

    def ints(self, values: Sequence[int]) -> str:
        return self.constant(np.asarray(list(values), dtype=np.int64))

    def name_of(self, tensor: Tensor, edge: Edge | None) -> str:
        """The ONNX name of a Tensor an op read, given the edge its gradient would flow along."""
        if id(tensor) in self.inputs:
            return self.inputs[id(tensor)]
        if edge is not None and not isinstance(edge.node, AccumulateGrad):
            name = self.values.get((edge.node, edge.output_nr))
            if name is not None:
                return name
            if edge.output_nr > 0 and (edge.node, 0) in self.values:
                raise UnsupportedOperatorError(
                    f"ONNX export: output {edge.output_nr} of {edge.node!r} (such as max-pooling's indices) has no "
                    f"ONNX mapping")
            # Made by an op outside the traced forward (before export): a constant of the traced graph.
        if id(tensor) in self.names:
            return self.constant(tensor.data, name=self.names[id(tensor)], key=id(tensor))
        return self.constant(tensor.data, key=id(tensor))


def _members(model: Any, members: str) -> list[tuple[str, Tensor]]:
    return list(getattr(model, members)()) if hasattr(model, members) else []


class _Op:
    """One recorded node as its converter sees it: its attributes, and its inputs as ONNX names."""

    def __init__(self, graph: _Graph, node: Node) -> None:
        self.graph = graph
        self.node = node
        self.attributes = node.attributes()
        args = recorded_inputs(node)[0]
        tensors = [arg for arg in args if isinstance(arg, Tensor)]
        floating = [t for t in tensors if t.dtype.kind == "f"]
        # Python numbers take the dtype of the op's tensors, as numpy's and PyTorch's promotion give them.
        self.dtype = (floating or tensors)[0].dtype if tensors else np.dtype(np.float32)
        self.args = args

    @property
    def opset(self) -> int:
        return self.graph.opset

    def input(self, position: int) -> str:
        """The ONNX name of positional argument ``position``: a traced value, an initializer or a constant."""
        value = self.args[position]
        if value is None:
            return ""  # an optional input left out
        if isinstance(value, Tensor):
            return self.graph.name_of(value, self.node.next_edges[position])
        if isinstance(value, np.ndarray):
            return self.graph.constant(value)
        return self.scalar(value)  # a Python or numpy number

    def scalar(self, value: Any) -> str:
        return self.graph.constant(np.asarray(value, dtype=self.dtype))

    def emit(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        return self.graph.emit(op_type, inputs, **attributes)

    def unsupported(self, why: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(f"ONNX export: {self.node!r} has no ONNX mapping: {why}")


# ----------------------------------------------------------------------------- converters, one per op family
Converter = Callable[..., "str | list[str]"]


def _unary(op_type: str) -> Converter:
    def convert(op: _Op, x: Tensor) -> str:
        return op.emit(op_type, [op.input(0)])
    return convert


def _binary(op_type: str) -> Converter:
    def convert(op: _Op, a: Any, b: Any) -> str:
        return op.emit(op_type, [op.input(0), op.input(1)])
    return convert


def _log1p(op: _Op, x: Tensor) -> str:
    return op.emit("Log", [op.emit("Add", [op.input(0), op.scalar(1)])])


def _erfc(op: _Op, x: Tensor) -> str:
    return op.emit("Sub", [op.scalar(1), op.emit("Erf", [op.input(0)])])


def _expm1(op: _Op, x: Tensor) -> str:
    return op.emit("Sub", [op.emit("Exp", [op.input(0)]), op.scalar(1)])


def _rsqrt(op: _Op, x: Tensor) -> str:
    return op.emit("Reciprocal", [op.emit("Sqrt", [op.input(0)])])


def _hardsigmoid(op: _Op, x: Tensor) -> str:
    return op.emit("HardSigmoid", [op.input(0)], alpha=1 / 6, beta=0.5)


def _clamp(op: _Op, x: Tensor, low: float | None, high: float | None) -> str:
    bounds = ["" if bound is None else op.scalar(bound) for bound in (low, high)]
    return op.emit("Clip", [op.input(0), *bounds])


def _leaky_relu(op: _Op, x: Tensor, negative_slope: float) -> str:
    return op.emit("LeakyRelu", [op.input(0)], alpha=float(negative_slope))


def _elu(op: _Op, x: Tensor, alpha: float) -> str:
    return op.emit("Elu", [op.input(0)], alpha=float(alpha))


def _gelu(op: _Op, x: Tensor, approximate: str) -> str:
    name = op.input(0)
    if op.opset >= 20:
        return op.emit("Gelu", [name], approximate=approximate)
    # Before opset 20: 0.5 x (1 + erf(x / sqrt 2)), or the tanh form with its cubic.
    if approximate == "tanh":
        cube = op.emit("Mul", [op.emit("Mul", [name, name]), name])
        inner = op.emit("Add", [name, op.emit("Mul", [cube, op.scalar(0.044715)])])
        core = op.emit("Tanh", [op.emit("Mul", [inner, op.scalar(math.sqrt(2 / math.pi))])])
    else:
        core = op.emit("Erf", [op.emit("Mul", [name, op.scalar(1 / math.sqrt(2))])])
    half_x = op.emit("Mul", [name, op.scalar(0.5)])
    return op.emit("Mul", [half_x, op.emit("Add", [core, op.scalar(1)])])


def _softmax(op_type: str) -> Converter:
    def convert(op: _Op, x: Tensor, dim: int) -> str:
        return op.emit(op_type, [op.input(0)], axis=int(dim))
    return convert


def _permute(op: _Op, x: Tensor, dims: Sequence[int]) -> str:
    return op.emit("Transpose", [op.input(0)], perm=[int(d) % max(x.ndim, 1) for d in dims])


def _reshape(op: _Op, x: Tensor, shape: Sequence[int]) -> str:
    shape = tuple(int(s) for s in shape)
    known = math.prod(s for s in shape if s != -1)
    target = tuple(x.data.size // known if s == -1 else s for s in shape) if known else shape
    # Leading dimensions kept as they are become 0 ("copy the input's") and a single last one -1, so that a
    # dynamic batch axis stays dynamic through flatten(1), squeeze and unsqueeze.
    kept = 0
    while kept < min(x.ndim, len(target)) and x.shape[kept] == target[kept]:
        kept += 1
    rest = list(target[kept:])
    return op.emit("Reshape", [op.input(0), op.graph.ints([0] * kept + ([-1] if len(rest) == 1 else rest))])


def _expand(op: _Op, x: Tensor, shape: Sequence[int]) -> str:
    # Sizes that the input already has become 1 (broadcasting keeps them), so symbolic axes survive.
    offset = len(shape) - x.ndim
    target = [1 if i >= offset and x.shape[i - offset] == size else size for i, size in enumerate(shape)]
    return op.emit("Expand", [op.input(0), op.graph.ints(target)])


def _cat(op: _Op, dim: int, *tensors: Tensor) -> str:
    return op.emit("Concat", [op.input(position) for position in range(1, len(tensors) + 1)], axis=int(dim))


def _axes(op: _Op) -> list[int] | None:
    dim = op.attributes.get("dim")
    if dim is None:
        return None  # every dimension
    return [int(d) for d in dim] if isinstance(dim, tuple) else [int(dim)]


def _reduction(op_type: str, axes_input_since: int) -> Converter:
    def convert(op: _Op, x: Tensor, dim: Any, keepdim: bool) -> str:
        axes = _axes(op)
        keepdims = int(bool(op.attributes.get("keepdim", False)))
        if axes is None:
            return op.emit(op_type, [op.input(0)], keepdims=keepdims)
        if op.opset >= axes_input_since:
            return op.emit(op_type, [op.input(0), op.graph.ints(axes)], keepdims=keepdims)
        return op.emit(op_type, [op.input(0)], axes=axes, keepdims=keepdims)
    return convert


def _cast(op: _Op, x: Tensor, dtype: Any) -> str:
    return op.emit("Cast", [op.input(0)], to=op.graph.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


def _constant_pad(op: _Op, x: Tensor, widths: Sequence[tuple[int, int]], value: float) -> str:
    pads = [int(before) for before, _ in widths] + [int(after) for _, after in widths]
    return op.emit("Pad", [op.input(0), op.graph.ints(pads), op.scalar(value)], mode="constant")


def _batch_norm(op: _Op, x: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                running_var: Tensor | None, training: bool, momentum: float, eps: float) -> str:
    if op.attributes.get("training", True):
        raise op.unsupported(f"batch norm with the statistics of the batch (training=True) over input {x.shape}; "
                             f"export runs modules in eval mode, so this is a BatchNorm built with "
                             f"track_running_stats=False or a functional batch_norm(..., training=True) call")
    channels = x.shape[1]
    scale = op.input(1) if weight is not None else op.graph.constant(np.ones(channels, x.dtype))
    shift = op.input(2) if bias is not None else op.graph.constant(np.zeros(channels, x.dtype))
    return op.emit("BatchNormalization", [op.input(0), scale, shift, op.input(3), op.input(4)],
                   epsilon=float(op.attributes.get("eps", 1e-5)))


def _spatial(value: Any, dims: int) -> list[int]:
    """An attribute as a user wrote it (``2`` or ``(2, 1)``) as one int per spatial dimension."""
    return [int(v) for v in value] if isinstance(value, tuple) else [int(value)] * dims


def _conv_pads(value: Any, dims: int) -> list[int]:
    """ONNX's (begins..., ends...) from a conv's ``padding`` attribute: an int, one per dimension, or pairs."""
    if isinstance(value, tuple) and isinstance(value[0], tuple):
        pairs = [(int(before), int(after)) for before, after in value]
    else:
        pairs = [(p, p) for p in _spatial(value, dims)]
    return [before for before, _ in pairs] + [after for _, after in pairs]


def _conv_settings(op: _Op, weight: Tensor, dims: int) -> dict[str, Any]:
    settings = op.attributes
    return {"kernel_shape": [int(k) for k in weight.shape[2:]], "strides": _spatial(settings.get("stride", 1), dims),
            "pads": _conv_pads(settings.get("padding", 0), dims),
            "dilations": _spatial(settings.get("dilation", 1), dims), "group": int(settings.get("groups", 1))}


def _conv(op: _Op, x: Tensor, weight: Tensor, bias: Tensor | None, spec: Any) -> str:
    inputs = [op.input(0), op.input(1)] + ([op.input(2)] if bias is not None else [])
    return op.emit("Conv", inputs, **_conv_settings(op, weight, x.ndim - 2))


def _conv_transpose(op: _Op, x: Tensor, weight: Tensor, bias: Tensor | None, spec: Any,
                    output_padding: Sequence[int]) -> str:
    dims = x.ndim - 2
    inputs = [op.input(0), op.input(1)] + ([op.input(2)] if bias is not None else [])
    return op.emit("ConvTranspose", inputs, **_conv_settings(op, weight, dims),
                   output_padding=_spatial(op.attributes.get("output_padding", 0), dims))


def _window_settings(op: _Op, dims: int) -> dict[str, Any]:
    settings = op.attributes
    kernel = _spatial(settings["kernel_size"], dims)
    padding = _spatial(settings.get("padding", 0), dims)
    return {"kernel_shape": kernel, "strides": _spatial(settings.get("stride", tuple(kernel)), dims),
            "pads": padding + padding, "ceil_mode": int(bool(settings.get("ceil_mode", False)))}


def _max_pool(op: _Op, x: Tensor, spec: Any) -> list[str]:
    dims = x.ndim - 2
    # The indices (output 1) stay unmapped: ONNX numbers them over the whole tensor, gradlab within each plane.
    return [op.emit("MaxPool", [op.input(0)], **_window_settings(op, dims),
                    dilations=_spatial(op.attributes.get("dilation", 1), dims))]


def _avg_pool(op: _Op, x: Tensor, spec: Any, count_include_pad: bool, divisor_override: int | None) -> str:
    if divisor_override is not None:
        raise op.unsupported("ONNX's AveragePool has no divisor_override")
    return op.emit("AveragePool", [op.input(0)], **_window_settings(op, x.ndim - 2),
                   count_include_pad=int(bool(op.attributes.get("count_include_pad", True))))


def _adaptive_max_pool(op: _Op, x: Tensor, out_size: tuple[int, int]) -> list[str]:
    size = x.shape[2:]
    if tuple(out_size) == (1, 1):
        return [op.emit("GlobalMaxPool", [op.input(0)])]
    if any(n % o for n, o in zip(size, out_size)):
        raise op.unsupported(f"its bins over the input {size} for output_size {tuple(out_size)} are uneven, and "
                             f"ONNX's MaxPool has equal windows only")
    kernel = [n // o for n, o in zip(size, out_size)]
    return [op.emit("MaxPool", [op.input(0)], kernel_shape=kernel, strides=kernel)]


# Why some ops stay unmapped: a trace would freeze what they read from the data.
_UNMAPPED = {
    "Where": " (its condition is an array computed from the data outside the graph, such as softplus's threshold "
             "test: a trace would freeze it)",
    "Dropout": " (dropout in training mode draws a new mask per call; export runs modules in eval mode, so this is "
               "a functional dropout(..., training=True) call)",
}

_CONVERTERS: dict[str, Converter] = {
    # elementwise
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "Maximum": _binary("Max"), "Minimum": _binary("Min"), "Neg": _unary("Neg"),
    "Exp": _unary("Exp"), "Log": _unary("Log"), "Log1p": _log1p, "Sqrt": _unary("Sqrt"), "Sin": _unary("Sin"),
    "Cos": _unary("Cos"), "Tanh": _unary("Tanh"), "Abs": _unary("Abs"), "Clamp": _clamp, "Erfc": _erfc,
    "Clone": _unary("Identity"), "Cast": _cast, "Erf": _unary("Erf"), "Expm1": _expm1,
    "Rsqrt": _rsqrt, "Floor": _unary("Floor"), "Ceil": _unary("Ceil"), "Tan": _unary("Tan"),
    "Asin": _unary("Asin"), "Acos": _unary("Acos"), "Atan": _unary("Atan"), "Sinh": _unary("Sinh"),
    "Cosh": _unary("Cosh"), "Asinh": _unary("Asinh"), "Acosh": _unary("Acosh"), "Atanh": _unary("Atanh"),
    # activations
    "Relu": _unary("Relu"), "Sigmoid": _unary("Sigmoid"), "Softplus": _unary("Softplus"),
    "Hardsigmoid": _hardsigmoid, "LeakyRelu": _leaky_relu, "Elu": _elu, "Gelu": _gelu, "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    # linear algebra and shapes
    "Matmul": _binary("MatMul"), "Permute": _permute, "Reshape": _reshape, "Expand": _expand, "Cat": _cat,
    "ConstantPad": _constant_pad,
    # reductions (the axes became an input in opset 13 for ReduceSum, in 18 for the others)
    "Sum": _reduction("ReduceSum", 13), "Amax": _reduction("ReduceMax", 18), "Amin": _reduction("ReduceMin", 18),
    "LogSumExp": _reduction("ReduceLogSumExp", 18),
    # convolution, normalization, pooling
    "Conv2d": _conv, "Conv3d": _conv, "ConvTranspose2d": _conv_transpose, "ConvTranspose3d": _conv_transpose,
    "BatchNorm": _batch_norm, "MaxPool2d": _max_pool, "MaxPool3d": _max_pool, "AvgPool2d": _avg_pool,
    "AvgPool3d": _avg_pool, "AdaptiveMaxPool2d": _adaptive_max_pool,
}
