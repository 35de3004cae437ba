"""DOT rendering of a ``Graph``: labels, gradient colours and their legend, module clusters, skip edges.

``make_dot`` is the entry point for a raw autograd graph; ``viz.draw_model`` renders a model's graph
with the same ``to_digraph``. The result is a ``graphviz.Digraph`` (a subclass that explains how to
install graphviz when the ``dot`` program is missing), so ``.source``, ``.render(...)`` and Jupyter
display work as usual.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Sequence

import graphviz
import numpy as np

from autograd.audit import GraphAudit
from autograd.tensor import Tensor

from .graph import Graph, GraphNode, build_graph

INSTALL_GRAPHVIZ = ("Install graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
                    "or `conda install -c conda-forge graphviz`.")
INSTALL_HINT = ("the graphviz 'dot' program was not found on PATH, so the graph cannot be rendered (its DOT "
                "source is still available as .source). " + INSTALL_GRAPHVIZ)

# viridis at five stops: perceptually uniform and readable in grey scale.
COLOR_SCALE = ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)),
               (1.0, (253, 231, 37)))
NONFINITE_COLOR = "#ff2020"
VANISHING_COLOR = "#d9d9d9"
SKIP_COLOR = "#8e44ad"
FAILED_COLOR = "#e60000"
# Outline and text of nodes that ``viz.lint`` found a problem with (its badges).
LINT_COLOR = "#d35400"
KIND_FILL = {"op": "#f2f2f2", "param": "#cfe2f3", "leaf": "#e6e6e6", "output": "#d9ead3", "module": "#fff2cc",
             "cut": "#ffffff"}
NO_GRAD_FILL = "#ffffff"
# WCAG's minimum contrast ratio for normal text (AA): every label line keeps at least this much against its fill.
MIN_CONTRAST = 4.5


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs the graphviz ``dot`` program; this error says how to install it."""

    def __init__(self) -> None:
        RuntimeError.__init__(self, INSTALL_HINT)


class Digraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that keeps the ``Graph`` it was drawn from (``.graph``, for ``to_json``)
    and names the install command when ``dot`` is missing."""

    graph: Graph | None = None

    # The errors below are raised ``from None``: graphviz's own error (and the FileNotFoundError under it) would
    # only add two tracebacks that say less than the hint.

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """As ``graphviz.Digraph.pipe``; raises ``GraphvizNotFoundError`` without ``dot``."""
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError() from None

    def render(self, *args: Any, **kwargs: Any) -> str:
        """As ``graphviz.Digraph.render`` (``render(path, format='svg'|'png'|'pdf')``), but ``cleanup=True`` by
        default: the DOT source graphviz writes first is deleted, leaving the picture alone. Raises
        ``GraphvizNotFoundError`` without ``dot``."""
        if len(args) < 4:  # cleanup is render's fourth parameter
            kwargs.setdefault("cleanup", True)
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            if kwargs.get("cleanup"):  # graphviz saved the source (to .filepath) before it looked for dot
                Path(self.filepath).unlink(missing_ok=True)
            raise GraphvizNotFoundError() from None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Jupyter's display: the rendered SVG, or without ``dot`` the install hint and the DOT source as text
        (instead of a cell that fails)."""
        try:
            return {"image/svg+xml": self.pipe(format="svg", encoding="utf-8")}
        except GraphvizNotFoundError:
            return {"text/plain": f"{INSTALL_HINT}\n\n{self.source}"}


