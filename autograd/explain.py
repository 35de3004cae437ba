"""``explain``: why one element of a gradient is what it is, as the sum of what each path of the graph carried.

By the chain rule, the derivative of a scalar output with respect to ``tensor[index]`` is a sum over the paths of
the graph from ``tensor`` to the output, of the product of the local derivatives (Jacobians) along each path. A
path's contribution is measured by running backward with every other edge cut: node hooks (the public graph API)
drop the gradients that leave a path node along another edge, or enter the path from outside it, so
``autograd.grad`` returns exactly what that path carried. For a graph of scalars that is the product of the local
derivatives along the path, which are also shown.

Paths multiply at every value used twice (a ResNet of n blocks has 2**n of them), so the search goes from the
tensor towards the output and follows, best first, the row whose contribution is largest; a row it stops at is a
bundle of paths that share their start, not followed further. Rows always partition the paths, so they sum to the
gradient up to rounding in the graph's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .engine import grad as autograd_grad
from .graph import AccumulateGrad, Node, get_gradient_edge, walk_graph
from .tensor import Tensor, wrap

# A path of more ops than this prints its first and last few with the count in between.
SHOWN_OPS = 8


class GradientPath(NamedTuple):
    """One row of an ``Explanation``: a path from the tensor towards the output and what it carried.

    Attributes:
        ops: the names of the ops along the path, from the tensor's consumer to the op that made the output.
        contribution: the part of the gradient element that arrived along this path (these paths).
        edges: ``(node, i)`` per step: the gradient left ``node`` along ``node.next_edges[i]``.
        factors: the local derivative of each step (same order as ``edges``), for a complete path of
            one-element tensors; None otherwise.
        paths: how many paths of the graph this row stands for: 1 for a path followed to the output, more for a
            bundle of paths that share this start and were not followed further.
    """

    ops: tuple[str, ...]
    contribution: float
    edges: tuple[tuple[Node, int], ...]
    factors: tuple[float, ...] | None
    paths: int


@dataclass
class Explanation:
    """What ``explain`` found: the gradient element and its rows, largest first.

    Attributes:
        output: the scalar that was differentiated.
        tensor: the tensor whose gradient element is explained.
        index: the element's index.
        total: the gradient element, from one ordinary backward pass.
        paths: the rows, sorted by decreasing ``|contribution|``; they sum to ``total`` up to rounding.
        complete: whether every path was followed to the output (False when ``max_paths`` stopped the search).
    """

    output: Tensor
    tensor: Tensor
    index: tuple[int, ...]
    total: float
    paths: list[GradientPath]
    complete: bool

    @property
    def residual(self) -> float:
        """``total`` minus the sum of the rows: rounding only (about the graph dtype's epsilon times the
        largest contribution)."""
        return self.total - float(np.sum([path.contribution for path in self.paths]))

    def __str__(self) -> str:
        where = f"[{', '.join(map(str, self.index))}]" if self.index else ""
        count = sum(path.paths for path in self.paths)
        lines = [f"d output / d tensor{where} = {self.total:.6g}: {count} path{'s' * (count != 1)}, "
                 f"{len(self.paths)} row{'s' * (len(self.paths) != 1)}, summing to it within {abs(self.residual):.1g} "
                 f"({self.tensor.data.dtype})"]
        rows = [(f"{_share(path.contribution, self.total)}", f"{path.contribution:.6g}", _describe(path))
                for path in self.paths]
        widths = [max(len(header), *(len(row[k]) for row in rows)) for k, header in
                  enumerate(("share", "contribution"))]
        lines.append(f"  {'share':>{widths[0]}}  {'contribution':>{widths[1]}}  path (tensor -> output)")
        lines += [f"  {share:>{widths[0]}}  {value:>{widths[1]}}  {text}" for share, value, text in rows]
        if not self.complete:
            lines.append("  (rows marked '...' bundle the paths above their last op: max_paths stopped the search)")
        return "\n".join(lines)


def explain(output: Tensor, tensor: Tensor, index: int | tuple[int, ...] = 0, *, max_paths: int = 8) -> Explanation:
    """Split one element of a gradient into what each path of the graph carried to it.

    Args:
        output: a one-element tensor (a loss) computed from ``tensor``; its graph is kept (backward runs with
            ``retain_graph=True``) and no ``.grad`` changes.
        tensor: a leaf or intermediate tensor that requires grad.
        index: the element of ``tensor`` (a flat index or one index per dimension).
        max_paths: the most rows to show; the search stops before it would pass this, leaving bundles of paths
            (each consumer of ``tensor`` always gets its own row).

    Shape:
        ``index`` addresses one element of ``tensor.shape``.

    Returns:
        an ``Explanation``: ``.total`` (the gradient element), ``.paths`` (rows of ``GradientPath``, largest
        first, summing to ``.total``) and a table as ``str()``; ``viz.draw_explanation`` draws it.

    Example::

        >>> a, b = autograd.tensor(2.0, requires_grad=True), autograd.tensor(3.0, requires_grad=True)
        >>> print(autograd.explain(a * b + a, a))     # dy/da = b + 1: 3 along Mul -> Add, 1 along Add
    """
    if not isinstance(output, Tensor) or output.data.size != 1 or not output.requires_grad:
        raise ValueError(f"explain: output must be a one-element tensor that requires grad (a loss), got "
                         f"{output!r:.60}; reduce it first, e.g. .sum()")
    if not isinstance(tensor, Tensor) or not tensor.requires_grad:
        raise ValueError("explain: tensor must be a Tensor that requires grad")
    if max_paths < 1:
        raise ValueError(f"explain: max_paths must be at least 1, got {max_paths}")
    index = _element(tensor.shape, index)
    root = get_gradient_edge(output).node
    target = get_gradient_edge(tensor)
    consumers = _consumers(walk_graph([root]))
    if target.node is root and target.output_nr == get_gradient_edge(output).output_nr:
        raise ValueError("explain: tensor is the output itself; its gradient is 1 along no path")
    first = [(node, i) for node, i in consumers.get(target.node, ()) if node.next_edges[i].output_nr ==
             target.output_nr]
    if not first:
        raise ValueError(f"explain: output does not depend on tensor (shape {tensor.shape})")

    cutter = _PathCutter(output, tensor, index, target.node)
    try:
        cutter.attach(consumers)
        total = cutter.run(())
        counts = _path_counts(root, consumers)
        rows = [_follow(cutter, consumers, root, ((node, i),)) for node, i in first]
        while True:
            open_rows = [row for row in rows if row[0][-1][0] is not root]
            if not open_rows:
                break
            best = max(open_rows, key=lambda row: abs(row[1]))
            above = consumers[best[0][-1][0]]
            if len(rows) - 1 + len(above) > max_paths:
                break
            rows.remove(best)
            rows += [_follow(cutter, consumers, root, best[0] + (edge,)) for edge in above]
        scalar = all(_is_scalar(edge) for row in rows for edge in row[0])
        local = cutter.local_derivatives() if scalar else {}
    finally:
        cutter.detach()
    paths = [GradientPath(tuple(node.name() for node, _ in edges), value, edges,
                          tuple(local[edge] for edge in edges) if scalar and edges[-1][0] is root else None,
                          1 if edges[-1][0] is root else counts[edges[-1][0]]) for edges, value in rows]
    paths.sort(key=lambda path: -abs(path.contribution))
    return Explanation(output, tensor, index, total, paths, all(edges[-1][0] is root for edges, _ in rows))


def _element(shape: tuple[int, ...], index: int | tuple[int, ...]) -> tuple[int, ...]:
    size = int(np.prod(shape))
    if isinstance(index, (int, np.integer)):
        if not -size <= index < size:
            raise IndexError(f"explain: index {index} is out of range for a tensor of {size} elements")
        return tuple(int(k) for k in np.unravel_index(int(index) % size, shape))
    index = tuple(int(k) for k in index)
    if len(index) != len(shape) or not all(-n <= k < n for k, n in zip(index, shape)):
        raise IndexError(f"explain: index {index} does not address an element of shape {shape}")
    return tuple(k % n for k, n in zip(index, shape))


def _consumers(order: list[Node]) -> dict[Node, list[tuple[Node, int]]]:
    """For each node, the ``(node, i)`` edges that send it a gradient, in walk order."""
    consumers: dict[Node, list[tuple[Node, int]]] = {}
    for node in order:
        for i, edge in enumerate(node.next_edges):
            if edge is not None:
                consumers.setdefault(edge.node, []).append((node, i))
    return consumers


def _path_counts(root: Node, consumers: dict[Node, list[tuple[Node, int]]]) -> dict[Node, int]:
    """How many paths lead from the output's node to each node (Kahn's order from the root: no recursion)."""
    waiting = {node: len(edges) for node, edges in consumers.items()}
    counts = {root: 1}
    ready = [root]
    while ready:
        node = ready.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            counts[edge.node] = counts.get(edge.node, 0) + counts[node]
            waiting[edge.node] -= 1
            if waiting[edge.node] == 0:
                ready.append(edge.node)
    return counts


def _follow(cutter: _PathCutter, consumers: dict, root: Node, edges: tuple) -> tuple[tuple, float]:
    """Measure the row ``edges``, then extend it through ops with a single consumer: that changes no path, so
    costs no backward pass."""
    value = cutter.run(edges)
    while edges[-1][0] is not root and len(consumers[edges[-1][0]]) == 1:
        edges += (consumers[edges[-1][0]][0],)
    return edges, value


def _is_scalar(edge: tuple[Node, int]) -> bool:
    node, i = edge
    return node.num_outputs == 1 and int(np.prod(node.next_edges[i].shape)) == 1


class _PathCutter:
    """Node hooks that let a gradient through the edges of one row only (or, for local derivatives, feed every
    node a gradient of ones), and the backward pass that measures it."""

    def __init__(self, output: Tensor, tensor: Tensor, index: tuple[int, ...], target: Node) -> None:
        self.output, self.tensor, self.index, self.target = output, tensor, index, target
        self.row: set = set()           # the row's (node, i) edges
        self.on_row: set = set()        # nodes that send the row's gradient
        self.below: set = set()         # nodes the row's gradient enters below its top: only the row may feed them
        self.local: dict | None = None  # set while measuring local derivatives
        self.handles: list = []

    def attach(self, consumers: dict) -> None:
        for node in {node for edges in consumers.values() for node, _ in edges}:
            if not isinstance(node, AccumulateGrad):
                self.handles += [node.register_prehook(self.prehook), node.register_hook(self.make_hook(node))]

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()

    def run(self, edges: tuple) -> float:
        """The gradient element when only paths that start with ``edges`` carry gradient (all, for ``()``)."""
        self.row = set(edges)
        self.on_row = {node for node, _ in edges}
        self.below = {self.target} | {node for node, _ in edges[:-1]}
        try:
            (gradient,) = autograd_grad(self.output, self.tensor, retain_graph=True, allow_unused=True)
        finally:
            self.row, self.on_row, self.below = set(), set(), set()
        return 0.0 if gradient is None else float(gradient.data[self.index])

    def local_derivatives(self) -> dict[tuple[Node, int], float]:
        """d node / d input along every edge, for graphs of one-element tensors: one pass with ones fed in."""
        self.local = {}
        try:
            autograd_grad(self.output, self.tensor, retain_graph=True, allow_unused=True)
            return self.local
        finally:
            self.local = None

    def prehook(self, gradients: tuple) -> tuple | None:
        if self.local is None:
            return None
        return tuple(None if g is None else wrap(np.ones_like(g.data)) for g in gradients)

    def make_hook(self, node: Node):
        def hook(grad_inputs: tuple, grad_outputs: tuple) -> tuple | None:
            if self.local is not None:
                self.local.update({(node, i): float(np.ravel(g.data)[0]) for i, g in enumerate(grad_inputs)
                                   if g is not None and g.data.size == 1})
                return None
            if not self.row:
                return None
            kept = []
            for i, (edge, gradient) in enumerate(zip(node.next_edges, grad_inputs)):
                if node in self.on_row:
                    keep = (node, i) in self.row
                else:
                    keep = edge is None or edge.node not in self.below
                kept.append(gradient if keep else None)
            return tuple(kept)

        return hook


def _share(contribution: float, total: float) -> str:
    return f"{100 * contribution / total:.1f}%" if total else "-"


def _describe(path: GradientPath) -> str:
    ops = list(path.ops)
    if len(ops) > SHOWN_OPS:
        half = SHOWN_OPS // 2
        ops = ops[:half] + [f"({len(ops) - 2 * half} more)"] + ops[-half:]
    text = " -> ".join(ops)
    if path.paths > 1:
        text += f" -> ... ({path.paths} paths from here to the output)"
    if path.factors is not None:
        text += "  (" + " x ".join(f"{factor:.4g}" for factor in path.factors) + ")"
    return text
