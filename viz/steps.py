"""``backward_steps``: one backward pass recorded step by step, replayed in a self-contained HTML player.

The recorder only watches: it registers a pre-hook on every node (the gradient arriving, already summed where
paths fan in), a hook (what the node sends along each input edge), a post-accumulate hook on every leaf (its
``.grad`` building up) and, from the first step, a ``queue_callback`` that notes the leaves' final ``.grad`` once
the pass is over. Then it runs the ordinary ``backward()``: the steps are the engine's own execution order, and
every number shown is a gradient the engine computed. All hooks are removed afterwards.

The page is the graph as ``make_dot`` (or ``draw_model``) draws it, as inline SVG, plus a player written in plain
inline JavaScript (no network): each step outlines the running node, the edges its gradient arrived along and
the edges it sends along, with the op's rule (the first paragraph of its ``Function`` docstring) and, for small
tensors, the numbers.
"""

from __future__ import annotations

import html
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from autograd.engine import queue_callback
from autograd.graph import AccumulateGrad, Node, get_gradient_edge, walk_graph
from autograd.tensor import Tensor

from .dot import INSTALL_GRAPHVIZ, GraphvizNotFoundError, to_digraph
from .graph import PRINTED_ELEMENTS, Graph, GraphNode, build_graph
from .model import collapse_modules, draw_model

LEAF_RULE = "leaf.grad = leaf.grad + grad (the first gradient becomes .grad)"


@dataclass
class Gradient:
    """A gradient as the page shows it: shape, L2 norm, and its values when it has at most 16 elements.

    Attributes:
        shape: the gradient's shape.
        norm: its L2 norm (computed in float64).
        value: a copy of its values when small, else None.
    """

    shape: tuple[int, ...]
    norm: float
    value: np.ndarray | None = None

    @classmethod
    def of(cls, array: np.ndarray) -> Gradient:
        """Summarise ``array``."""
        array = np.asarray(array)
        norm = float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))
        return cls(array.shape, norm, np.array(array, copy=True) if array.size <= PRINTED_ELEMENTS else None)

    def text(self) -> str:
        """The values (4 significant digits) when known, else the shape and the norm."""
        if self.value is None:
            return f"shape {_shape(self.shape)}, |grad| = {self.norm:.4g}"
        if self.value.ndim == 0:
            return _number(self.value.item())
        return np.array2string(self.value, separator=", ", formatter={"all": _number})


@dataclass
class Arrival:
    """A gradient that reached a node's output: from a consumer's backward, or the seed given to backward.

    Attributes:
        source: the node that sent it (None for the seed).
        output_nr: which output of the receiving node it is for.
        gradient: what was sent.
        input: which input of ``source`` the receiving node is (None for the seed).
    """

    source: Node | None
    output_nr: int
    gradient: Gradient
    input: int | None = None


@dataclass
class Sent:
    """What a node's backward sent along one input edge.

    Attributes:
        input: the position of the input.
        target: the node that receives it (the input's ``grad_fn``, or a leaf's ``AccumulateGrad``).
        output_nr: which output of ``target`` it is for.
        gradient: what was sent.
    """

    input: int
    target: Node
    output_nr: int
    gradient: Gradient


@dataclass
class Leaf:
    """A leaf of the graph and its ``.grad`` before and after the pass (None where unset).

    Attributes:
        node: the leaf's ``AccumulateGrad`` node.
        label: the parameter's name (or "leaf") and shape.
        drawn: the id of the drawn node that stands for it.
        before: ``.grad`` before the pass.
        final: ``.grad`` when the pass finished (noted by a ``queue_callback``).
    """

    node: Node
    label: str
    drawn: str
    before: Gradient | None
    final: Gradient | None = None


@dataclass
class Step:
    """One node run by the engine.

    Attributes:
        node: the autograd node.
        label: what the page calls it (the op's name, or the parameter's name and shape for a leaf).
        drawn: the id of the drawn node that stands for it (its own, or a collapsed module's).
        rule: the op's one-line math.
        received: for each output, the gradient the node ran with (the sum of its arrivals), None if none.
        arrivals: every gradient that arrived, in the order they were sent.
        sent: what it sent along each input edge (leaves send nothing).
        leaf_grad: a leaf's ``.grad`` after this step (None for ops).
    """

    node: Node
    label: str
    drawn: str
    rule: str
    received: list[Gradient | None]
    arrivals: list[Arrival]
    sent: list[Sent] = field(default_factory=list)
    leaf_grad: Gradient | None = None


