"""viz: DOT structure (counts, names, clusters, skip edges, gradient colours, stable ids), JSON export,
rendering with and without graphviz's ``dot``, and the matplotlib plots."""

import json
import re
import shutil
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import viz
from autograd.graph import walk_graph
from viz.dot import NONFINITE_COLOR, SKIP_COLOR, VANISHING_COLOR

has_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")

NODE_LINE = re.compile(r'^\t"([^"]+)" \[', re.MULTILINE)
EDGE_LINE = re.compile(r'^\t"([^"]+)" -> "([^"]+)"', re.MULTILINE)


def node_ids(dot) -> list[str]:
    return [name for name in NODE_LINE.findall(dot.source) if name != "legend"]


def edge_pairs(dot) -> list[tuple[str, str]]:
    return EDGE_LINE.findall(dot.source)


def clusters(dot) -> set[str]:
    return set(re.findall(r'subgraph "?cluster_([^" ]+)"? \{', dot.source)) - {"legend"}


def node_line(dot, node_id: str) -> str:
    return next(line for line in dot.source.splitlines() if line.startswith(f'\t"{node_id}" ['))


def scalar_expression():
    """Karpathy's micrograd example: L = (a * b + c) * f."""
    a, b = autograd.tensor(2.0, requires_grad=True), autograd.tensor(-3.0, requires_grad=True)
    c, f = autograd.tensor(10.0, requires_grad=True), autograd.tensor(-2.0, requires_grad=True)
    with autograd.record_inputs():
        loss = (a * b + c) * f
    return loss, {"a": a, "b": b, "c": c, "f": f}


def mlp_loss(batch=5):
    params = {"w1": autograd.randn(8, 16, requires_grad=True), "b1": autograd.zeros(16, requires_grad=True),
              "w2": autograd.randn(16, 4, requires_grad=True), "b2": autograd.zeros(4, requires_grad=True)}
    x = autograd.randn(batch, 8)
    hidden = (x @ params["w1"] + params["b1"]).relu()
    return (hidden @ params["w2"] + params["b2"]).log_softmax(1).mean(), params


class Dense(nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.weight = nn.Parameter(autograd.randn(fan_in, fan_out) * fan_in ** -0.5)
        self.bias = nn.Parameter(autograd.zeros(fan_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = Dense(width, width)
        self.fc2 = Dense(width, width)

    def forward(self, x):
        return (x + self.fc2(self.fc1(x).relu())).relu()


class ResidualMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Dense(8, 16)
        self.blocks = nn.Sequential(Block(16), Block(16), Block(16))
        self.head = Dense(16, 4)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x).relu()))


# ------------------------------------------------------------------ make_dot structure
def test_node_and_edge_counts_match_the_graph():
    loss, params = mlp_loss()
    graph_nodes = walk_graph([loss.grad_fn])
    dot = viz.make_dot(loss, params)
    assert len(node_ids(dot)) == len(graph_nodes) + 1  # + the output tensor
    expected_edges = sum(edge is not None for node in graph_nodes for edge in node._edges) + 1
    assert len(edge_pairs(dot)) == expected_edges
    assert set(source for source, _ in edge_pairs(dot)) | set(target for _, target in edge_pairs(dot)) \
        == set(node_ids(dot))


def test_labels_show_ops_attributes_parameter_names_shapes_and_dtypes():
    loss, params = mlp_loss()
    source = viz.make_dot(loss, params).source
    for name in params:
        assert f"<b>{name}</b>" in source
    assert "<b>Matmul</b>" in source and "<b>LogSoftmax</b>" in source
    assert "dim=1" in source
    assert "(8, 16) float32" in source and "(5, 4) float32" in source


def test_edges_follow_data_flow():
    x = autograd.randn(3, requires_grad=True)
    y = x.exp()
    dot = viz.make_dot(y, {"x": x})
    # leaf -> Exp -> output
    assert edge_pairs(dot) == [("n1", "n0"), ("n0", "out0")]
    assert "<b>x</b>" in node_line(dot, "n1") and "<b>Exp</b>" in node_line(dot, "n0")


def test_broadcast_edges_name_the_summed_axes():
    loss, params = mlp_loss()
    dot = viz.make_dot(loss, params)
    assert dot.source.count("sum over axes (0,)") == 2  # b1 and b2
    exported = json.loads(viz.to_json(loss, params))
    names = {node["id"]: node["name"] for node in exported["nodes"]}
    axes = {names[edge["source"]]: edge["broadcast_axes"] for edge in exported["edges"] if edge["broadcast_axes"]}
    assert axes == {"b1": [0], "b2": [0]}