def make_dot(output: Tensor | Sequence[Tensor], params: dict[str, Tensor] | None = None, *,
             show_values: bool | None = None, show_saved: bool = False, show_grads: bool = False,
             depth: int | None = None, rankdir: str = "TB", audit: GraphAudit | None = None,
             vanishing: float = 1e-7) -> Digraph:
    """Draw the computation graph that produced ``output``.

    Op nodes show the op and its attributes (``Conv2d stride=2 padding=1``) and their output's shape;
    leaves show the parameter's name (from ``params``), shape and dtype; edges go the way data flows.
    Tensors with a handful of elements show their value (and gradient). Intermediate values are
    known when the graph was built inside ``autograd.record_inputs()`` (otherwise only leaves and
    outputs show theirs).

    Args:
        output: the tensor (or tensors) whose graph to draw.
        params: names for leaves, e.g. ``dict(model.named_parameters())``.
        show_values: print the values of small tensors (None: up to 4 elements; True: up to 16;
            False: never).
        show_saved: list the arrays each op keeps for backward, with their bytes.
        show_grads: colour each node by log10 of the norm of its gradient (legend included), NaN/inf
            in red, gradients below ``vanishing`` greyed and dashed. Before backward the gradients
            are computed here (``.grad`` untouched, graph kept); after backward, op gradients are
            known only if ``viz.capture_grads(output)`` was called before it (leaves use ``.grad``).
        depth: draw only the nodes at most this many edges from the output (None: all); the
            inputs cut off come from one "... more nodes" node. For module-level depth, use
            ``viz.draw_model``.
        rankdir: graphviz layout direction: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        audit: a report of ``autograd.gradcheck_graph``; failing ops are outlined in red.
        vanishing: gradient norm below which a gradient counts as vanishing.

    Returns:
        a ``graphviz.Digraph``: ``.source`` is the DOT text, ``.render(path, format="svg")`` writes
        a file, and a notebook displays it inline.

    Example::

        >>> loss = F.cross_entropy(model(x), y)
        >>> viz.make_dot(loss, dict(model.named_parameters()), show_grads=True).render("graph", format="svg")
    """
    graph = build_graph(output, params, show_values=show_values, show_saved=show_saved, show_grads=show_grads,
                        depth=depth, audit=audit, vanishing=vanishing)
    return to_digraph(graph, rankdir=rankdir)


def to_digraph(graph: Graph, *, rankdir: str = "TB") -> Digraph:
    """Render a ``Graph`` into a ``Digraph``: nodes, edges, module clusters and the gradient legend."""
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"viz: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    dot = Digraph(graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "12", "nodesep": "0.25",
                              "ranksep": "0.3", "newrank": "true"},
                  node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.08,0.04", "height": "0.3"},
                  edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555", "arrowsize": "0.7"})
    dot.graph = graph
    scale = _ColorScale(graph)

    clusters = {".".join(node.module.split(".")[:depth]) for node in graph.nodes if node.module
                for depth in range(1, node.module.count(".") + 2)}
    cluster_graphs = {name: graphviz.Digraph(name=f"cluster_{name}") for name in sorted(clusters)}
    saved_by_module = _saved_by_module(graph) if graph.show_saved else {}
    for name, cluster in cluster_graphs.items():
        info = graph.modules.get(name)
        title = name if info is None else f"{name}: {info.type}"
        if name in saved_by_module:
            title += f"  (saved {_bytes(saved_by_module[name])})"
        cluster.attr(label=title, style="rounded,dashed", color="#999999", fontcolor="#555555", fontsize="10",
                     labeljust="l")

    for node in graph.nodes:
        target = cluster_graphs[node.module] if node.module else dot
        style = _style(node, graph, scale)
        style["label"] = _label(node, style["fillcolor"], style["fontcolor"])
        target.body.append(f"\t{quote(node.id)} [{format_attributes(style)}]\n")
    # Attach clusters innermost first: graphviz copies a subgraph's body when it is added.
    for name in sorted(cluster_graphs, key=lambda name: -name.count(".")):
        parent = name.rsplit(".", 1)[0] if "." in name else None
        (cluster_graphs[parent] if parent else dot).subgraph(cluster_graphs[name])

    for edge in graph.edges:
        attributes: dict[str, str] = {}
        if edge.skip:
            attributes.update(style="dashed", color=SKIP_COLOR, penwidth="2.2", label="skip", fontcolor=SKIP_COLOR)
        elif edge.broadcast_axes is not None:
            attributes.update(label=f"sum over axes {edge.broadcast_axes}", fontcolor="#a05000", color="#a05000")
        elif edge.output_nr:
            attributes.update(label=f"[{edge.output_nr}]")
        dot.body.append(f"\t{quote(edge.source)} -> {quote(edge.target)}"
                        + (f" [{format_attributes(attributes)}]\n" if attributes else "\n"))

    if graph.grads_shown:
        _legend(dot, graph, scale)
    if graph.show_saved:
        dot.attr(label=f"saved for backward: {_bytes(saved_by_module.get('', 0))} in all", labelloc="b")
    return dot