class BackwardSteps:
    """A recorded backward pass: ``steps`` in execution order, the drawn ``graph``, and an HTML player.

    ``len()``, indexing and iteration give the ``Step`` objects; ``to_html()`` the page, ``save(path)`` writes
    it, and a notebook displays it inline (``_repr_html_``).

    Attributes:
        steps: the nodes in the order the engine ran them.
        graph: the ``Graph`` drawn on the page.
        leaves: every leaf of the graph, in walk order, with its ``.grad`` before and after the pass.
    """

    def __init__(self, steps: list[Step], graph: Graph, leaves: list[Leaf], seed_edge: str | None) -> None:
        self.steps = steps
        self.graph = graph
        self.leaves = leaves
        self._seed_edge = seed_edge
        self._svg: str | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __repr__(self) -> str:
        lines = [f"BackwardSteps: {len(self.steps)} steps"]
        for number, step in enumerate(self.steps, 1):
            fan_in = f", sum of {len(step.arrivals)} gradients" if len(step.arrivals) > 1 else ""
            lines.append(f"  {number:3d}. {step.node.name()} ({step.drawn}){fan_in}")
        return "\n".join(lines)

    def data(self) -> dict:
        """What the player shows, as JSON-ready data: one entry per step, and the leaves."""
        titles = {node.id: _title(node) for node in self.graph.nodes}
        by_node = {step.node: step for step in self.steps}
        leaf_index = {leaf.node: index for index, leaf in enumerate(self.leaves)}
        steps = []
        for step in self.steps:
            arrivals = [{"from": "backward's seed" if arrival.source is None else by_node[arrival.source].label,
                         "edge": self._seed_edge if arrival.source is None
                         else _edge_key(step.drawn, by_node[arrival.source].drawn),
                         "input": arrival.input, "output": arrival.output_nr, "text": arrival.gradient.text()}
                        for arrival in step.arrivals]
            received = [{"output": output_nr, "text": gradient.text()}
                        for output_nr, gradient in enumerate(step.received) if gradient is not None]
            sent = [{"input": sent.input, "to": by_node[sent.target].label,
                     "edge": _edge_key(by_node[sent.target].drawn, step.drawn), "text": sent.gradient.text()}
                    for sent in step.sent if sent.target in by_node]
            title = titles[step.drawn]
            steps.append({"node": step.drawn, "op": step.node.name(), "label": step.label,
                          "within": title if title != step.label else None,
                          "leaf": leaf_index.get(step.node), "rule": step.rule, "arrivals": arrivals,
                          "received": received, "sent": sent,
                          "leaf_grad": None if step.leaf_grad is None else step.leaf_grad.text()})
        leaves = [{"label": leaf.label, "before": None if leaf.before is None else leaf.before.text(),
                   "final": None if leaf.final is None else leaf.final.text()} for leaf in self.leaves]
        return {"steps": steps, "leaves": leaves}

    def svg(self) -> str:
        """The graph as an inline ``<svg>`` element (rendered once by graphviz's ``dot``)."""
        if self._svg is None:
            text = to_digraph(self.graph).pipe(format="svg").decode("utf-8")
            self._svg = text[text.index("<svg"):]
        return self._svg

    def fragment(self, element_id: str = "gradlab-steps") -> str:
        """The player as an HTML fragment (style, graph, controls, data, script) for embedding in a page."""
        payload = json.dumps(self.data()).replace("</", "<\\/")
        return (f'<div class="gradlab-steps" id="{html.escape(element_id)}">\n<style>{_CSS}</style>\n'
                f'{_CONTROLS.format(last=len(self.steps))}\n<div class="gs-main"><div class="gs-graph">{self.svg()}'
                f'</div>\n<div class="gs-panel"></div></div>\n'
                f'<script type="application/json" class="gs-data">{payload}</script>\n'
                f'<script>({_SCRIPT})(document.getElementById({json.dumps(element_id)}));</script>\n</div>')

    def to_html(self, title: str = "gradlab: backward, step by step") -> str:
        """A self-contained HTML page: inline SVG, style and script, nothing fetched from the network.

        Args:
            title: the page's title.
        """
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f'</head>\n<body>\n<h1 class="gs-title">{html.escape(title)}</h1>\n{self.fragment()}\n</body></html>\n')

    def _repr_html_(self) -> str:
        """Jupyter's display: the player, or without graphviz's ``dot`` the install hint and the steps as text
        (instead of a cell that fails)."""
        try:
            return self.fragment(f"gradlab-steps-{id(self):x}")
        except GraphvizNotFoundError:
            return (f"<pre>the graphviz 'dot' program was not found on PATH, so the player cannot draw the graph. "
                    f"{html.escape(INSTALL_GRAPHVIZ)}\n\n{html.escape(repr(self))}</pre>")

    def save(self, path: str | Path) -> Path:
        """Write ``to_html()`` to ``path``.

        Returns:
            the path written.
        """
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path


