"""``draw_explanation``: the graph of an ``autograd.explain`` with the paths drawn by what they carried.

The graph is ``make_dot``'s, drawn by the same renderer; the edges of the explanation's rows are then drawn again
over it, their width proportional to the gradient that flowed along them (blue where it adds to the element's
gradient, red where it takes away), labelled with that amount. On a residual block the skip path and the conv
path stand side by side.
"""

from __future__ import annotations

import dataclasses

from autograd.explain import Explanation
from autograd.graph import get_gradient_edge
from autograd.tensor import Tensor

from .dot import Digraph, format_attributes, quote, to_digraph
from .graph import GraphEdge, build_graph

POSITIVE_COLOR = "#2166ac"
NEGATIVE_COLOR = "#b2182b"
TARGET_COLOR = "#e08214"
# Edge widths run from MIN_WIDTH (no flow) to MIN_WIDTH + WIDTH_RANGE (the largest flow).
MIN_WIDTH = 1.2
WIDTH_RANGE = 7.0


def draw_explanation(explanation: Explanation, params: dict[str, Tensor] | None = None, *,
                     rankdir: str = "TB") -> Digraph:
    """Draw the graph of an explained gradient with its paths emphasised.

    Args:
        explanation: what ``autograd.explain(output, tensor, index)`` returned (its graph must still exist).
        params: names for leaves, as in ``make_dot``.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).

    Returns:
        a ``graphviz.Digraph``: each edge on a row's path is drawn with a width proportional to
        ``|gradient along it|`` and labelled with it; the tensor's node is outlined, and the title gives the
        gradient element.
    """
    graph = build_graph(explanation.output, params)
    ids = {node.node: node.id for node in graph.nodes if node.node is not None}
    # The edges build_graph made for each node follow that node's next_edges, skipping the None ones.
    by_target: dict[str, list[GraphEdge]] = {}
    for edge in graph.edges:
        by_target.setdefault(edge.target, []).append(edge)
    drawn: dict[tuple, GraphEdge] = {}
    for node, node_id in ids.items():
        present = [i for i, edge in enumerate(node.next_edges) if edge is not None]
        drawn.update({(node, i): graph_edge for i, graph_edge in zip(present, by_target.get(node_id, []))})

    flow: dict[int, float] = {}  # id(GraphEdge) -> gradient along it
    output_edge = next((edge for edge in graph.edges if edge.target == "out0"), None)
    for path in explanation.paths:
        edges = [drawn[step] for step in path.edges]
        if path.paths == 1 and output_edge is not None:
            edges.append(output_edge)
        for edge in edges:
            flow[id(edge)] = flow.get(id(edge), 0.0) + path.contribution
    emphasised = [edge for edge in graph.edges if id(edge) in flow]
    dot = to_digraph(dataclasses.replace(graph, edges=[edge for edge in graph.edges if id(edge) not in flow]),
                     rankdir=rankdir)

    largest = max((abs(value) for value in flow.values()), default=0.0) or 1.0
    for edge in emphasised:
        value = flow[id(edge)]
        attributes = {"penwidth": f"{MIN_WIDTH + WIDTH_RANGE * abs(value) / largest:.2f}",
                      "color": POSITIVE_COLOR if value >= 0 else NEGATIVE_COLOR, "label": f"   {value:+.3g}",
                      "fontcolor": POSITIVE_COLOR if value >= 0 else NEGATIVE_COLOR, "fontsize": "10"}
        dot.body.append(f"\t{quote(edge.source)} -> {quote(edge.target)} [{format_attributes(attributes)}]\n")
    target = ids.get(get_gradient_edge(explanation.tensor).node)
    if target is not None:
        dot.body.append(f"\t{quote(target)} [{format_attributes({'color': TARGET_COLOR, 'penwidth': '3'})}]\n")
    where = f"[{', '.join(map(str, explanation.index))}]" if explanation.index else ""
    dot.attr(label=f"d output / d tensor{where} = {explanation.total:.4g}: edge width = gradient carried",
             labelloc="t", fontsize="13")
    return dot