def test_small_tensors_show_value_and_gradient():
    loss, params = scalar_expression()
    dot = viz.make_dot(loss, params, show_grads=True)
    source = dot.source
    # a*b = -6 with gradient f = -2; d = a*b + c = 4; L = -8; dL/da = b*f = 6.
    assert "data -6" in source and "data 4" in source and "data -8" in source
    assert "grad 6" in node_line(dot, next(i for i in node_ids(dot) if "<b>a</b>" in node_line(dot, i)))
    mul_ab = next(i for i in node_ids(dot) if "data -6" in node_line(dot, i))
    assert "grad -2" in node_line(dot, mul_ab)
    # Gradients drawn before backward are computed on the side: .grad stays untouched.
    assert all(tensor.grad is None for tensor in params.values())
    loss.backward()  # the graph was kept
    assert params["a"].grad.item() == 6.0


def test_show_values_switch():
    x = autograd.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = x * 2
    assert "data" not in viz.make_dot(y).source  # 6 elements: more than the automatic 4
    assert "data [ 0.,  2.,  4.,  6.,  8., 10.]" in node_line(viz.make_dot(y, show_values=True), "out0")
    assert "data" not in viz.make_dot(y.sum(), show_values=False).source

def test_gradient_colours_and_legend_after_backward_with_capture():
    loss, params = mlp_loss()
    viz.capture_grads(loss)
    loss.backward()
    dot = viz.make_dot(loss, params, show_grads=True)
    lines = [node_line(dot, node_id) for node_id in node_ids(dot)]
    assert all("|grad|" in line or "grad " in line for line in lines)
    fills = {re.search(r'fillcolor="([^"]+)"', line).group(1) for line in lines}
    assert len(fills) >= 3 and "white" not in fills  # several decades, every node coloured
    assert '"legend" [' in dot.source and "1e0" in dot.source


def test_op_gradients_missing_after_uncaptured_backward_are_explained():
    loss, params = mlp_loss()
    loss.backward()
    dot = viz.make_dot(loss, params, show_grads=True)
    assert "viz.capture_grads" in dot.source
    leaf = next(i for i in node_ids(dot) if "<b>w1</b>" in node_line(dot, i))
    assert "|grad|" in node_line(dot, leaf)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_nonfinite_gradients_are_red_and_vanishing_ones_grey():
    x = autograd.tensor([0.0, 1.0], requires_grad=True)
    tiny = autograd.tensor([1.0, 2.0], requires_grad=True)
    loss = x.sqrt().sum() + (tiny * 1e-12).sum()
    dot = viz.make_dot(loss, {"x": x, "tiny": tiny}, show_grads=True)
    by_name = {re.search(r"<b>([^<]+)</b>", node_line(dot, i)).group(1): node_line(dot, i) for i in node_ids(dot)}
    assert f'fillcolor="{NONFINITE_COLOR}"' in by_name["x"]
    assert f'fillcolor="{VANISHING_COLOR}"' in by_name["tiny"] and "dashed" in by_name["tiny"]


def test_show_saved_lists_arrays_and_bytes():
    x = autograd.randn(5, 8)
    w = autograd.randn(8, 16, requires_grad=True)
    y = x @ w
    dot = viz.make_dot(y, {"w": w}, show_saved=True)
    assert "saved: 2 arrays, 672 B" in dot.source  # x (160 B) and w (512 B), float32
    assert "saved for backward: 672 B in all" in dot.source
    y.sum().backward()
    assert "saved: freed by backward" in viz.make_dot(y, show_saved=True).source


def test_skip_connections_have_their_own_style():
    x = autograd.randn(4, 6, requires_grad=True)
    w = autograd.randn(6, 6, requires_grad=True)
    branch = ((x.relu() @ w).tanh() @ w).sigmoid()
    out = x.relu() + branch
    dot = viz.make_dot(out, {"x": x, "w": w})
    skip_edges = [line for line in dot.source.splitlines() if "->" in line and SKIP_COLOR in line]
    assert len(skip_edges) == 1 and "dashed" in skip_edges[0]
    assert "grad goes to both branches" in node_line(dot, "n0")


