"""``draw_model``: a model's graph, grouped into one cluster per module and collapsed below a depth.

Which module made which node is found with forward hooks and ``autograd.record_inputs``, which
lists the nodes in creation order: a module's pre-hook notes how many nodes exist, its forward hook
gives every node created since then that no submodule claimed (submodules finish first) to the
module. Parameters belong to the module that holds them. The ops of a module called more than once
(a ReLU reused within a block) belong to its parent, so that no cluster spans unrelated ops.
"""

from __future__ import annotations

from typing import Any, Callable

from autograd.audit import GraphAudit, gradcheck_graph, record_inputs
from autograd.graph import AccumulateGrad, get_gradient_edge, walk_graph
from autograd.tensor import Tensor

from .dot import Digraph, to_digraph
from .graph import Graph, GraphEdge, GraphNode, ModuleInfo, build_graph


def draw_model(model: Any, *inputs: Any, depth: int | None = 1, show_grads: bool = False,
               loss_fn: Callable[[Any], Tensor] | None = None, show_saved: bool = False,
               show_values: bool | None = None, rollup: bool | None = None, rankdir: str = "TB",
               audit: GraphAudit | bool | None = None, vanishing: float = 1e-7,
               badges: dict[str, list[str]] | None = None) -> Digraph:
    """Run ``model(*inputs)`` once and draw its graph with one cluster per module.

    Modules nested deeper than ``depth`` are collapsed into one node each, showing the module's
    class, parameter count and output shape (and whether it holds a residual connection). Skip
    connections are drawn dashed in purple.

    Args:
        model: an ``nn.Module``.
        inputs: the forward's arguments.
        depth: module levels drawn as clusters (1: the model's children are clusters and their
            children single nodes, e.g. one node per ResNet block; 0: one node per child;
            None: every op).
        show_grads: also run backward (of ``loss_fn(output)``, or of ``output.sum()``) and colour
            nodes by gradient norm. ``.grad`` of the parameters is left untouched.
        loss_fn: maps the model's output to the tensor to differentiate; its ops are drawn too.
        show_saved: show the arrays kept for backward, with totals per module.
        show_values: as in ``make_dot``.
        rollup: draw consecutive identical collapsed modules as one node ("BasicBlock x3").
            None: roll up unless gradients are shown (each block then keeps its own colour).
        rankdir: ``"TB"`` or ``"LR"``.
        audit: True to run ``autograd.gradcheck_graph`` on the recorded graph, or a report of it
            from a run of the same model and inputs (rows are matched by node id); failing ops,
            or the collapsed modules holding them, are outlined in red. The report is kept as
            ``.graph.audit``.
        vanishing: gradient norm below which a gradient counts as vanishing.
        badges: short notes to draw on nodes, by node id (``n<index>`` in walk order, as in the audit), such as
            ``viz.lint``'s findings; a collapsed module shows the badges of the nodes it holds.

    Returns:
        a ``graphviz.Digraph`` (``.graph`` holds the drawn ``Graph``, for ``viz.to_json``).
    """
    names = {id(module): name for name, module in model.named_modules()}
    owners: dict = {}
    modules: dict[str, ModuleInfo] = {}
    outputs: dict[str, tuple] = {}
    starts: dict[int, list[int]] = {}
    calls: dict[str, int] = {}

    with record_inputs() as created:
        def before(module: Any, args: tuple) -> None:
            starts.setdefault(id(module), []).append(len(created))

        def after(module: Any, args: tuple, result: Any) -> None:
            name = names[id(module)]
            calls[name] = calls.get(name, 0) + 1
            for node in created[starts[id(module)].pop():]:
                owners.setdefault(node, name)
            tensor = _first_tensor(result)
            modules[name] = ModuleInfo(name, type(module).__name__, sum(p.numel() for p in module.parameters()),
                                       None if tensor is None else tensor.shape, name.count(".") + 1 if name else 0)
            if tensor is not None and tensor.grad_fn is not None:
                outputs[name] = (tensor.grad_fn, tensor.output_nr)

        handles = []
        for module in model.modules():
            handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
        try:
            result = model(*inputs)
            root = loss_fn(result) if loss_fn is not None else _first_tensor(result)
        finally:
            for handle in handles:
                handle.remove()

    # A module called several times (one ReLU reused in a block) would make a cluster spanning
    # unrelated parts of the graph: its ops are drawn in the module that called it instead.
    for node, name in owners.items():
        while calls.get(name, 1) > 1:
            name = name.rpartition(".")[0]
        owners[node] = name
    if audit is True:
        audit = gradcheck_graph(root)
    parameters = dict(model.named_parameters())
    holders = {id(parameter): name.rpartition(".")[0] for name, parameter in parameters.items()}
    for node in walk_graph([get_gradient_edge(root).node]):
        if isinstance(node, AccumulateGrad) and id(node.variable) in holders:
            owners[node] = holders[id(node.variable)]
    graph = build_graph(root, parameters, show_values=show_values, show_saved=show_saved, show_grads=show_grads,
                        audit=audit or None, modules=owners, vanishing=vanishing)
    graph.modules = {name: info for name, info in modules.items() if name}
    for node in graph.nodes:
        node.badges = list((badges or {}).get(node.id, ()))
    if depth is not None:
        collapse_modules(graph, depth, outputs)
        if rollup is None:
            rollup = not show_grads
        if rollup:
            _rollup(graph, list(names.values()))
    return to_digraph(graph, rankdir=rankdir)


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((item for item in value if isinstance(item, Tensor)), None)
    return None


