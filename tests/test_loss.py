"""Losses: cross_entropy, nll_loss, mse/l1/smooth_l1/huber, binary cross-entropy (probabilities and
logits), one_hot. Values against hand computations and numpy float64 references of PyTorch's
documented formulas, gradients, extreme inputs and error messages."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn.functional as F
from autograd import Tensor


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def reference_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's documented formula, written out with numpy in float64."""
    classes = x.shape[1]
    log_p = log_softmax(x)
    w = np.ones(classes) if weight is None else weight
    w_b = w.reshape((1, classes) + (1,) * (x.ndim - 2))
    if target.dtype.kind == "f":
        q = target * (1 - label_smoothing) + label_smoothing / classes
        items = -(q * w_b * log_p).sum(axis=1)
        denominator = x.size / classes
    else:
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        picked = np.take_along_axis(log_p, safe[:, None], axis=1)[:, 0]
        item_weight = w[safe] * valid
        nll = -item_weight * picked
        smooth = -(w_b * log_p).sum(axis=1) * valid
        items = (1 - label_smoothing) * nll + label_smoothing / classes * smooth
        denominator = item_weight.sum()
    if reduction == "none":
        return items
    return items.sum() if reduction == "sum" else items.sum() / denominator


def test_cross_entropy_by_hand():
    x = Tensor(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), requires_grad=True)
    loss = F.cross_entropy(x, Tensor(np.array([2, 0])))
    expected = (math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3 + math.log(3)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    loss.backward()
    softmax = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, (softmax - np.eye(3)[[2, 0]]) / 2, rtol=1e-14)


CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(weight=True),
    dict(weight=True, reduction="none"),
    dict(ignore_index=1),
    dict(ignore_index=1, weight=True, reduction="sum"),
    dict(label_smoothing=0.25),
    dict(label_smoothing=0.25, weight=True, ignore_index=1),
    dict(label_smoothing=0.25, weight=True, ignore_index=1, reduction="none"),
]


def case_id(case):
    return " ".join(f"{k}={v}" for k, v in case.items()) or "default"


# ignore_index applies to class indices only
KIND_CASES = [("indices", case) for case in CASES] + [("probabilities", case) for case in CASES
                                                      if "ignore_index" not in case]


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 2)])
@pytest.mark.parametrize("kind, case", KIND_CASES, ids=[f"{kind} {case_id(case)}" for kind, case in KIND_CASES])
def test_cross_entropy_matches_reference(kind, shape, case):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, shape)
    if kind == "indices":
        target = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    else:
        target = rng.uniform(0, 1, shape)
        target /= target.sum(1, keepdims=True)
    kwargs = dict(case)
    weight = rng.uniform(0.5, 2, shape[1]) if kwargs.pop("weight", False) else None
    ours = F.cross_entropy(Tensor(x), Tensor(target), None if weight is None else Tensor(weight), **kwargs)
    np.testing.assert_allclose(ours.data, reference_cross_entropy(x, target, weight, **kwargs), rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cross_entropy_gradcheck_and_gradgradcheck(case):
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(2, 3, 2)), requires_grad=True)
    target = Tensor(np.array([[0, 1], [2, 1]]))
    kwargs = dict(case)
    weight = Tensor(rng.uniform(0.5, 2, 3)) if kwargs.pop("weight", False) else None

    def function(a):
        return F.cross_entropy(a, target, weight, **kwargs)

    assert autograd.gradcheck(function, (x,))
    assert autograd.gradgradcheck(function, (x,))


def test_cross_entropy_probability_target_receives_gradient():
    rng = np.random.default_rng(2)
    x = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    target = Tensor(rng.uniform(0, 1, (3, 4)), requires_grad=True)
    weight = Tensor(rng.uniform(0.5, 2, 4))

    def function(a, b):
        return F.cross_entropy(a, b, weight, label_smoothing=0.1, reduction="none")

    assert autograd.gradcheck(function, (x, target))
    assert autograd.gradgradcheck(function, (x, target))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_huge_logits_are_exact(dtype):
    x = Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3e4, 3e4, -3e4]], dtype=dtype), requires_grad=True)
    loss = F.cross_entropy(x, Tensor(np.array([1, 2, 0])), reduction="none")
    # float64 math: logsumexp(x_i) - x_i[t] with the max factored out
    np.testing.assert_allclose(loss.data, [2e4, 5e3, math.log(2)], rtol=1e-6 if dtype == np.float32 else 1e-15)
    loss.sum().backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data, [[1, -1, 0], [0, 1, -1], [-0.5, 0.5, 0]], atol=1e-7)


