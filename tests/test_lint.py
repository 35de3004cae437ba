"""``viz.lint``: every rule finds its mistake in a broken model and stays quiet on the fixed one; the built-in
models lint clean; the report prints as a table, draws as badges and leaves the model as it was."""

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import viz
from gradlab.arguments import MODELS
from gradlab.cli import main

pytest.importorskip("graphviz")
# The non-finite cases take a log of negatives and a square root's gradient at 0 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")

BATCH = 8


def images(channels: int = 1, size: int = 8, dtype=np.float32) -> autograd.Tensor:
    return autograd.tensor(np.random.default_rng(1).standard_normal((BATCH, channels, size, size)).astype(dtype))


def features(width: int = 16) -> autograd.Tensor:
    return autograd.tensor(np.random.default_rng(2).standard_normal((BATCH, width)).astype(np.float32))


LABELS = autograd.tensor(np.arange(BATCH) % 4)


def cross_entropy(logits: autograd.Tensor) -> autograd.Tensor:
    return F.cross_entropy(logits, LABELS)


class Head(nn.Module):
    """16 -> 32 -> 4 with a ReLU in between; ``variant`` plants one mistake."""

    def __init__(self, variant: str = "") -> None:
        super().__init__()
        self.variant = variant
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 4)
        if variant == "unused-parameter":
            self.scale = nn.Parameter(autograd.ones(4))
        if variant == "unused-module":
            self.aux = nn.Linear(32, 4)

    def forward(self, x: autograd.Tensor) -> autograd.Tensor:
        hidden = F.relu(self.fc1(x))
        if self.variant == "unused-module":
            self.aux(hidden)  # computed, then dropped
        if self.variant == "detach":
            hidden = hidden.detach()
        if self.variant == "data":
            hidden = autograd.tensor(hidden.data)
        if self.variant == "numpy":
            hidden = autograd.from_numpy(np.maximum(hidden.detach().numpy(), 0.0))
        logits = self.fc2(hidden)
        if self.variant == "log_softmax":
            return logits.log_softmax(1)
        if self.variant == "softmax":
            return logits.softmax(1)
        if self.variant == "relu-logits":
            return F.relu(logits)
        return logits


class Block(nn.Module):
    """A residual block; ``relu_on_branch`` ends the branch with a ReLU (the mistake)."""

    def __init__(self, relu_on_branch: bool = False, conv_bias: bool = False) -> None:
        super().__init__()
        self.relu_on_branch = relu_on_branch
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=conv_bias)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x: autograd.Tensor) -> autograd.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.relu_on_branch:
            out = F.relu(out)
        return F.relu(out + x)