def test_node_ids_are_stable_across_runs():
    model = ResidualMLP()
    x = autograd.randn(5, 8)
    first = viz.make_dot(model(x).sum(), dict(model.named_parameters())).source
    second = viz.make_dot(model(x).sum(), dict(model.named_parameters())).source
    assert first == second
    assert viz.to_json(model(x).sum()) == viz.to_json(model(x).sum())


def test_depth_limits_make_dot_to_the_last_ops():
    loss, params = mlp_loss()
    dot = viz.make_dot(loss, params, depth=2)
    assert "more nodes" in dot.source
    assert len(node_ids(dot)) == 3 + 1 + 1  # three nodes within 2 edges, the cut marker, the output


def test_a_100000_node_chain_does_not_recurse():
    x = autograd.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y.neg()
    dot = viz.make_dot(y)
    assert dot.source.count("->") == 100_001


def test_to_json_schema():
    loss, params = mlp_loss()
    exported = json.loads(viz.to_json(loss, params, show_grads=True, show_saved=True))
    assert exported["version"] == 1
    ids = [node["id"] for node in exported["nodes"]]
    assert len(ids) == len(set(ids))
    for node in exported["nodes"]:
        assert set(node) == {"id", "kind", "name", "attributes", "shape", "dtype", "module", "value", "grad",
                             "saved_bytes", "audit_failure", "residual", "params", "count"}
        assert node["kind"] in {"op", "param", "leaf", "output", "module"}
        assert node["grad"] is not None
    for edge in exported["edges"]:
        assert set(edge) == {"source", "target", "shape", "output_nr", "broadcast_axes", "skip"}
        assert edge["source"] in ids and edge["target"] in ids
    assert {node["name"] for node in exported["nodes"] if node["kind"] == "param"} == set(params)


def test_to_json_writes_nan_and_inf_as_strings_so_the_output_is_strict_json():
    x = autograd.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        loss = (x.log() * 2).sum()
        text = viz.to_json(loss, {"x": x}, show_grads=True)

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    nodes = {node["id"]: node for node in json.loads(text, parse_constant=refuse)["nodes"]}
    assert nodes["n0"]["value"] == "-inf" and nodes["out0"]["value"] == "-inf"
    param = next(node for node in nodes.values() if node["name"] == "x")
    assert param["grad"]["norm"] == "inf" and param["value"] == [0.0, 1.0]