def test_cross_entropy_label_smoothing_of_huge_logits_is_finite():
    x = Tensor(np.array([[1e4, -1e4, 0.0]], dtype=np.float32))
    loss = F.cross_entropy(x, Tensor(np.array([0])), label_smoothing=0.3)
    # (0.3 / 3) * (0 + 2e4 + 1e4): the smoothed classes pay their distance to the max
    assert loss.item() == pytest.approx(0.1 * 3e4, rel=1e-6)


def test_all_targets_ignored_gives_nan_like_pytorch():
    loss = F.cross_entropy(Tensor(np.zeros((2, 3))), Tensor(np.array([-100, -100])))
    assert np.isnan(loss.item())


def test_unbatched_input():
    x = np.array([0.5, -1.0, 2.0])
    loss = F.cross_entropy(Tensor(x), Tensor(np.array(2)))
    assert loss.item() == pytest.approx(-log_softmax(x[None])[0, 2])
    assert F.cross_entropy(Tensor(x), Tensor(np.array(2)), reduction="none").shape == ()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
       reduction=st.sampled_from(["none", "mean", "sum"]), smoothing=st.sampled_from([0.0, 0.4]),
       seed=st.integers(0, 1000))
def test_cross_entropy_random_shapes(n, c, extra, reduction, smoothing, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (n, c, *extra))
    target = rng.integers(0, c, (n, *extra))
    ours = F.cross_entropy(Tensor(x), Tensor(target), reduction=reduction, label_smoothing=smoothing).data
    expected = reference_cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_cross_entropy_errors():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="target class index 3 is out of range for 3 classes"):
        F.cross_entropy(x, Tensor(np.array([0, 3])))
    with pytest.raises(ValueError, match="target class index -1 is out of range"):
        F.cross_entropy(x, Tensor(np.array([-1, 0])))
    with pytest.raises(ValueError, match=r"expected a target of shape \(2,\) for an input of shape \(2, 3\), "
                                         r"got \(3,\)"):
        F.cross_entropy(x, Tensor(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=r"target shape \(2, 4\) does not match input shape \(2, 3\)"):
        F.cross_entropy(x, Tensor(np.zeros((2, 4))))
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        F.cross_entropy(x, Tensor(np.array([0, 1])), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0 and 1, got 1.5"):
        F.cross_entropy(x, Tensor(np.array([0, 1])), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.cross_entropy(x, Tensor(np.array([0, 1])), Tensor(np.ones(2)))
    with pytest.raises(ValueError, match="0-d"):
        F.cross_entropy(Tensor(np.array(1.0)), Tensor(np.array(0)))


def test_nll_loss_picks_weighted_log_probabilities():
    log_p = np.log(np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]))
    weight = np.array([1.0, 3.0])
    target = np.array([1, 0, -100])
    loss = F.nll_loss(Tensor(log_p), Tensor(target), Tensor(weight))
    expected = -(3 * math.log(0.8) + 1 * math.log(0.6)) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    none = F.nll_loss(Tensor(log_p), Tensor(target), Tensor(weight), reduction="none").data
    np.testing.assert_allclose(none, [-3 * math.log(0.8), -math.log(0.6), 0.0])


def test_nll_loss_after_log_softmax_equals_cross_entropy():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(3, 4, 2)), requires_grad=True)
    target = Tensor(rng.integers(0, 4, (3, 2)))
    weight = Tensor(rng.uniform(0.5, 2, 4))
    a = F.nll_loss(F.log_softmax(x, 1), target, weight, ignore_index=2)
    b = F.cross_entropy(x, target, weight, ignore_index=2)
    assert a.item() == pytest.approx(b.item(), rel=1e-13)
    assert autograd.gradgradcheck(lambda t: F.nll_loss(t, target, weight, reduction="sum"), (x,))


