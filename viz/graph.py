"""The graph model behind every rendering: a walk of a recorded autograd graph into plain nodes and edges.

``build_graph`` turns the output of a computation into a ``Graph``: one node per op (a ``Function``
instance), per leaf that receives a gradient, and per output tensor, with edges in the direction
data flows (inputs -> op -> output). The DOT renderer (``viz.dot``), the JSON export and the module
view (``viz.model``) all read this model, so they always agree.

Node ids come from each node's position in a depth-first walk from the outputs
(``autograd.audit.walk_graph``), never from ``id()``: the same model gives the same ids in every run,
so two renders can be diffed.

Gradients: a node does not keep the gradient that flowed through it, so ``capture_grads(output)``
registers hooks (before backward) that remember the gradient arriving at every op output; leaves use
their ``.grad``. When nothing was captured and the graph was not run backward yet, ``build_graph``
computes the gradients itself with ``autograd.grad(..., retain_graph=True)``, which leaves every
``.grad`` untouched.
"""

from __future__ import annotations

import functools
import json
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from autograd.audit import GraphAudit, recorded_inputs
from autograd.device import device_of, to_device
from autograd.engine import grad as autograd_grad
from autograd.graph import AccumulateGrad, Node, get_gradient_edge, walk_graph
from autograd.ops.shape import broadcast_axes
from autograd.tensor import Tensor, wrap

# With show_values=None, values (and gradients) are printed for tensors with at most this many elements.
SMALL_TENSOR = 4
# With show_values=True, values are printed for tensors with at most this many elements; gradients
# are kept whole up to this size.
PRINTED_ELEMENTS = 16
# An Add whose inputs come from depths this far apart (in ops on the longest path) joins a skip connection.
SKIP_DEPTH_GAP = 2

# Gradients seen by capture_grads: node -> {output_nr: GradStat}. Weak, so graphs die as usual.
_captured: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class GradStat:
    """What a rendering needs of one gradient: its L2 norm, and its values when it is small."""

    norm: float
    value: np.ndarray | None = None

    @classmethod
    def of(cls, gradient: np.ndarray) -> GradStat:
        """Summarise a gradient array (the norm is computed in float64)."""
        gradient = to_device(gradient, "cpu")  # a GPU's gradient is summarised on the host
        norm = float(np.sqrt(np.sum(np.square(gradient, dtype=np.float64))))
        return cls(norm, np.array(gradient, copy=True) if gradient.size <= PRINTED_ELEMENTS else None)


@dataclass
class GraphNode:
    """One node of the rendered graph.

    Attributes:
        id: stable id (``n<index>`` in walk order, ``out<k>`` for outputs, ``m:<module>`` for modules).
        kind: ``"op"``, ``"param"`` (a named leaf), ``"leaf"`` (an unnamed leaf), ``"output"``,
            ``"module"`` (a collapsed module) or ``"cut"`` (stands for the nodes beyond ``depth``).
        name: the op's name, the parameter's name, ``"output"``, or the module's dotted name.
        attributes: an op's small attributes (stride, dim, ...) as short strings; a module's class.
        shape: the tensor's shape (for ops and modules, the output's).
        dtype: the tensor's dtype name.
        device: where the tensor lives (``"cuda:0"``), None on the CPU.
        module: dotted name of the module that made the node ("" when none is known).
        value: the tensor's value, when small enough to print.
        grad: the gradient that reached the node (None when not shown or not known).
        saved: ``(what, shape, dtype, bytes)`` for each array an op keeps for backward.
        saved_freed: True when backward already freed the op's saved tensors.
        audit: the failure message of ``gradcheck_graph`` for this op, if it failed.
        badges: short problem notes drawn on the node (``viz.lint``'s findings), one line each.
        residual: an Add node with a skip-connection input (its gradient goes to both branches).
        params: number of parameter elements (module nodes).
        count: how many identical modules a rolled-up module node stands for.
        node: the autograd node (not exported).
    """

    id: str
    kind: str
    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    shape: tuple | None = None
    dtype: str | None = None
    device: str | None = None
    module: str = ""
    value: np.ndarray | None = None
    grad: GradStat | None = None
    saved: list[tuple[str, tuple, str, int]] = field(default_factory=list)
    saved_freed: bool = False
    audit: str | None = None
    badges: list[str] = field(default_factory=list)
    residual: bool = False
    params: int | None = None
    count: int = 1
    node: Any = field(default=None, repr=False, compare=False)

    @property
    def saved_bytes(self) -> int:
        """Bytes of the arrays this node keeps for backward."""
        return sum(entry[3] for entry in self.saved)