def quote(text: str) -> str:
    """DOT quoting for ids and attribute values; HTML-like labels (``<...>``) pass as they are.

    Node and edge lines are written straight into the body: graphviz's generic quoting costs
    more than the rest of the drawing on graphs of 100,000 nodes.
    """
    if text.startswith("<") and text.endswith(">"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_attributes(attributes: dict[str, str]) -> str:
    """``key="value" ...`` for a DOT node or edge line."""
    return " ".join(f"{key}={quote(value)}" for key, value in attributes.items())


def _saved_by_module(graph: Graph) -> dict[str, int]:
    """Bytes saved for backward per module (including its submodules); "" holds the whole graph."""
    totals: dict[str, int] = {}
    for node in graph.nodes:
        nbytes = node.saved_bytes
        if not nbytes:
            continue
        totals[""] = totals.get("", 0) + nbytes
        if node.module:
            parts = node.module.split(".")
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                totals[prefix] = totals.get(prefix, 0) + nbytes
    return totals


def _bytes(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def _shape(shape: tuple | None) -> str:
    if shape is None:
        return ""
    return "(" + ", ".join(str(size) for size in shape) + ")"


def _array(value: np.ndarray) -> str:
    if value.size == 1:
        return f"{value.item():.4g}"
    return np.array2string(value.ravel(), precision=3, suppress_small=True, separator=", ", threshold=8, edgeitems=3)


def _line(text: str, size: int, color: str | None) -> str:
    """One label line; ``color`` None keeps the node's font colour (black, or white on dark fills)."""
    colored = f' color="{color}"' if color else ""
    return f'<font point-size="{size}"{colored}>{html.escape(text, quote=False)}</font>'


def _label(node: GraphNode, fill: str, font: str) -> str:
    """An HTML-like label: name in bold, then attributes, shape, value, gradient, saved arrays, audit.

    Secondary lines are grey, and the skip and audit notes coloured, where that keeps MIN_CONTRAST against
    ``fill``; elsewhere they take the node's font colour ``font``.
    """
    muted = _readable("#505050", fill) or _readable("#e0e0e0", fill) or font
    lines = [f"<b>{html.escape(node.name)}</b>"]
    if node.kind == "module":
        kind = node.attributes.get("type", "")
        lines.append(_line(f"{kind} x{node.count}" if node.count > 1 else kind, 10, None))
        if node.params is not None:
            lines.append(_line(f"{node.params:,} params" + (" each" if node.count > 1 else ""), 9, muted))
    elif node.attributes:
        lines.append(_line(" ".join(f"{key}={value}" for key, value in node.attributes.items()), 9, None))
    if node.shape is not None:
        dtype = f" {node.dtype}" if node.kind != "module" and node.dtype else ""
        device = f" {node.device}" if node.device else ""  # shown off the CPU only
        lines.append(_line(_shape(node.shape) + dtype + device, 9, muted))
    if node.value is not None:
        lines.append(_line(f"data {_array(node.value)}", 10, None))
    if node.grad is not None:
        if node.grad.value is not None and node.value is not None:
            lines.append(_line(f"grad {_array(node.grad.value)}", 10, None))
        else:
            lines.append(_line(f"|grad| {node.grad.norm:.2e}", 9, None))
    if node.residual:
        text = "has a residual connection" if node.kind == "module" else "residual: grad goes to both branches"
        lines.append(_line(text, 8, _readable(SKIP_COLOR, fill)))
    if node.saved:
        plural = "s" if len(node.saved) > 1 else ""
        lines.append(_line(f"saved: {len(node.saved)} array{plural}, {_bytes(node.saved_bytes)}", 8, muted))
    elif node.saved_freed:
        lines.append(_line("saved: freed by backward", 8, muted))
    if node.audit is not None:
        lines.append(_line("gradcheck FAILED", 9, _readable(FAILED_COLOR, fill)))
    for badge in node.badges:
        lines.append(_line(f"lint: {badge}", 9, _readable(LINT_COLOR, fill)))
    return "<" + "<br/>".join(lines) + ">"


def _style(node: GraphNode, graph: Graph, scale: _ColorScale) -> dict[str, str]:
    style = {"shape": "box" if node.kind in ("op", "module") else "ellipse",
             "style": "rounded,filled" if node.kind == "op" else "filled",
             "fillcolor": KIND_FILL[node.kind], "color": "#444444"}
    if node.kind == "module":
        style["style"] = "filled,bold"
    if node.kind == "output":
        style["penwidth"] = "2"
    if graph.grads_shown and node.grad is not None:
        norm = node.grad.norm
        if not math.isfinite(norm):
            style.update(fillcolor=NONFINITE_COLOR, penwidth="2.5", color="#800000")
        elif norm < graph.vanishing:
            style.update(fillcolor=VANISHING_COLOR, color="#888888")
            style["style"] += ",dashed"
        else:
            fill = scale.color(math.log10(norm))
            style["fillcolor"] = fill
    elif graph.grads_shown:
        style["fillcolor"] = NO_GRAD_FILL
    style["fontcolor"] = text_color(style["fillcolor"])
    if node.badges:
        style.update(color=LINT_COLOR, penwidth="3")
    if node.audit is not None:
        style.update(color=FAILED_COLOR, penwidth="3.5")
    return style


class _ColorScale:
    """Maps log10 gradient norms onto the colour scale over the whole decades the graph spans."""

    def __init__(self, graph: Graph) -> None:
        logs = [math.log10(node.grad.norm) for node in graph.nodes
                if node.grad is not None and math.isfinite(node.grad.norm) and node.grad.norm >= graph.vanishing]
        self.low = math.floor(min(logs)) if logs else 0
        self.high = max(math.ceil(max(logs)) if logs else 1, self.low + 1)

    def color(self, log_norm: float) -> str:
        position = min(max((log_norm - self.low) / (self.high - self.low), 0.0), 1.0)
        for (left, low), (right, high) in zip(COLOR_SCALE, COLOR_SCALE[1:]):
            if position <= right:
                break
        weight = (position - left) / (right - left)
        return "#" + "".join(f"{round(a + (b - a) * weight):02x}" for a, b in zip(low, high))


def luminance(color: str) -> float:
    """WCAG's relative luminance of ``#rrggbb``: 0 for black, 1 for white."""
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (at least 4.58:1 for any fill)."""
    return "#000000" if contrast("#000000", fill) >= contrast("#ffffff", fill) else "#ffffff"


def _readable(color: str, fill: str) -> str | None:
    """``color`` when text in it keeps MIN_CONTRAST on ``fill``, else None (the node's font colour)."""
    return color if contrast(color, fill) >= MIN_CONTRAST else None


def _legend(dot: Digraph, graph: Graph, scale: _ColorScale) -> None:
    """A continuous colour bar over the decades of gradient norm the graph spans (every fill a node can have lies
    on it, between two labelled decades), then swatches for the vanishing, NaN and unknown styles."""
    step = max(1, math.ceil((scale.high - scale.low) / 8))
    decades = list(range(scale.high, scale.low - 1, -step))
    if decades[-1] != scale.low:
        decades.append(scale.low)
    # The bar is a column of thin gradient cells (several per band of decades, so that it bends at the colour
    # scale's stops as the fills do); each decade's label spans the cells from the middle of the band above it to
    # the middle of the band below, so that it sits on the boundary it names.
    bands = len(decades) - 1
    half = math.ceil(4 / bands)
    # Points: half a band holds a line of 9-point text, and the bar is at least an inch tall.
    height = max(math.ceil(14 / half), math.ceil(72 / (2 * half * bands)))
    positions = [decade for top, bottom in zip(decades, decades[1:])
                 for decade in np.linspace(top, bottom, 2 * half + 1)[:-1]] + [scale.low]
    labels = {0: (decades[0], half, "top")}
    labels.update({2 * half * index - half: (decade, 2 * half, "middle") for index, decade in enumerate(decades)
                   if 0 < index < len(decades) - 1})
    labels[2 * half * (len(decades) - 1) - half] = (decades[-1], half, "bottom")
    rows = ['<tr><td colspan="2" border="0"><b>|grad| (L2 norm)</b></td></tr>']
    for index, (upper, lower) in enumerate(zip(positions, positions[1:])):
        label = ""
        if index in labels:
            decade, span, align = labels[index]
            label = (f'<td rowspan="{span}" border="0" cellpadding="0" align="left" valign="{align}">'
                     f'<font point-size="9"> 1e{decade}</font></td>')
        rows.append(f'<tr><td border="0" cellpadding="0" width="24" height="{height}" fixedsize="true" '
                    f'gradientangle="270" bgcolor="{scale.color(upper)}:{scale.color(lower)}"></td>{label}</tr>')
    rows.append(f'<tr><td bgcolor="{VANISHING_COLOR}"> </td><td align="left" border="0">&lt; {graph.vanishing:.0e} '
                f'(vanishing, dashed)</td></tr>')
    rows.append(f'<tr><td bgcolor="{NONFINITE_COLOR}"> </td><td align="left" border="0">NaN or inf</td></tr>')
    rows.append(f'<tr><td bgcolor="{NO_GRAD_FILL}"> </td><td align="left" border="0">no gradient known</td></tr>')
    for note in graph.notes:
        rows.append(f'<tr><td colspan="2"><font point-size="9">{html.escape(note)}</font></td></tr>')
    table = '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">' + "".join(rows) + "</table>>"
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label="", style="invis")
        legend.body.append(f'\t"legend" [{format_attributes({"label": table, "shape": "plaintext", "fontsize": "10"})}]\n')