def small_cnn(relu_on_branch: bool = False, conv_bias: bool = False, dropout: bool = False) -> nn.Module:
    layers = [nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
              Block(relu_on_branch, conv_bias), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [nn.Dropout(0.2)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(4, 4))


def mlp(depth: int, activation: type, init_std: float | None = None, width: int = 16, he: bool = False) -> nn.Module:
    layers = []
    for _ in range(depth):
        layer = nn.Linear(width, width)
        if init_std is not None:
            nn.init.normal_(layer.weight, std=init_std)
        if he:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        layers += [layer, activation()]
    return nn.Sequential(*layers, nn.Linear(width, 4))


def dead_mlp(dead: bool) -> nn.Module:
    model = mlp(1, nn.ReLU)
    if dead:
        nn.init.constant_(model[0].bias, -20.0)
    return model


class NonFinite(nn.Module):
    """``where="forward"``: log of a negative number; ``"backward"``: sqrt at 0 (finite forward, inf gradient)."""

    def __init__(self, where: str = "") -> None:
        super().__init__()
        self.where = where
        self.fc = nn.Linear(16, 4)

    def forward(self, x: autograd.Tensor) -> autograd.Tensor:
        logits = self.fc(x)
        if self.where == "forward":
            return (logits - 100.0).log()
        if self.where == "backward":
            return logits + (logits * 0.0).sqrt()
        return logits


def eval_bn() -> nn.Module:
    model = small_cnn()
    model[1].eval()
    return model


def bce_sigmoid(broken: bool):
    model = nn.Linear(16, 4)
    targets = autograd.tensor((np.arange(BATCH * 4).reshape(BATCH, 4) % 2).astype(np.float32))

    def loss(logits):
        return F.binary_cross_entropy_with_logits(logits.sigmoid() if broken else logits, targets)

    return model, loss


def lint_case(case: str, broken: bool) -> viz.LintReport:
    """Build the model of ``case`` with its mistake (``broken``) or without, and lint it."""
    autograd.manual_seed(0)
    if case in ("unused-parameter", "unused-module", "detach", "data", "numpy", "log_softmax", "softmax",
                "relu-logits"):
        return viz.lint(Head(case if broken else ""), features(), cross_entropy)
    if case == "sigmoid-bce":
        model, loss = bce_sigmoid(broken)
        return viz.lint(model, features(), loss)
    if case == "relu-before-residual":
        return viz.lint(small_cnn(relu_on_branch=broken), images(), cross_entropy)
    if case == "bias-before-norm":
        return viz.lint(small_cnn(conv_bias=broken), images(), cross_entropy)
    if case == "eval-mode-in-training":
        return viz.lint(eval_bn() if broken else small_cnn(), images(), cross_entropy)
    if case == "train-mode-in-evaluation":
        model = small_cnn(dropout=True)
        return viz.lint(model if broken else model.eval(), images(), training=False)
    if case == "dtype-mismatch":
        return viz.lint(small_cnn(), images(dtype=np.float64 if broken else np.float32), cross_entropy)
    if case == "activation-scale":
        return viz.lint(mlp(3, nn.Tanh, init_std=1.0 if broken else None), features(), cross_entropy)
    if case == "saturated-units":
        return viz.lint(mlp(1, nn.Tanh, init_std=3.0 if broken else None), features() * 4.0, cross_entropy)
    if case == "dead-relu":
        return viz.lint(dead_mlp(broken), features(), cross_entropy)
    if case == "gradient-depth":
        return viz.lint(mlp(12, nn.Sigmoid) if broken else mlp(12, nn.ReLU, he=True), features(), cross_entropy)
    if case in ("non-finite-forward", "non-finite-backward"):
        return viz.lint(NonFinite(case.rpartition("-")[2] if broken else ""), features(), cross_entropy)
    raise AssertionError(case)


CASES = [  # (case, the rule it plants, the module and op the finding names)
    ("unused-parameter", "unused-parameter", "", ""),
    ("unused-module", "unused-module", "aux", ""),
    ("detach", "detached-branch", "fc2", "Matmul"),
    ("data", "detached-branch", "fc2", "Matmul"),
    ("numpy", "detached-branch", "fc2", "Matmul"),
    ("log_softmax", "softmax-before-loss", "", "LogSoftmax"),
    ("softmax", "softmax-before-loss", "", "Softmax"),
    ("sigmoid-bce", "softmax-before-loss", "", "Sigmoid"),
    ("relu-logits", "clipped-logits", "", "Relu"),
    ("relu-before-residual", "relu-before-residual", "3", "Relu"),
    ("eval-mode-in-training", "eval-mode-in-training", "1", ""),
    ("train-mode-in-evaluation", "train-mode-in-evaluation", "1", ""),
    ("dtype-mismatch", "dtype-mismatch", "0", ""),
    ("bias-before-norm", "bias-before-norm", "3.conv1", "Conv2d"),
    ("activation-scale", "activation-scale", "0", ""),
    ("saturated-units", "saturated-units", "1", "Tanh"),
    ("dead-relu", "dead-relu", "1", "Relu"),
    ("gradient-depth", "gradient-depth", "0", ""),
    ("non-finite-forward", "non-finite", "", "Log"),
    ("non-finite-backward", "non-finite", "", "Sqrt"),
]


@pytest.mark.parametrize("case, rule, module, op", CASES, ids=[case for case, *_ in CASES])
def test_each_rule_names_the_planted_mistake(case, rule, module, op):
    report = lint_case(case, broken=True)
    found = [finding for finding in report if finding.rule == rule]
    assert found, f"{rule} not found:\n{report}"
    assert (found[0].module, found[0].op) == (module, op), str(report)
    assert found[0].severity == viz.LINT_RULES[rule].severity and found[0].why and found[0].fix


@pytest.mark.parametrize("case, rule", [(case, rule) for case, rule, *_ in CASES], ids=[case for case, *_ in CASES])
def test_each_rule_is_quiet_on_the_fixed_model(case, rule):
    report = lint_case(case, broken=False)
    assert report.clean, str(report)


def test_a_detach_names_the_module_cut_off_and_does_not_report_its_consequences_again():
    report = lint_case("detach", broken=True)
    assert report.rules() == {"detached-branch"}, str(report)
    (finding,) = report.findings
    assert "reads the output of Relu, cut from autograd" in finding.message
    assert "2 parameters before it get no gradient" in finding.message  # fc1's, not reported as unused


def test_a_mask_computed_from_the_batch_is_not_a_cut():
    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            return self.fc(x) * (x[:, :4] > 0).float()  # a comparison has no gradient, in PyTorch too

    report = viz.lint(Masked(), features(), cross_entropy)
    assert report.clean, str(report)


def test_a_model_whose_output_is_cut_whole_is_an_error():
    report = viz.lint(_Detached(), features(), cross_entropy)
    assert report.rules() == {"detached-branch"} and report.findings[0].op == "output"
    with pytest.raises(RuntimeError, match="no graph to draw"):
        report.draw()


class _Detached(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(x).detach()


def test_non_finite_names_the_line_that_created_the_op():
    finding = next(iter(lint_case("non-finite-forward", broken=True)))
    assert "test_lint.py:" in finding.message and finding.node_id is not None


def test_the_activation_scale_table_reports_every_weight_layer():
    report = lint_case("activation-scale", broken=True)
    assert [layer.module for layer in report.layers] == ["0", "2", "4", "6"]
    first = report.layers[0]
    assert first.gain > 2 * first.expected[1]  # std 1 weights on 16 inputs: gain about 4
    np.testing.assert_allclose(first.gain, first.rms_out / first.rms_in)


def test_an_embedding_is_a_lookup_not_a_layer_that_scales_its_input():
    class Bag(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(50, 16)
            self.fc = nn.Linear(16, 4)

        def forward(self, indices):
            return self.fc(self.embedding(indices).mean(1))

    autograd.manual_seed(0)
    report = viz.lint(Bag(), autograd.tensor(np.random.default_rng(0).integers(0, 50, size=(BATCH, 5))))
    assert report.clean, str(report)
    assert [layer.module for layer in report.layers] == ["fc"]


# ResNet-50 and ResNet-56 take seconds each; `gradlab lint --all` lints them clean too.
@pytest.mark.parametrize("name", sorted(set(MODELS) - {"resnet50", "resnet56"}))
def test_the_built_in_models_lint_clean(name):
    spec = MODELS[name]
    autograd.manual_seed(0)
    model = spec.build(10, spec.input_shape[0])
    report = viz.lint(model, autograd.randn(4, *spec.input_shape))
    assert report.clean, str(report)


def test_lint_leaves_parameters_grads_and_running_statistics_as_they_were():
    model = small_cnn(relu_on_branch=True)
    state = {name: tensor.data.copy() for name, tensor in model.state_dict().items()}
    report = viz.lint(model, images(), cross_entropy)
    assert all(param.grad is None for param in model.parameters())
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(tensor.data, state[name], err_msg=name)
    model[1].running_mean.data[:] = 3.0  # trained since: drawing the report later keeps what is there now
    report.draw()
    np.testing.assert_array_equal(model[1].running_mean.data, 3.0)


def test_the_report_prints_as_a_table_with_why_and_fix():
    text = str(lint_case("log_softmax", broken=True))
    lines = text.splitlines()
    assert lines[0] == "lint: 1 finding (1 error, 0 warnings)"
    assert lines[1].split() == ["severity", "rule", "module", "op", "found"]
    assert lines[2].split()[:4] == ["error", "softmax-before-loss", "(model)", "LogSoftmax"]
    assert lines[-2].startswith("softmax-before-loss: cross_entropy applies log_softmax itself")
    assert lines[-1].strip().startswith("fix: pass the raw logits")
    assert str(lint_case("log_softmax", broken=False)) == "lint: clean (0 findings)"


def test_findings_are_drawn_as_badges_on_the_graph():
    report = lint_case("relu-before-residual", broken=True)
    node_id = report.findings[0].node_id
    full = report.draw(depth=None)
    (badged,) = [node for node in full.graph.nodes if node.badges]
    assert badged.id == node_id and badged.name == "Relu" and "lint: relu-before-residual" in full.source
    collapsed = report.draw(depth=0)  # the ReLU is inside module 3, drawn as one node
    (module_node,) = [node for node in collapsed.graph.nodes if node.badges]
    assert module_node.kind == "module" and module_node.name == "3"


def test_findings_off_the_graph_are_listed_in_its_label():
    dot = lint_case("unused-parameter", broken=True).draw()
    assert "lint, not on the graph" in dot.source and "scale never reaches the loss" in dot.source


def test_gradlab_lint_exits_0_on_a_clean_model_and_draws_it(capsys, tmp_path):
    out = tmp_path / "lint.svg"
    assert main(["lint", "--model", "resnet_digits", "--draw", str(out), "--depth", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "resnet_digits: lint: clean (0 findings)"
    assert out.read_text().startswith("<?xml")


def test_gradlab_lint_draw_takes_its_format_from_the_suffix_as_graph_out_does(capsys, tmp_path):
    assert main(["lint", "--model", "mlp", "--draw", str(tmp_path / "plain")]) == 0
    assert (tmp_path / "plain.svg").read_text().startswith("<?xml")
    for wrong in (["--model", "mlp", "--draw", str(tmp_path / "lint.jpg")],
                  ["--all", "--draw", str(tmp_path / "all.svg")]):
        with pytest.raises(SystemExit) as exit:
            main(["lint", *wrong])
        assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "--draw " in err and "the suffix .jpg is not one of .svg, .png, .pdf" in err and "--format" not in err
    assert "give --model instead of --all" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plain.svg"]


def test_gradlab_lint_exits_1_when_it_finds_something(capsys, monkeypatch):
    from gradlab import lint_command
    from gradlab.arguments import ModelSpec

    monkeypatch.setitem(lint_command.MODELS, "mlp", ModelSpec(lambda classes, channels: nn.Sequential(
        nn.Flatten(), nn.Linear(64, classes), nn.Softmax(dim=1)), (1, 8, 8), "softmax before the loss"))
    assert main(["lint", "--model", "mlp"]) == 1
    assert "softmax-before-loss" in capsys.readouterr().out
