"""autograd.gradcheck_graph: every op of a recorded graph re-checked against finite differences."""

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd.audit import record_inputs, recorded_inputs
from autograd.graph import walk_graph
from autograd.function import Function, node_observer
from squares import BrokenSquare, Square


class SmallCNN(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc = nn.Linear(6 * 2 * 2, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.scale.apply(F.max_pool2d(x, 2))
        return self.fc(F.relu(self.conv2(x)).flatten(1))


def small_cnn_loss(scale):
    model = SmallCNN(scale)
    x = autograd.randn(2, 1, 8, 8)
    y = autograd.tensor(np.array([0, 2]))
    return model, lambda: F.cross_entropy(model(x), y)


def test_a_broken_custom_function_inside_a_model_is_the_one_failure():
    model, loss_fn = small_cnn_loss(BrokenSquare)
    before = {name: parameter.data.copy() for name, parameter in model.named_parameters()}
    report = autograd.gradcheck_graph(loss_fn)
    [failure] = report.failures
    assert failure.op == "BrokenSquare" and failure.status == "FAIL"
    assert failure.input_shapes == ((2, 4, 4, 4),)
    assert not report.passed
    ops = {row.op for row in report}
    assert {"Conv2d", "BatchNorm", "MaxPool2d", "CrossEntropy", "BrokenSquare"} <= ops
    assert all(row.status == "pass" for row in report if row.op != "BrokenSquare")
    # The row's id names the same node as walk_graph (and viz) does.
    loss = _recorded(loss_fn)
    node = walk_graph([loss.grad_fn])[int(failure.node_id[1:])]
    assert type(node).__name__ == "BrokenSquare"
    # The audit worked on copies: the model is unchanged.
    assert all(np.array_equal(parameter.data, before[name]) for name, parameter in model.named_parameters())


def _recorded(loss_fn):
    with record_inputs():
        return loss_fn()


def test_a_correct_model_passes_and_prints_a_table():
    _, loss_fn = small_cnn_loss(Square)
    report = autograd.gradcheck_graph(loss_fn)
    assert report.passed and len(report) == len(report.rows) > 10
    table = str(report)
    assert table.splitlines()[0].split()[:3] == ["node", "op", "input"]
    assert f"{len(report)} passed, 0 failed, 0 skipped" in table
    assert any(row.fast for row in report) and any(not row.fast for row in report)
    # Max-pooling post-ReLU zeros has ties: checked a step away from them instead of failing.
    [pool] = [row for row in report if row.op == "MaxPool2d"]
    assert pool.status == "pass" and "kink" in pool.message


def test_fast_mode_still_finds_the_bug():
    x = autograd.randn(40, 30, requires_grad=True)
    report = autograd.gradcheck_graph(lambda: BrokenSquare.apply(x * 1.5).sum(), fast_threshold=100)
    assert [row.op for row in report.failures] == ["BrokenSquare"]
    assert all(row.fast for row in report if row.op in ("BrokenSquare", "Mul"))


def test_an_output_recorded_by_the_caller_works_and_an_unrecorded_one_is_refused():
    x = autograd.randn(3, 4, requires_grad=True)
    with record_inputs() as nodes:
        loss = (x.exp() * x).sum()
    assert [type(node).__name__ for node in nodes] == ["Exp", "Mul", "Sum"]
    assert recorded_inputs(nodes[0])[0][0] is x
    assert autograd.gradcheck_graph(loss).passed
    with pytest.raises(ValueError, match="record_inputs"):
        autograd.gradcheck_graph((x.exp() * x).sum())
    with pytest.raises(ValueError, match="grad_fn"):
        autograd.gradcheck_graph(autograd.randn(3))


def test_random_ops_are_checked_with_the_same_draws():
    class NoisyDouble(Function):
        """y = 2x + noise: the noise is drawn in forward, so re-runs must see the same draws."""

        @staticmethod
        def forward(ctx, x):
            return 2 * x.data + autograd.random.generator().standard_normal(x.shape)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = autograd.randn(5, dtype=autograd.float64, requires_grad=True)
    assert autograd.gradcheck_graph(lambda: NoisyDouble.apply(x).sum()).passed


def test_an_input_changed_in_place_after_the_op_is_skipped():
    x = autograd.randn(4, requires_grad=True)
    with record_inputs():
        hidden = x * 2
        y = hidden.exp()
        loss = y.sum()
    with autograd.no_grad():
        hidden.add_(1.0)
    rows = {row.op: row for row in autograd.gradcheck_graph(loss)}
    assert rows["Exp"].status == "skip" and "in place" in rows["Exp"].message
    assert rows["Mul"].status == "pass" and rows["Sum"].status == "pass"


def test_record_inputs_nests_and_restores_the_observer():
    x = autograd.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        with record_inputs() as outer:
            with record_inputs() as inner:
                x.exp()
            x.sin()
            raise RuntimeError("boom")
    assert len(inner) == 1 and len(outer) == 2
    assert node_observer.callback is None
    assert recorded_inputs(x.exp().grad_fn) is None


def test_a_double_backward_through_a_strided_conv_is_checked_against_its_inputs_alone():
    # Conv2d keeps its input's taps for the weight gradient; a recorded Conv2dWeightGrad must not use them, or the
    # audit's re-run on copies of x would see a weight gradient that ignores x.
    rng = np.random.default_rng(0)
    x, w = (autograd.tensor(rng.standard_normal(shape), requires_grad=True) for shape in ((2, 2, 8, 8), (3, 2, 3, 3)))

    def loss():
        y = F.conv2d(x, w, stride=2, padding=1)
        (grad_w,) = autograd.grad((y * y).sum(), [w], create_graph=True)
        return (grad_w * grad_w).sum()

    rows = {row.op: row for row in autograd.gradcheck_graph(loss)}
    assert rows["Conv2dWeightGrad"].status == "pass"
    assert all(row.status == "pass" for row in rows.values())
