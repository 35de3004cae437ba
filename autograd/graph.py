"""The public graph API, as ``torch.autograd.graph``: the nodes and edges of a recorded graph, and a walk of it.

``viz``, the graph audit and user code read graphs through this API only: a node's ``name()``,
``next_functions`` / ``next_edges``, ``metadata``, ``register_hook`` / ``register_prehook``,
``saved_arrays()`` and ``attributes()`` (see ``Node``).
"""

from __future__ import annotations

from typing import Sequence

from .function import AccumulateGrad, Edge, Node, SavedArray, get_gradient_edge

__all__ = ["AccumulateGrad", "Edge", "Node", "SavedArray", "get_gradient_edge", "walk_graph"]


def walk_graph(roots: Sequence[Node]) -> list[Node]:
    """Every node reachable from ``roots``, in depth-first preorder, inputs in positional order.

    The position of a node in this list depends only on the graph's structure, never on memory
    addresses, so it names the node the same way in every run (``viz`` ids are ``f"n{index}"``).
    Iterative: a chain of a million ops is fine.

    Args:
        roots: the nodes to start from (``get_gradient_edge(output).node`` for an output tensor).

    Returns:
        the nodes, each once.
    """
    seen: set = set()
    order: list[Node] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        for edge in reversed(node.next_edges):
            if edge is not None and edge.node not in seen:
                stack.append(edge.node)
    return order