def test_nll_loss_errors():
    with pytest.raises(ValueError, match="nll_loss: target class index 5 is out of range for 2 classes"):
        F.nll_loss(Tensor(np.zeros((1, 2))), Tensor(np.array([5])))
    with pytest.raises(ValueError, match="class-index targets must be integers"):
        F.nll_loss(Tensor(np.zeros((1, 2))), Tensor(np.array([0.5])))


def test_regression_losses_match_numpy():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    d = x - y
    a = np.abs(d)
    assert F.mse_loss(Tensor(x), Tensor(y)).item() == pytest.approx(np.mean(d ** 2))
    assert F.l1_loss(Tensor(x), Tensor(y), reduction="sum").item() == pytest.approx(a.sum())
    np.testing.assert_allclose(F.smooth_l1_loss(Tensor(x), Tensor(y), reduction="none", beta=0.5).data,
                               np.where(a < 0.5, 0.5 * d ** 2 / 0.5, a - 0.25))
    np.testing.assert_allclose(F.smooth_l1_loss(Tensor(x), Tensor(y), reduction="none", beta=0.0).data, a)
    np.testing.assert_allclose(F.huber_loss(Tensor(x), Tensor(y), "none", 0.5).data,
                               np.where(a < 0.5, 0.5 * d ** 2, 0.5 * (a - 0.25)))


def test_regression_loss_gradients():
    rng = np.random.default_rng(5)
    x = Tensor(rng.uniform(-2, 2, (2, 3)), requires_grad=True)
    y = Tensor(x.data + np.array([[0.3, -1.2, 0.8], [-0.1, 2.0, -0.6]]), requires_grad=True)
    for function in (F.mse_loss, F.l1_loss, lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
                     lambda a, b: F.huber_loss(a, b, delta=0.5)):
        assert autograd.gradcheck(function, (x, y))
        assert autograd.gradgradcheck(function, (x, y))


def test_regression_loss_errors():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3,\) does not match input shape \(2,\)"):
        F.mse_loss(Tensor(np.zeros(2)), Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), beta=-1.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), delta=0.0)
    with pytest.raises(ValueError, match="l1_loss: reduction"):
        F.l1_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), reduction="max")