@dataclass
class GraphEdge:
    """A tensor flowing from ``source`` to ``target``.

    Attributes:
        shape: the tensor's shape.
        output_nr: which output of a multi-output op it is.
        broadcast_axes: axes over which the target's backward sums the gradient (a broadcast input).
        skip: the edge is the shortcut branch of a residual connection.
    """

    source: str
    target: str
    shape: tuple | None = None
    output_nr: int = 0
    broadcast_axes: tuple[int, ...] | None = None
    skip: bool = False


@dataclass
class ModuleInfo:
    """A module seen during ``draw_model``: its class, parameter count, output shape and depth."""

    name: str
    type: str
    params: int
    shape: tuple | None
    depth: int


@dataclass
class Graph:
    """Nodes, edges and (for model drawings) modules, plus what the renderer needs to show them.

    Attributes:
        nodes: in stable order (walk order from the outputs).
        edges: data-flow edges.
        modules: modules by dotted name (empty for ``make_dot``).
        grads_shown: whether gradients were requested.
        show_saved: whether saved arrays are shown.
        notes: remarks for the legend (e.g. why some gradients are missing).
        vanishing: gradient norm below which a gradient counts as vanishing.
        audit: the ``gradcheck_graph`` report whose failures are marked, if any.
    """

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    modules: dict[str, ModuleInfo] = field(default_factory=dict)
    grads_shown: bool = False
    show_saved: bool = False
    notes: list[str] = field(default_factory=list)
    vanishing: float = 1e-7
    audit: GraphAudit | None = None

    def to_dict(self) -> dict:
        """The graph as plain JSON-ready data (schema in ``viz.to_json``)."""
        return {
            "version": 1,
            "nodes": [_node_dict(node) for node in self.nodes],
            "edges": [{"source": edge.source, "target": edge.target, "shape": _list(edge.shape),
                       "output_nr": edge.output_nr, "broadcast_axes": _list(edge.broadcast_axes), "skip": edge.skip}
                      for edge in self.edges],
            "modules": [{"name": info.name, "type": info.type, "params": info.params, "shape": _list(info.shape),
                         "depth": info.depth} for info in self.modules.values()],
        }


def _list(shape: tuple | None) -> list | None:
    return None if shape is None else [int(size) for size in shape]


def _json_numbers(value: np.ndarray | float) -> Any:
    """Numbers as JSON can hold them: NaN and infinities (which JSON has no literal for) become
    the strings ``"nan"``, ``"inf"`` and ``"-inf"``."""
    array = np.asarray(value, dtype=np.float64)
    exported = array.astype(object)
    finite = np.isfinite(array)
    exported[~finite] = [str(number) for number in array[~finite]]
    return exported.tolist()


def _node_dict(node: GraphNode) -> dict:
    return {
        "id": node.id, "kind": node.kind, "name": node.name, "attributes": node.attributes,
        "shape": _list(node.shape), "dtype": node.dtype, "module": node.module,
        "value": None if node.value is None else _json_numbers(node.value),
        "grad": None if node.grad is None else {"norm": _json_numbers(node.grad.norm)},
        "saved_bytes": node.saved_bytes, "audit_failure": node.audit,
        "residual": node.residual, "params": node.params, "count": node.count,
    }


def to_json(output: Any, params: dict[str, Tensor] | None = None, *, show_values: bool | None = None,
            show_saved: bool = False, show_grads: bool = False, audit: GraphAudit | None = None,
            indent: int | None = None) -> str:
    """Export a computation graph as JSON: the same nodes, ids and edges ``make_dot`` draws.

    Args:
        output: an output Tensor (or a list of them), or a graph returned by ``make_dot`` /
            ``draw_model`` (its ``.graph``), which is exported as drawn.
        params, show_values, show_saved, show_grads, audit: as in ``make_dot``.
        indent: passed to ``json.dumps``.

    Returns:
        a JSON object ``{"version": 1, "nodes": [...], "edges": [...], "modules": [...]}``. Each node
        has ``id``, ``kind`` (op/param/leaf/output/module/cut), ``name``, ``attributes``, ``shape``,
        ``dtype``, ``module``, ``value``, ``grad`` (``{"norm": ...}`` or null; in values and norms NaN
        and infinities are the strings ``"nan"``, ``"inf"``, ``"-inf"``, strict JSON), ``saved_bytes``,
        ``audit_failure``, ``residual``, ``params``, ``count``; each edge ``source``, ``target``,
        ``shape``, ``output_nr``, ``broadcast_axes`` and ``skip``.
    """
    graph = getattr(output, "graph", None)
    if not isinstance(graph, Graph):
        graph = build_graph(output, params, show_values=show_values, show_saved=show_saved, show_grads=show_grads,
                            audit=audit)
    return json.dumps(graph.to_dict(), indent=indent)