def collapse_modules(graph: Graph, depth: int, outputs: dict[str, tuple]) -> None:
    """Replace the nodes of every module deeper than ``depth`` by one node per module at ``depth + 1``."""
    by_autograd_node = {node.node: node for node in graph.nodes if node.node is not None}
    collapsed: dict[str, GraphNode] = {}
    renamed: dict[str, str] = {}
    nodes: list[GraphNode] = []
    for node in graph.nodes:
        parts = node.module.split(".") if node.module else []
        if len(parts) <= depth:
            nodes.append(node)
            continue
        name = ".".join(parts[:depth + 1])
        group = collapsed.get(name)
        if group is None:
            info = graph.modules.get(name)
            group = collapsed[name] = GraphNode(f"m_{name}", "module", name, module=".".join(parts[:depth]))
            if info is not None:
                group.attributes = {"type": info.type}
                group.shape, group.params = info.shape, info.params
            output = outputs.get(name)
            if output is not None and output[0] in by_autograd_node:
                group.grad = by_autograd_node[output[0]].grad
            nodes.append(group)
        renamed[node.id] = group.id
        group.saved += node.saved
        group.residual = group.residual or node.residual
        group.badges += node.badges
        if node.audit is not None and group.audit is None:
            group.audit = f"contains failing {node.name}: {node.audit}"
    merged: dict[tuple[str, str], GraphEdge] = {}
    edges = []
    for edge in graph.edges:
        source, target = renamed.get(edge.source, edge.source), renamed.get(edge.target, edge.target)
        if source == target:
            continue
        if source == edge.source and target == edge.target:
            edges.append(edge)
            continue
        key = (source, target)
        if key in merged:
            # A collapsed module's edge is a skip only if every edge it stands for is one.
            merged[key].skip = merged[key].skip and edge.skip
            merged[key].broadcast_axes = None
            continue
        merged[key] = GraphEdge(source, target, edge.shape, edge.output_nr, edge.broadcast_axes, edge.skip)
        edges.append(merged[key])
    graph.nodes, graph.edges = nodes, edges


def _rollup(graph: Graph, order: list[str]) -> None:
    """Merge chains of identical sibling module nodes (same class, parameter count and shapes)."""
    position = {name: index for index, name in enumerate(order)}
    incoming: dict[str, list[GraphEdge]] = {}
    for edge in graph.edges:
        incoming.setdefault(edge.target, []).append(edge)
    siblings: dict[str, list[GraphNode]] = {}
    for node in graph.nodes:
        if node.kind == "module":
            siblings.setdefault(node.module, []).append(node)
    renamed: dict[str, str] = {}
    for group in siblings.values():
        group.sort(key=lambda node: position.get(node.name, len(position)))
        run = group[0]
        previous = group[0]
        for node in group[1:]:
            feeds = incoming.get(node.id, [])
            chained = bool(feeds) and all(edge.source == previous.id for edge in feeds)
            if chained and (node.attributes, node.params, node.shape) == (run.attributes, run.params, run.shape):
                renamed[node.id] = run.id
                run.count += 1
                run.name = f"{run.name.split('-')[0]}-{node.name.rsplit('.', 1)[-1]}"
                run.grad, run.saved = node.grad, run.saved + node.saved
                run.residual = run.residual or node.residual
                run.audit = run.audit or node.audit
                run.badges = run.badges + node.badges
            else:
                run = node
            previous = node
    if not renamed:
        return
    graph.nodes = [node for node in graph.nodes if node.id not in renamed]
    edges, seen = [], set()
    for edge in graph.edges:
        edge.source, edge.target = renamed.get(edge.source, edge.source), renamed.get(edge.target, edge.target)
        if edge.source != edge.target and (edge.source, edge.target) not in seen:
            seen.add((edge.source, edge.target))
            edges.append(edge)
    graph.edges = edges