def test_binary_cross_entropy_values_and_clamp():
    p = np.array([0.2, 0.9, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    x = Tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(x, Tensor(t), reduction="none")
    np.testing.assert_allclose(loss.data, [-math.log(0.2), -math.log(0.1), 0.0, 0.0], rtol=1e-14)
    # a confident wrong answer costs 100 (the clamped log), not inf
    assert F.binary_cross_entropy(Tensor(np.array([0.0])), Tensor(np.array([1.0]))).item() == 100.0
    loss.sum().backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data[:2], [(0.2 - 1) / (0.2 * 0.8), 0.9 / (0.9 * 0.1)], rtol=1e-12)


def test_binary_cross_entropy_weight_and_errors():
    p, t, w = np.array([[0.3, 0.6]]), np.array([[1.0, 0.0]]), np.array([2.0, 0.5])
    loss = F.binary_cross_entropy(Tensor(p), Tensor(t), Tensor(w), reduction="sum")
    assert loss.item() == pytest.approx(-2 * math.log(0.3) - 0.5 * math.log(0.4))
    with pytest.raises(ValueError, match="input values must be between 0 and 1, got values from -0.5 to 0.5"):
        F.binary_cross_entropy(Tensor(np.array([-0.5, 0.5])), Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not match input shape \(2,\)"):
        F.binary_cross_entropy(Tensor(np.array([0.5, 0.5])), Tensor(np.zeros(3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_for_extreme_logits(dtype):
    x = np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 40.0, 1e4], dtype=dtype)
    t = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0], dtype=dtype)
    xt = Tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(xt, Tensor(t), reduction="none")
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    expected = np.maximum(x64, 0) - x64 * t64 + np.log1p(np.exp(-np.abs(x64)))
    np.testing.assert_allclose(loss.data, expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    loss.sum().backward()
    np.testing.assert_allclose(xt.grad.data, 0.5 * (1 + np.tanh(x64 / 2)) - t64, atol=1e-7)  # sigmoid(x) - t


def test_bce_with_logits_pos_weight():
    x, t = np.array([[0.3, -1.2]]), np.array([[1.0, 0.0]])
    pos_weight = np.array([3.0, 2.0])
    loss = F.binary_cross_entropy_with_logits(Tensor(x), Tensor(t), pos_weight=Tensor(pos_weight), reduction="none")
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(loss.data, -(pos_weight * t * np.log(sig) + (1 - t) * np.log(1 - sig)), rtol=1e-14)
    xs = Tensor(x, requires_grad=True)
    pw = Tensor(pos_weight, requires_grad=True)
    ts = Tensor(np.array([[0.7, 0.2]]), requires_grad=True)

    def function(a, b, c):
        return F.binary_cross_entropy_with_logits(a, b, pos_weight=c)

    assert autograd.gradcheck(function, (xs, ts, pw))
    assert autograd.gradgradcheck(function, (xs, ts, pw))


def test_one_hot():
    out = F.one_hot(Tensor(np.array([[0, 2], [1, 0]])))
    assert out.dtype == np.int64 and out.shape == (2, 2, 3) and not out.requires_grad
    np.testing.assert_array_equal(out.data, [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [1, 0, 0]]])
    assert F.one_hot(Tensor(np.array([1])), num_classes=4).data.tolist() == [[0, 1, 0, 0]]
    with pytest.raises(ValueError, match=r"class values must be in \[0, 2\), got values from 0 to 3"):
        F.one_hot(Tensor(np.array([0, 3])), 2)
    with pytest.raises(ValueError, match="expected an integer tensor"):
        F.one_hot(Tensor(np.array([0.5])))


def test_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(6)
    x = rng.normal(0, 2, (4, 5, 3))
    target = rng.integers(0, 5, (4, 3))
    target[0, 0] = -100
    weight = rng.uniform(0.5, 2, 5)
    xt = Tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ours = F.cross_entropy(xt, Tensor(target), Tensor(weight), label_smoothing=0.2)
    theirs = tf.cross_entropy(tx, torch.tensor(target), torch.tensor(weight), label_smoothing=0.2)
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    p, t = rng.uniform(0.01, 0.99, 6), rng.uniform(0, 1, 6)
    assert F.binary_cross_entropy(Tensor(p), Tensor(t)).item() == pytest.approx(
        tf.binary_cross_entropy(torch.tensor(p), torch.tensor(t)).item(), rel=1e-12)
    logits = rng.normal(0, 5, (2, 3))
    labels = rng.uniform(0, 1, (2, 3))
    pos_weight = rng.uniform(0.5, 2, 3)
    assert F.binary_cross_entropy_with_logits(Tensor(logits), Tensor(labels), pos_weight=Tensor(pos_weight)).item() \
        == pytest.approx(tf.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(labels),
                                                             pos_weight=torch.tensor(pos_weight)).item(), rel=1e-12)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_all_targets_ignored_gives_a_zero_gradient_like_pytorch(label_smoothing):
    # The loss is 0 / 0 = nan, but no item contributes: the gradient must not be nan (it would poison the weights).
    x = Tensor(np.random.default_rng(7).normal(size=(2, 3, 2)), requires_grad=True)
    target = Tensor(np.full((2, 2), -100))
    loss = F.cross_entropy(x, target, label_smoothing=label_smoothing)
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.data, 0.0)
    y = Tensor(x.data, requires_grad=True)
    nll = F.nll_loss(y, target)
    nll.backward()
    assert np.isnan(nll.item())
    np.testing.assert_array_equal(y.grad.data, 0.0)


def test_ignore_index_is_rejected_with_probability_targets():
    with pytest.raises(ValueError, match=r"ignore_index \(0\) applies to class-index targets only"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), Tensor(np.full((2, 3), 1 / 3)), ignore_index=0)