def capture_grads(*outputs: Tensor) -> None:
    """Remember the gradient that reaches every op of the graphs of ``outputs`` in the next backward.

    Call it after the forward and before ``backward()``; then ``make_dot(output, show_grads=True)``
    colours every node by its gradient norm. Without it, only leaves (through their ``.grad``) can
    be coloured after backward. The hooks live on the graph's nodes and go away with the graph.

    Args:
        outputs: the tensors whose graphs to watch (usually the loss).
    """
    for node in walk_graph(_roots(outputs)):
        if isinstance(node, AccumulateGrad) or node in _captured:
            continue
        _captured[node] = {}
        node.register_prehook(_recorder(node))


def _recorder(node: Node):
    reference = weakref.ref(node)

    def record(gradients: tuple) -> None:
        owner = reference()
        if owner is not None:
            for output_nr, gradient in enumerate(gradients):
                if gradient is not None:
                    _captured[owner][output_nr] = GradStat.of(gradient.data)

    return record


def _roots(outputs: Sequence[Tensor]) -> list[Node]:
    roots = []
    for output in outputs:
        if not isinstance(output, Tensor):
            raise TypeError(f"viz: expected Tensors, got {type(output).__name__}")
        if not output.requires_grad:
            raise ValueError(f"viz: the output (shape {output.shape}) has no graph: it does not require grad "
                             f"(was it computed under no_grad, or from tensors without requires_grad=True?)")
        roots.append(get_gradient_edge(output).node)
    return roots


def _outputs(output: Any) -> tuple[Tensor, ...]:
    return (output,) if isinstance(output, Tensor) else tuple(output)


def build_graph(output: Tensor | Sequence[Tensor], params: dict[str, Tensor] | None = None, *,
                show_values: bool | None = None, show_saved: bool = False, show_grads: bool = False,
                depth: int | None = None, audit: GraphAudit | None = None, modules: dict[Node, str] | None = None,
                vanishing: float = 1e-7) -> Graph:
    """Walk the graph of ``output`` into a ``Graph`` (arguments as in ``make_dot``).

    Args:
        modules: the module that made each node (filled in by ``draw_model``).
    """
    outputs = _outputs(output)
    roots = _roots(outputs)
    order = walk_graph(roots)
    kept = None if depth is None else _within(roots, depth)
    index = {node: position for position, node in enumerate(order)}
    names = {id(tensor): name for name, tensor in (params or {}).items()}
    modules = modules or {}
    notes: list[str] = []

    produced = _produced_tensors(order, outputs)
    consumed = {edge.node: (edge.shape, edge.dtype) for node in order for edge in node.next_edges
                if edge is not None and edge.output_nr == 0}
    grads = _gradients(outputs, order, notes) if show_grads else {}
    # Matched by id, so a report from another run of the same model marks the same ops.
    failures = {row.node_id: row.message.splitlines()[0] if row.message else "failed" for row in audit.failures} \
        if audit is not None else {}

    nodes: list[GraphNode] = []
    for position, node in enumerate(order):
        node_id = f"n{position}"
        if isinstance(node, AccumulateGrad):
            tensor = node.variable
            name = names.get(id(tensor))
            graph_node = GraphNode(node_id, "param" if name else "leaf", name or "leaf", shape=tensor.data.shape,
                                   dtype=_dtype_name(tensor.data.dtype), module=modules.get(node, ""), node=node)
            graph_node.value = _shown_value(tensor.data, show_values)
            graph_node.device = _device_name(tensor.data)
            if show_grads:
                graph_node.grad = grads.get((node, 0))
        else:
            graph_node = GraphNode(node_id, "op", node.name(), attributes=_attributes(node),
                                   module=modules.get(node, ""), node=node, audit=failures.get(node_id))
            tensor = produced.get((node, 0))
            graph_node.shape, graph_node.dtype = _output_meta(node, tensor, consumed)
            if tensor is not None:
                graph_node.value = _shown_value(tensor.data, show_values)
                graph_node.device = _device_name(tensor.data)
            if show_grads:
                graph_node.grad = grads.get((node, 0))
            if show_saved:
                graph_node.saved, graph_node.saved_freed = _saved_arrays(node)
        nodes.append(graph_node)

    edges: list[GraphEdge] = []
    incoming: list[list[tuple[Node, GraphEdge]]] = []
    for position, node in enumerate(order):
        incoming.append([])
        for edge in node.next_edges:
            if edge is None:
                continue
            graph_edge = GraphEdge(f"n{index[edge.node]}", f"n{position}", edge.shape, edge.output_nr)
            out_shape = nodes[position].shape
            if node.broadcasts_inputs and out_shape is not None and edge.shape != out_shape \
                    and _broadcasts(edge.shape, out_shape):
                graph_edge.broadcast_axes = broadcast_axes(edge.shape, out_shape)
            edges.append(graph_edge)
            incoming[position].append((edge.node, graph_edge))
    _mark_skips(order, incoming, nodes)

    if kept is not None:
        nodes, edges = _cut(nodes, edges, {f"n{index[node]}" for node in kept}, len(order) - len(kept))

    for k, (tensor, root) in enumerate(zip(outputs, roots)):
        node_id = f"out{k}"
        out = GraphNode(node_id, "output", "output", shape=tensor.data.shape, dtype=_dtype_name(tensor.data.dtype),
                        module="", value=_shown_value(tensor.data, show_values))
        if show_grads:
            out.grad = grads.get((root, get_gradient_edge(tensor).output_nr))
        nodes.append(out)
        if not isinstance(root, AccumulateGrad):
            edges.append(GraphEdge(f"n{index[root]}", node_id, tensor.data.shape, tensor.output_nr))
    return Graph(nodes, edges, grads_shown=show_grads, show_saved=show_saved, notes=notes, vanishing=vanishing,
                 audit=audit)