def test_audit_failures_are_marked():
    class Wrong(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 3

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = autograd.randn(3, requires_grad=True)
    report = autograd.gradcheck_graph(lambda: Wrong.apply(x.exp()).sum())
    dot = viz.make_dot(Wrong.apply(x.exp()).sum(), audit=report)
    wrong = next(i for i in node_ids(dot) if "<b>Wrong</b>" in node_line(dot, i))
    assert "gradcheck FAILED" in node_line(dot, wrong) and 'penwidth="3.5"' in node_line(dot, wrong)
    assert sum("gradcheck FAILED" in node_line(dot, i) for i in node_ids(dot)) == 1


# ------------------------------------------------------------------ draw_model
def test_draw_model_clusters_every_module_at_full_depth():
    model = ResidualMLP()
    dot = viz.draw_model(model, autograd.randn(5, 8), depth=None)
    assert clusters(dot) == {name for name, _ in model.named_modules() if name}
    graph = dot.graph
    assert {node.module for node in graph.nodes if node.kind == "param"} == \
        {name.rpartition(".")[0] for name, _ in model.named_parameters()}
    assert sum(edge.skip for edge in graph.edges) == 3
    assert dot.source.count(SKIP_COLOR) >= 3


def test_draw_model_collapses_below_depth_and_rolls_up_identical_blocks():
    model = ResidualMLP()
    x = autograd.randn(5, 8)
    dot = viz.draw_model(model, x, depth=1, rollup=False)
    modules = [node for node in dot.graph.nodes if node.kind == "module"]
    assert [node.name for node in modules] == ["blocks.2", "blocks.1", "blocks.0"]
    assert all(node.params == 544 and node.shape == (5, 16) and node.residual for node in modules)
    assert '"stem.weight"' not in dot.source and "<b>stem.weight</b>" in dot.source  # depth-1 modules stay open
    assert ("m_blocks.0", "m_blocks.1") in edge_pairs(dot) and ("m_blocks.1", "m_blocks.2") in edge_pairs(dot)

    rolled = viz.draw_model(model, x, depth=1)
    [block] = [node for node in rolled.graph.nodes if node.kind == "module"]
    assert block.count == 3 and block.name == "blocks.0-2" and "Block x3" in rolled.source
    exported = json.loads(viz.to_json(rolled))
    assert [(node["name"], node["count"], node["params"]) for node in exported["nodes"] if node["kind"] == "module"] \
        == [("blocks.0-2", 3, 544)]
    assert {module["name"] for module in exported["modules"]} == {name for name, _ in model.named_modules() if name}

    top = viz.draw_model(model, x, depth=0)
    assert {node.name for node in top.graph.nodes if node.kind == "module"} == {"stem", "blocks", "head"}


def test_draw_model_with_grads_and_saved_totals():
    model = ResidualMLP()
    dot = viz.draw_model(model, autograd.randn(5, 8), depth=1, show_grads=True, show_saved=True,
                         loss_fn=lambda out: out.log_softmax(1).mean())
    assert all(parameter.grad is None for parameter in model.parameters())
    modules = [node for node in dot.graph.nodes if node.kind == "module"]
    assert len(modules) == 3 and all(node.grad is not None and node.grad.norm > 0 for node in modules)
    assert re.search(r'label="blocks: Sequential  \(saved [0-9.]+ KB\)"', dot.source)
    assert '"legend" [' in dot.source


def test_draw_model_on_cnns():
    lenet = nn.models.LeNet5()
    dot = viz.draw_model(lenet, autograd.randn(2, 1, 32, 32), depth=1, show_grads=True,
                         loss_fn=lambda out: F.cross_entropy(out, autograd.tensor(np.array([1, 2]))))
    assert clusters(dot) == {"c1", "s2", "c3", "s4", "c5", "f6", "output"}
    assert "<b>Conv2d</b>" in dot.source and "<b>c1.weight</b>" in dot.source

    resnet = nn.models.resnet_digits()
    full = viz.draw_model(resnet, autograd.randn(2, 1, 8, 8), depth=None)
    assert sum(edge.skip for edge in full.graph.edges) == 2  # one shortcut per block
    collapsed = viz.draw_model(resnet, autograd.randn(2, 1, 8, 8), depth=1)  # one node per block
    blocks = [node for node in collapsed.graph.nodes if node.kind == "module"]
    assert {node.attributes["type"] for node in blocks} == {"BasicBlock"} and all(node.residual for node in blocks)


# ------------------------------------------------------------------ rendering
@has_dot
def test_render_svg_and_png(tmp_path):
    loss, params = mlp_loss()
    dot = viz.make_dot(loss, params, show_grads=True)
    svg = dot.render(outfile=tmp_path / "graph.svg", cleanup=True)
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "w1" in open(svg).read()
    png = dot.render(outfile=tmp_path / "graph.png", cleanup=True)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_missing_dot_keeps_the_source_and_explains_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    loss, params = mlp_loss()
    dot = viz.make_dot(loss, params)
    assert "digraph" in dot.source
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        dot.render(outfile=tmp_path / "graph.svg")
    with pytest.raises(viz.GraphvizNotFoundError, match="brew install graphviz"):
        dot.pipe(format="svg")


# ------------------------------------------------------------------ plots
def test_plot_history(tmp_path):
    pytest.importorskip("matplotlib")
    metrics = {"epoch": [1, 2, 3], "train_loss": [2.0, 1.5, 1.2], "test_loss": [2.1, 1.7, 1.6],
               "train_acc": [0.3, 0.5, 0.6], "test_acc": [0.25, 0.45, 0.5]}
    figure = viz.plot_history(metrics, path=tmp_path / "history.png")
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    assert len(figure.axes[0].lines) == 2
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no metric"):
        viz.plot_history({"epoch": [1]})


def test_plot_grad_flow(tmp_path):
    pytest.importorskip("matplotlib")
    model = ResidualMLP()
    with pytest.raises(ValueError, match="backward"):
        viz.plot_grad_flow(model)
    model(autograd.randn(5, 8)).sum().backward()
    figure = viz.plot_grad_flow(model, path=tmp_path / "flow.png")
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert labels == [name for name, _ in model.named_parameters()]
    assert figure.axes[0].get_yscale() == "log"
    assert (tmp_path / "flow.png").read_bytes()[:4] == b"\x89PNG"