def backward_steps(loss: Tensor, params: dict[str, Tensor] | None = None, *, gradient: Tensor | None = None,
                   retain_graph: bool | None = None) -> BackwardSteps:
    """Run ``loss.backward()`` and record each step the engine takes, for replay in an HTML player.

    The leaves' ``.grad`` are filled in as by ``loss.backward(gradient, retain_graph)`` (the recording changes no
    value). The page draws the graph as ``viz.make_dot(loss, params)`` does.

    Args:
        loss: the tensor to differentiate.
        params: names for leaves, e.g. ``dict(model.named_parameters())``.
        gradient: the gradient w.r.t. ``loss``; required unless it has one element.
        retain_graph: keep the graph for another backward, as in ``Tensor.backward``.

    Returns:
        a ``BackwardSteps``: ``.steps`` in execution order, ``.save("steps.html")`` writes the page, and a
        notebook shows the player inline.

    Raises:
        TypeError: ``loss`` is not a Tensor.
        ValueError: ``loss`` has no graph (it does not require grad).

    Example::

        >>> a = autograd.tensor(2.0, requires_grad=True); b = autograd.tensor(3.0, requires_grad=True)
        >>> viz.backward_steps(a * b + a).save("steps.html")   # Add, then Mul, then the leaves
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"backward_steps: expected the Tensor to differentiate, got {type(loss).__name__}")
    graph = build_graph(loss, params)  # which names a Tensor without a graph
    drawn = {node.node: (node.id, node) for node in graph.nodes if node.node is not None}
    return _record(loss, gradient, retain_graph, graph, drawn.__getitem__)


def model_backward_steps(model: Any, *inputs: Any, loss_fn: Callable[[Any], Tensor] | None = None,
                         depth: int | None = 1) -> BackwardSteps:
    """Record one training step's backward of ``model`` on a graph collapsed by module, as ``draw_model`` draws it.

    Every op is still one step; the node highlighted for an op inside a collapsed module is that module's node.

    Args:
        model: an ``nn.Module``.
        inputs: the forward's arguments.
        loss_fn: maps the model's output to the tensor to differentiate (default: the output's sum).
        depth: module levels drawn as clusters, as in ``draw_model`` (1: the model's children are clusters and
            their children one node each; None: every op).

    Returns:
        a ``BackwardSteps`` (the parameters' ``.grad`` are filled in by the backward it ran).
    """
    losses: list[Tensor] = []

    def keep_loss(output: Any) -> Tensor:
        loss = loss_fn(output) if loss_fn is not None else output.sum()
        losses.append(loss)
        return loss

    graph = draw_model(model, *inputs, depth=None, loss_fn=keep_loss).graph
    owners = {node.node: node for node in graph.nodes if node.node is not None}
    if depth is not None:
        collapse_modules(graph, depth, {})
    kept = {node.id for node in graph.nodes}
    groups = {node.name: node.id for node in graph.nodes if node.kind == "module"}

    def locate(node: Node) -> tuple[str, GraphNode]:
        original = owners[node]
        if original.id in kept:
            return original.id, original
        return groups[".".join(original.module.split(".")[:depth + 1])], original

    return _record(losses[-1], None, None, graph, locate)


def _record(loss: Tensor, gradient: Tensor | None, retain_graph: bool | None, graph: Graph,
            locate: Callable[[Node], tuple[str, GraphNode]]) -> BackwardSteps:
    """Run backward with recording hooks on every node of the graph of ``loss``; remove them afterwards.

    ``locate(node)`` gives the id of the drawn node that stands for ``node`` and ``node``'s own ``GraphNode``.
    """
    root_edge = get_gradient_edge(loss)
    order = walk_graph([root_edge.node])
    leaves = [node for node in order if isinstance(node, AccumulateGrad)]
    steps: list[Step] = []
    pending: dict[Node, list[Arrival]] = {}
    seed = np.ones_like(loss.data) if gradient is None else np.asarray(getattr(gradient, "data", gradient))
    pending[root_edge.node] = [Arrival(None, root_edge.output_nr, Gradient.of(seed))]
    recorded = [Leaf(leaf, _title(locate(leaf)[1]), locate(leaf)[0],
                     None if leaf.variable.grad is None else Gradient.of(leaf.variable.grad.data)) for leaf in leaves]

    def note_final() -> None:
        for leaf, record in zip(leaves, recorded):
            if leaf.variable.grad is not None:
                record.final = Gradient.of(leaf.variable.grad.data)

    def before(node: Node) -> Callable[[tuple], None]:
        def prehook(gradients: tuple) -> None:
            if not steps:
                queue_callback(note_final)
            received = [None if grad is None else Gradient.of(grad.data) for grad in gradients]
            rule = LEAF_RULE if isinstance(node, AccumulateGrad) else _rule(node)
            drawn, own = locate(node)
            steps.append(Step(node, _title(own), drawn, rule, received, pending.pop(node, [])))
        return prehook

    def after(node: Node) -> Callable[[tuple, tuple], None]:
        def hook(grad_inputs: tuple, grad_outputs: tuple) -> None:
            step = steps[-1]
            for position, (edge, grad) in enumerate(zip(node.next_edges, grad_inputs)):
                if edge is None or grad is None:
                    continue
                sent = Sent(position, edge.node, edge.output_nr, Gradient.of(grad.data))
                step.sent.append(sent)
                pending.setdefault(edge.node, []).append(Arrival(node, edge.output_nr, sent.gradient, position))
        return hook

    def accumulated(tensor: Tensor) -> None:
        steps[-1].leaf_grad = Gradient.of(tensor.grad.data)

    handles = []
    try:
        for node in order:
            handles.append(node.register_prehook(before(node)))
            if isinstance(node, AccumulateGrad):
                handles.append(node.variable.register_post_accumulate_grad_hook(accumulated))
            else:
                handles.append(node.register_hook(after(node)))
        loss.backward(gradient, retain_graph=retain_graph)
    finally:
        for handle in handles:
            handle.remove()

    root = locate(root_edge.node)[0]
    seed_edge = next((_edge_key(root, edge.target) for edge in graph.edges
                      if edge.source == root and edge.target.startswith("out")), None)
    return BackwardSteps(steps, graph, recorded, seed_edge)


def _rule(node: Node) -> str:
    """The op's math: the first paragraph of its Function's own docstring (one line for most ops)."""
    doc = type(node).__dict__.get("__doc__")
    if not doc:
        return f"{node.name()}: no docstring"
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].replace("``", "").split())


def _number(value: float) -> str:
    return f"{value + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def _title(node: GraphNode) -> str:
    """What the page calls a drawn node: a module with its class, a leaf with its shape, an op by name."""
    if node.kind == "module":
        kind = node.attributes.get("type")
        return f"{node.name} ({kind})" if kind else node.name
    if node.kind in ("param", "leaf"):
        return f"{node.name} {_shape(node.shape)}" if node.shape else node.name
    return node.name


def _shape(shape: Sequence[int] | None) -> str:
    return "(" + ", ".join(str(size) for size in shape or ()) + ")"


def _edge_key(source: str, target: str) -> str | None:
    """How the player finds a drawn edge: graphviz titles each edge ``source->target``. None inside one node."""
    return None if source == target else f"{source}->{target}"


_CONTROLS = """<div class="gs-controls">
<button type="button" class="gs-prev" title="previous step (left arrow)">&#9664; Previous</button>
<button type="button" class="gs-play" title="play / pause">&#9654; Play</button>
<button type="button" class="gs-next" title="next step (right arrow)">Next &#9654;</button>
<input type="range" class="gs-slider" min="0" max="{last}" value="0" aria-label="step">
<span class="gs-counter"></span>
</div>
<div class="gs-legend"><span class="gs-key gs-key-running"></span>running
<span class="gs-key gs-key-arrive"></span>gradient arriving <span class="gs-key gs-key-send"></span>sent to an input
<span class="gs-key gs-key-done"></span>already run</div>"""

_CSS = """
.gradlab-steps { font-family: Helvetica, Arial, sans-serif; font-size: 14px; color: #222; }
.gradlab-steps .gs-controls { display: flex; gap: 8px; align-items: center; margin: 6px 0 10px; }
.gradlab-steps button { font-size: 14px; padding: 4px 12px; border: 1px solid #888; border-radius: 4px;
  background: #f5f5f5; cursor: pointer; }
.gradlab-steps button:hover { background: #e8e8e8; }
.gradlab-steps .gs-slider { flex: 1; max-width: 420px; }
.gradlab-steps .gs-counter { font-weight: bold; min-width: 9em; }
.gradlab-steps .gs-legend { font-size: 12px; color: #555; margin-bottom: 8px; }
.gradlab-steps .gs-key { display: inline-block; width: 22px; height: 10px; margin: 0 4px 0 12px;
  vertical-align: middle; }
.gradlab-steps .gs-key-running { background: #ffe8cc; border: 3px solid #e8590c; height: 6px; }
.gradlab-steps .gs-key-arrive { border-top: 3px dashed #e8590c; height: 0; }
.gradlab-steps .gs-key-send { border-top: 3px solid #1d4ed8; height: 0; }
.gradlab-steps .gs-key-done { background: #e3f4e8; border: 2px solid #2f855a; height: 7px; }
.gradlab-steps .gs-main { display: flex; gap: 16px; align-items: flex-start; }
.gradlab-steps .gs-graph { flex: 0 1 auto; min-width: 0; max-height: 82vh; overflow: auto; border: 1px solid #ddd;
  border-radius: 4px; padding: 4px; }
.gradlab-steps .gs-graph svg { display: block; }
.gradlab-steps .gs-panel { flex: 1 0 400px; max-width: 560px; }  /* never squeezed: a wide graph scrolls instead */
.gradlab-steps .gs-panel h3 { margin: 4px 0 6px; font-size: 17px; }
.gradlab-steps .gs-panel h4 { margin: 12px 0 4px; font-size: 14px; color: #444; }
.gradlab-steps .gs-rule { background: #f6f3ea; border-left: 3px solid #c49a2c; padding: 5px 8px;
  font-family: Menlo, Consolas, monospace; font-size: 12.5px; white-space: pre-wrap; }
.gradlab-steps table { border-collapse: collapse; width: 100%; font-size: inherit; }
.gradlab-steps td { border-top: 1px solid #eee; padding: 3px 6px 3px 0; vertical-align: top; }
.gradlab-steps td.gs-who { white-space: nowrap; color: #555; width: 1%; }
.gradlab-steps pre { margin: 0; font-family: Menlo, Consolas, monospace; font-size: 12.5px; white-space: pre-wrap; }
.gradlab-steps tr.gs-sum td { border-top: 2px solid #999; font-weight: bold; }
.gradlab-steps .gs-arrive-text { color: #c2410c; }
.gradlab-steps .gs-send-text { color: #1d4ed8; }
.gradlab-steps tr.gs-changed td { background: #fff4d6; }
.gradlab-steps .gs-leaves { max-height: 30vh; overflow: auto; }
.gradlab-steps .gs-none { color: #999; }
.gradlab-steps g.node.gs-done > polygon, .gradlab-steps g.node.gs-done > ellipse,
.gradlab-steps g.node.gs-done > path { stroke: #2f855a; stroke-width: 2.5px; fill: #e3f4e8; }
.gradlab-steps g.node.gs-running > polygon, .gradlab-steps g.node.gs-running > ellipse,
.gradlab-steps g.node.gs-running > path { stroke: #e8590c; stroke-width: 5px; fill: #ffe8cc; }
.gradlab-steps g.node.gs-target > polygon, .gradlab-steps g.node.gs-target > ellipse,
.gradlab-steps g.node.gs-target > path { stroke: #1d4ed8; stroke-width: 3px; }
.gradlab-steps g.edge.gs-send > path { stroke: #1d4ed8; stroke-width: 3.5px; }
.gradlab-steps g.edge.gs-send > polygon { stroke: #1d4ed8; fill: #1d4ed8; }
.gradlab-steps g.edge.gs-arrive > path { stroke: #e8590c; stroke-width: 3.5px; stroke-dasharray: 6 3; }
.gradlab-steps g.edge.gs-arrive > polygon { stroke: #e8590c; fill: #e8590c; }
.gradlab-steps text.gs-edge-label { font-family: Menlo, Consolas, monospace; font-size: 10px; fill: #1d4ed8;
  paint-order: stroke; stroke: white; stroke-width: 3px; }
"""

# The player: plain DOM code, no library. It finds graphviz's node and edge groups by their <title> ("n3",
# "n3->n0"), redraws the classes and the panel for the current step, and labels the edges being sent along.
_SCRIPT = r"""function (root) {
  var data = JSON.parse(root.querySelector(".gs-data").textContent);
  var steps = data.steps, n = steps.length, current = 0, timer = null;
  var svg = root.querySelector("svg"), panel = root.querySelector(".gs-panel");
  var slider = root.querySelector(".gs-slider"), counter = root.querySelector(".gs-counter");
  var play = root.querySelector(".gs-play");
  var nodes = {}, edges = {};
  svg.querySelectorAll("g.node").forEach(function (g) { nodes[g.querySelector("title").textContent] = g; });
  svg.querySelectorAll("g.edge").forEach(function (g) { edges[g.querySelector("title").textContent] = g; });
  var SVGNS = "http://www.w3.org/2000/svg";
  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function row(who, text, cls) {
    return "<tr" + (cls ? ' class="' + cls + '"' : "") + '><td class="gs-who">' + esc(who) +
      "</td><td><pre>" + esc(text) + "</pre></td></tr>";
  }
  function clear() {
    root.querySelectorAll(".gs-running, .gs-done, .gs-target, .gs-send, .gs-arrive").forEach(function (el) {
      el.classList.remove("gs-running", "gs-done", "gs-target", "gs-send", "gs-arrive");
    });
    root.querySelectorAll("text.gs-edge-label").forEach(function (el) { el.remove(); });
  }
  function overlaps(a, b) {
    return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  }
  function labelEdge(g, text, placed) {
    var path = g.querySelector("path");
    if (!path || text.length > 48) return;
    var point = path.getPointAtLength(path.getTotalLength() / 2);
    var label = document.createElementNS(SVGNS, "text");
    label.setAttribute("class", "gs-edge-label");
    label.setAttribute("x", point.x + 6);
    label.setAttribute("y", point.y + 3);
    label.textContent = text.replace(/\s+/g, " ");
    g.appendChild(label);
    // Edges into one node run close together: move a label down until it clears the ones already placed.
    var box = label.getBBox(), y = point.y + 3;
    while (placed.some(function (other) { return overlaps(box, other); })) {
      y += box.height + 1;
      label.setAttribute("y", y);
      box = label.getBBox();
    }
    placed.push(box);
  }
  function leafTable(upto) {
    var latest = {}, changed = upto > 0 ? steps[upto - 1].leaf : null;
    for (var i = 0; i < upto; i++) if (steps[i].leaf_grad !== null) latest[steps[i].leaf] = steps[i].leaf_grad;
    var html = "<table>";
    data.leaves.forEach(function (leaf, index) {
      var text = index in latest ? latest[index] : leaf.before;
      html += row(leaf.label, text === null ? "None" : text, index === changed ? "gs-changed" : "");
    });
    return html + "</table>";
  }
  function show(k) {
    current = Math.max(0, Math.min(n, k));
    slider.value = current;
    counter.textContent = "step " + current + " / " + n;
    clear();
    for (var i = 0; i < current - 1; i++) if (nodes[steps[i].node]) nodes[steps[i].node].classList.add("gs-done");
    var html;
    if (current === 0) {
      html = "<h3>Before backward</h3><p>Press <b>Next</b> (or the right arrow key) to run the first node. " +
        "Each step is one node run by the engine, in its real order: a node runs once every gradient " +
        "meant for it has arrived, summed where paths fan in.</p>";
    } else {
      var step = steps[current - 1], g = nodes[step.node];
      if (g) { g.classList.add("gs-running"); g.scrollIntoView({block: "nearest", inline: "nearest"}); }
      html = '<h3 class="gs-heading">' + current + ". " + esc(step.op) +
        (step.label !== step.op ? " " + esc(step.label) : "") +
        (step.within ? ' <span class="gs-none">in ' + esc(step.within) + "</span>" : "") + "</h3>";
      html += '<div class="gs-rule">' + esc(step.rule) + "</div>";
      html += '<h4 class="gs-arrive-text">gradient arriving</h4><table class="gs-arrivals">';
      step.arrivals.forEach(function (a) {
        var who = "from " + a.from + (a.input === null ? "" : ", as its input " + a.input);
        html += row(who + (a.output ? " [output " + a.output + "]" : ""), a.text, "gs-arrival");
        if (a.edge && edges[a.edge]) edges[a.edge].classList.add("gs-arrive");
      });
      if (step.arrivals.length > 1 || step.received.length > 1) {
        step.received.forEach(function (r) {
          html += row("sum" + (step.received.length > 1 ? " [" + r.output + "]" : ""), r.text, "gs-sum");
        });
      }
      html += "</table>";
      if (step.leaf !== null) {
        html += '<h4>.grad after this step</h4><table class="gs-leafgrad">' + row(step.label, step.leaf_grad) +
          "</table>";
      } else {
        html += '<h4 class="gs-send-text">sent along each input edge</h4><table class="gs-sent">';
        if (!step.sent.length) html += '<tr><td class="gs-none">nothing (no input needs a gradient)</td></tr>';
        var placed = [];
        step.sent.forEach(function (s) {
          html += row("input " + s.input + " \u2192 " + s.to, s.text, "gs-sent-row");
          if (s.edge && edges[s.edge]) {
            edges[s.edge].classList.add("gs-send");
            labelEdge(edges[s.edge], s.text, placed);
          }
        });
        html += "</table>";
        step.sent.forEach(function (s) {
          var target = s.edge ? s.edge.split("->")[0] : null;
          if (target && nodes[target]) nodes[target].classList.add("gs-target");
        });
      }
    }
    html += "<h4>leaves' .grad</h4><div class=\"gs-leaves\">" + leafTable(current) + "</div>";
    panel.innerHTML = html;
    var changed = panel.querySelector(".gs-leaves tr.gs-changed");
    if (changed) changed.parentNode.parentNode.parentNode.scrollTop = changed.offsetTop - 40;
  }
  function stop() { if (timer !== null) { clearInterval(timer); timer = null; } play.innerHTML = "&#9654; Play"; }
  root.querySelector(".gs-next").addEventListener("click", function () { stop(); show(current + 1); });
  root.querySelector(".gs-prev").addEventListener("click", function () { stop(); show(current - 1); });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  play.addEventListener("click", function () {
    if (timer !== null) { stop(); return; }
    if (current >= n) show(0);
    play.innerHTML = "&#10074;&#10074; Pause";
    timer = setInterval(function () { show(current + 1); if (current >= n) stop(); }, 900);
  });
  root.tabIndex = 0;
  root.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { stop(); show(current + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { stop(); show(current - 1); event.preventDefault(); }
  });
  show(0);
}"""
