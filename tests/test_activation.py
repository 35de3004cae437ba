"""Activations: leaky_relu, elu, gelu (and the erfc behind it), silu, hardtanh, dropout, dropout2d."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
import nn.functional as F
from autograd import Tensor
from autograd.ops.activation import erfc_array


def test_leaky_relu_and_elu_values():
    x = Tensor(np.array([-2.0, -0.5, 0.0, 1.5]))
    np.testing.assert_allclose(F.leaky_relu(x).data, [-0.02, -0.005, 0.0, 1.5])
    np.testing.assert_allclose(F.leaky_relu(x, 0.2).data, [-0.4, -0.1, 0.0, 1.5])
    np.testing.assert_allclose(F.elu(x, alpha=2.0).data, [2 * math.expm1(-2.0), 2 * math.expm1(-0.5), 0.0, 1.5])


def test_leaky_relu_and_elu_gradients():
    x = Tensor(np.array([-2.0, -0.5, 1.5]), requires_grad=True)
    F.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.2, 0.2, 1.0])
    x.grad = None
    F.elu(x, alpha=2.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2 * math.exp(-2.0), 2 * math.exp(-0.5), 1.0])


@pytest.mark.parametrize("op", [F.relu, F.leaky_relu, F.elu], ids=["relu", "leaky_relu", "elu"])
def test_masks_are_freed_after_backward(op):
    # The sign mask goes through save_for_backward, not onto a ctx attribute, so backward frees it.
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    y = op(x)
    y.backward(Tensor(np.ones(2)))
    assert x.grad.data[1] == 1.0
    assert [name for name, value in vars(y.grad_fn).items() if isinstance(value, np.ndarray)] == []


def test_elu_of_large_inputs_stays_finite():
    x = Tensor(np.array([-1e4, 1e4], dtype=np.float32), requires_grad=True)
    out = F.elu(x)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [-1.0, 1e4])
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])


def test_erfc_matches_math_to_a_few_ulps():
    x = np.concatenate([np.linspace(-6, 27, 20001), [0.0, 0.46875, -0.46875, 4.0, -4.0, 1e-300, -1e-10]])
    reference = np.array([math.erfc(v) for v in x])
    # rtol for normal numbers; atol covers the subnormal tail beyond x = 26.5 where ulps are absolute.
    np.testing.assert_allclose(erfc_array(x), reference, rtol=2e-15, atol=1e-305)
    special = erfc_array(np.array([np.inf, -np.inf, 50.0, np.nan]))
    np.testing.assert_array_equal(special[:3], [0.0, 2.0, 0.0])
    assert np.isnan(special[3])


def test_erfc_keeps_float32():
    x = np.linspace(-5, 5, 101, dtype=np.float32)
    out = erfc_array(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [math.erfc(float(v)) for v in x], rtol=1e-6, atol=1e-7)


def test_gelu_exact_and_tanh_values():
    x = np.linspace(-6, 6, 61)
    exact = F.gelu(Tensor(x)).data
    np.testing.assert_allclose(exact, [0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x], rtol=1e-14, atol=1e-300)
    approx = F.gelu(Tensor(x), approximate="tanh").data
    np.testing.assert_allclose(approx, 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
                               rtol=1e-14)


def test_gelu_tail_keeps_relative_accuracy():
    # x * Phi(x) for very negative x is tiny but not zero; 1 + erf(x / sqrt 2) would round it to 0.
    x = -20.0
    expected = 0.5 * x * math.erfc(-x / math.sqrt(2))
    assert expected != 0
    assert F.gelu(Tensor(np.array([x]))).data[0] == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradients(approximate):
    x = Tensor(np.array([-9.0, -3.0, -0.7, 0.0, 0.4, 2.5, 9.0]), requires_grad=True)
    assert autograd.gradcheck(lambda a: F.gelu(a, approximate), (x,))
    assert autograd.gradgradcheck(lambda a: F.gelu(a, approximate), (x,))


def test_gelu_derivative_closed_form():
    x = Tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    F.gelu(x).sum().backward()
    expected = [0.5 * math.erfc(-v / math.sqrt(2)) + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
                for v in (-1.0, 0.5, 2.0)]
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-14)


def test_silu_and_hardtanh():
    x = np.array([-3.0, -0.5, 0.2, 4.0])
    np.testing.assert_allclose(F.silu(Tensor(x)).data, x / (1 + np.exp(-x)))
    np.testing.assert_allclose(F.hardtanh(Tensor(x)).data, [-1.0, -0.5, 0.2, 1.0])
    np.testing.assert_allclose(F.hardtanh(Tensor(x), -2.0, 3.0).data, [-2.0, -0.5, 0.2, 3.0])
    with pytest.raises(ValueError, match=r"min_val \(2.0\) must not exceed max_val \(1.0\)"):
        F.hardtanh(Tensor(x), 2.0, 1.0)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "silu"])
def test_gradgradcheck_off_the_kink(name):
    op = getattr(F, name)
    x = Tensor(np.array([[-1.3, -0.2, 0.3], [0.9, -2.1, 1.7]]), requires_grad=True)
    assert autograd.gradcheck(op, (x,))
    assert autograd.gradgradcheck(op, (x,))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(Tensor(np.zeros(2)), approximate="erf")


def test_dropout_scales_kept_values_and_masks_the_gradient():
    autograd.manual_seed(0)
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    out = F.dropout(x, p=0.3)
    kept = out.data != 0
    assert 0.65 < kept.mean() < 0.75
    np.testing.assert_allclose(out.data[kept], 1 / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, out.data)


def test_dropout_is_reproducible_with_manual_seed():
    x = Tensor(np.ones((4, 5)))
    autograd.manual_seed(3)
    first = F.dropout(x).data
    autograd.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x).data, first)


def test_dropout_edge_cases():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert F.dropout(x, training=False) is x
    assert F.dropout(x, p=0.0) is x
    np.testing.assert_array_equal(F.dropout(x, p=1.0).data, 0.0)
    assert F.dropout(Tensor(np.ones(3, np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(x, p=1.5)


def test_dropout2d_zeroes_whole_channels():
    autograd.manual_seed(1)
    x = Tensor(np.ones((8, 16, 3, 3)))
    out = F.dropout2d(x, p=0.5).data
    per_channel = out.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1
    unbatched = F.dropout2d(Tensor(np.ones((6, 2, 2))), p=0.5).data.reshape(6, -1)
    assert np.all((unbatched == 0).all(-1) | (unbatched == 2.0).all(-1))
    with pytest.raises(ValueError, match=r"3-d \(C, H, W\) or 4-d.*\(2, 3\)"):
        F.dropout2d(Tensor(np.ones((2, 3))))


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                  elements=st.floats(-50, 50, allow_nan=False)))
def test_activations_match_their_formulas(x):
    np.testing.assert_allclose(F.leaky_relu(Tensor(x), 0.1).data, np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(F.elu(Tensor(x)).data, np.where(x > 0, x, np.expm1(np.minimum(x, 0))))
    gelu = F.gelu(Tensor(x)).data
    assert np.all(np.isfinite(gelu)) and np.all(gelu >= -0.17)
    np.testing.assert_allclose(gelu[x > 10], x[x > 10])


def test_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(0, 3, (4, 5))
    t = torch.tensor(x)
    tf = torch.nn.functional
    pairs = [(F.leaky_relu(Tensor(x), 0.05), tf.leaky_relu(t, 0.05)), (F.elu(Tensor(x), 0.7), tf.elu(t, 0.7)),
             (F.gelu(Tensor(x)), tf.gelu(t)), (F.gelu(Tensor(x), "tanh"), tf.gelu(t, approximate="tanh")),
             (F.silu(Tensor(x)), tf.silu(t)), (F.hardtanh(Tensor(x)), tf.hardtanh(t))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-15)


def test_relu_under_no_grad_makes_no_mask(monkeypatch):
    # Nothing is recorded, so no mask is made: the forward is one pass, and its only allocation is the result.
    import tracemalloc

    from autograd.kernels import elementwise

    calls = []
    relu, relu_with_mask = elementwise.relu, elementwise.relu_with_mask
    monkeypatch.setattr(elementwise, "relu", lambda x: calls.append("relu") or relu(x))
    monkeypatch.setattr(elementwise, "relu_with_mask", lambda x: calls.append("mask") or relu_with_mask(x))
    x = Tensor(np.random.default_rng(0).standard_normal((64, 16, 32, 32)).astype(np.float32))
    tracemalloc.start()
    try:
        with autograd.no_grad():
            y = F.relu(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert calls == ["relu"] and y.grad_fn is None
    assert peak < y.data.nbytes * 1.05
    np.testing.assert_array_equal(y.data, np.maximum(x.data, 0))
    F.relu(Tensor(x.data, requires_grad=True))
    assert calls == ["relu", "mask"]


def test_relu_saves_one_bool_mask_and_its_gradient_is_differentiable():
    x = Tensor(np.array([[-1.0, 2.0, 0.5], [3.0, -0.25, -4.0]]), requires_grad=True)
    y = F.relu(x)
    assert [(array.shape, array.dtype) for array in y.grad_fn.saved_arrays()] == [((2, 3), np.dtype(bool))]
    g = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (dx,) = autograd.grad(y, x, g, create_graph=True)
    np.testing.assert_array_equal(dx.data, [[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
    # relu's gradient is linear in g: its gradient w.r.t. g is the same mask.
    (dg,) = autograd.grad(dx, g, Tensor(np.full((2, 3), 10.0)))
    np.testing.assert_array_equal(dg.data, [[0.0, 10.0, 10.0], [10.0, 0.0, 0.0]])


@pytest.mark.parametrize("shape", [(37, 8, 64, 64), (3, 7)])
def test_relu_on_helper_threads_gives_the_bits_of_one_chunk(shape, monkeypatch):
    from autograd.kernels import elementwise

    rng = np.random.default_rng(1)
    x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))

    def run():
        leaf = Tensor(x, requires_grad=True)
        out = F.relu(leaf)
        out.backward(Tensor(g))
        return out.data, leaf.grad.data

    chunked = run()
    np.testing.assert_array_equal(chunked[0], np.maximum(x, 0))
    np.testing.assert_array_equal(chunked[1], np.where(x > 0, g, 0))
    monkeypatch.setattr(elementwise, "SHARED_SWEEP_BYTES", 1 << 62)
    for a, b in zip(chunked, run()):
        np.testing.assert_array_equal(a, b)