def _within(roots: list[Node], depth: int) -> set[Node]:
    """The nodes at most ``depth`` edges away from the roots (breadth-first)."""
    kept = set(roots)
    frontier = list(roots)
    for _ in range(depth):
        frontier = [edge.node for node in frontier for edge in node.next_edges
                    if edge is not None and edge.node not in kept]
        kept.update(frontier)
    return kept


def _cut(nodes: list[GraphNode], edges: list[GraphEdge], kept: set[str], hidden: int) -> tuple[list, list]:
    """Drop the nodes not in ``kept``; edges from them come from one "... more ops" node instead."""
    cut = GraphNode("cut", "cut", f"... {hidden} more nodes")
    inside, fed = [], set()
    for edge in edges:
        if edge.target not in kept:
            continue
        if edge.source not in kept:
            if edge.target in fed:
                continue
            fed.add(edge.target)
            edge.source = cut.id
        inside.append(edge)
    return [node for node in nodes if node.id in kept] + ([cut] if fed else []), inside


def _broadcasts(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    return all(size in (1, full) for size, full in zip(shape[::-1], target[::-1]))


def _produced_tensors(order: list[Node], outputs: tuple[Tensor, ...]) -> dict[tuple, Tensor]:
    """The tensor each (node, output_nr) produced, where still known: the outputs, and the inputs
    recorded by ``autograd.record_inputs`` (which are other nodes' outputs)."""
    produced: dict[tuple, Tensor] = {}
    for tensor in outputs:
        if tensor.grad_fn is not None:
            produced[(tensor.grad_fn, tensor.output_nr)] = tensor
    for node in order:
        recorded = recorded_inputs(node)
        if recorded is None:
            continue
        for argument, edge in zip(recorded[0], node.next_edges):
            if edge is not None and isinstance(argument, Tensor):
                produced.setdefault((edge.node, edge.output_nr), argument)
    return produced


@functools.lru_cache(maxsize=None)
def _dtype_name(dtype: np.dtype) -> str:
    # str(dtype) costs microseconds; graphs of 100,000 nodes ask for it once per node.
    return str(dtype)


def _output_meta(node: Node, tensor: Tensor | None, consumed: dict[Node, tuple]) -> tuple[tuple | None, str | None]:
    """Shape and dtype of a node's (first) output: kept by multi-output nodes, else from the tensor
    itself or from the edge of an op that consumed it."""
    meta = node.output_metadata
    if meta is not None:
        return meta[0][0], _dtype_name(meta[0][1])
    if tensor is not None:
        return tensor.data.shape, _dtype_name(tensor.data.dtype)
    if node in consumed:
        return consumed[node][0], _dtype_name(consumed[node][1])
    return None, None


def _shown_value(array: np.ndarray, show_values: bool | None) -> np.ndarray | None:
    if show_values is False or array.dtype.kind not in "fiub":
        return None
    if array.size > (SMALL_TENSOR if show_values is None else PRINTED_ELEMENTS):
        return None
    return np.array(to_device(array, "cpu"), copy=True)


def _device_name(array: Any) -> str | None:
    """``"cuda:0"`` for an array off the CPU; None (nothing drawn) on it."""
    if type(array) is np.ndarray:
        return None
    device = device_of(array)
    return None if device.type == "cpu" else str(device)


def _attributes(node: Node) -> dict[str, str]:
    """The op's own description of its settings (``Node.attributes``) as short strings for a label."""
    shown = {}
    for name, value in node.attributes().items():
        if isinstance(value, float):
            text = f"{value:.4g}"
        elif isinstance(value, (str, np.dtype)):
            text = str(value)
        else:
            text = repr(value)
        if len(text) <= 32:
            shown[name] = text
    return shown


def _saved_arrays(node: Node) -> tuple[list[tuple[str, tuple, str, int]], bool]:
    """The arrays a node keeps for backward (``Node.saved_arrays``), and whether backward freed them."""
    arrays = [(saved.name, saved.shape, _dtype_name(saved.dtype), saved.nbytes) for saved in node.saved_arrays()]
    return arrays, node.saved_freed


def _gradients(outputs: tuple[Tensor, ...], order: list[Node], notes: list[str]) -> dict[tuple, GradStat]:
    """Gradient statistics per (node, output_nr): captured by hooks, computed now, or the leaves' .grad."""
    ops = [node for node in order if not isinstance(node, AccumulateGrad)]
    leaves = [node for node in order if isinstance(node, AccumulateGrad)]
    computed: dict[tuple, GradStat] = {}
    captured_any = any(_captured.get(node) for node in ops)
    freed = any(node.saved_freed for node in ops)
    if not captured_any and not freed and leaves:
        capture_grads(*outputs)
        seeds = [wrap(np.ones_like(tensor.data)) for tensor in outputs]
        values = autograd_grad(list(outputs), [leaf.variable for leaf in leaves], seeds, retain_graph=True,
                               allow_unused=True)
        computed = {(leaf, 0): GradStat.of(value.data) for leaf, value in zip(leaves, values) if value is not None}
    elif not captured_any and ops:
        notes.append("op gradients not captured: call viz.capture_grads(output) before backward()")
    stats: dict[tuple, GradStat] = {}
    for node in ops:
        for output_nr, stat in _captured.get(node, {}).items():
            stats[(node, output_nr)] = stat
    for leaf in leaves:
        stat = computed.get((leaf, 0))
        if stat is None and leaf.variable.grad is not None:
            stat = GradStat.of(leaf.variable.grad.data)
        if stat is not None:
            stats[(leaf, 0)] = stat
    return stats


def _mark_skips(order: list[Node], incoming: list[list[tuple[Node, GraphEdge]]], nodes: list[GraphNode]) -> None:
    """Flag the shortcut input of residual Adds: an op input much shallower than the Add's other input."""
    levels = _levels(order)
    for position, node in enumerate(order):
        if node.name() != "Add":
            continue
        inputs = [(levels[source], edge) for source, edge in incoming[position]
                  if not isinstance(source, AccumulateGrad)]
        if len(inputs) < 2:
            continue
        deepest = max(level for level, _ in inputs)
        for level, edge in inputs:
            if level <= deepest - SKIP_DEPTH_GAP:
                edge.skip = True
                nodes[position].residual = True


def _levels(order: list[Node]) -> dict[Node, int]:
    """Length of the longest chain of ops from any leaf to each node (leaves are 0)."""
    consumers: dict[Node, int] = {}
    for node in order:
        for edge in node.next_edges:
            if edge is not None:
                consumers[edge.node] = consumers.get(edge.node, 0) + 1
    # Kahn's order from the outputs visits every consumer before its inputs; reversed, inputs come first.
    ready = [node for node in order if consumers.get(node, 0) == 0]
    topological = []
    while ready:
        node = ready.pop()
        topological.append(node)
        for edge in node.next_edges:
            if edge is not None:
                consumers[edge.node] -= 1
                if consumers[edge.node] == 0:
                    ready.append(edge.node)
    levels: dict[Node, int] = {}
    for node in reversed(topological):
        inputs = [levels[edge.node] for edge in node.next_edges if edge is not None]
        levels[node] = 1 + max(inputs) if inputs else 0
    return levels
