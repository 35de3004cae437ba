"""float16: reductions, normalisation, average pooling and the losses add in float32 and round back, as PyTorch's CPU
kernels do. Each case is one where float16 running sums stop growing at 2048 or overflow past 65504; each is
compared with the same computation in float32, rounded to float16. Outputs and gradients stay float16.
"""

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor

HALF = np.float16
# The spacing of float16's subnormal numbers: the gradient of a mean over 10^5 values lives down there.
SUBNORMAL = 2.0 ** -24


def half_and_single(array):
    """The same values as a float16 leaf and as a float32 leaf, both requiring grad."""
    array = np.asarray(array, dtype=HALF)
    return Tensor(array.copy(), requires_grad=True), Tensor(array.astype(np.float32), requires_grad=True)


def assert_close_to_float32(ours, reference, rtol=2e-3, atol=0.0):
    """``ours`` is float16 and within float16 rounding (plus ``atol`` times the largest value) of the float32
    ``reference``."""
    assert ours.dtype == HALF
    expected = reference.data.astype(np.float32)
    np.testing.assert_allclose(ours.data.astype(np.float32), expected, rtol=rtol,
                               atol=max(atol * np.abs(expected).max(), 4 * SUBNORMAL))


def backward_both(half_out, single_out, half_inputs, single_inputs, seed=0):
    """Backpropagate the same float16 output gradient through both graphs; check every input gradient."""
    grad = np.random.default_rng(seed).normal(size=half_out.shape).astype(HALF)
    half_out.backward(Tensor(grad))
    single_out.backward(Tensor(grad.astype(np.float32)))
    for half, single in zip(half_inputs, single_inputs):
        assert half.grad.dtype == HALF
        assert_close_to_float32(half.grad, single.grad, rtol=1e-2, atol=2e-3)


# ----------------------------------------------------------------------------- reductions
def test_mean_of_100000_ones_is_one_and_its_gradient_stays_float16():
    x = Tensor(np.ones(100000, HALF), requires_grad=True)
    result = x.mean()
    assert result.dtype == HALF and result.item() == 1.0
    result.backward()
    assert x.grad.dtype == HALF
    assert (x.grad.data == HALF(1e-5)).all()


def test_sum_over_rows_keeps_counting_past_2048():
    ones = Tensor(np.ones((5000, 3), HALF))
    assert ones.sum(0).tolist() == [5000.0] * 3
    assert ones.sum().item() == 15000.0
    assert ones.sum(0).dtype == HALF


def test_var_and_std_of_200000_values():
    values = np.random.default_rng(0).normal(3.0, 2.0, 200000)
    half, single = half_and_single(values)
    assert_close_to_float32(half.var(), single.var())
    assert_close_to_float32(half.std(0, correction=0), single.std(0, correction=0))
    backward_both(half.var(), single.var(), [half], [single])


def test_logsumexp_softmax_and_log_softmax_sum_5000_logits_in_float32():
    logits = np.random.default_rng(1).uniform(-1, 1, (2, 5000))
    for op in (lambda t: t.logsumexp(1), lambda t: t.softmax(1), lambda t: t.log_softmax(1)):
        half, single = half_and_single(logits)
        assert_close_to_float32(op(half), op(single), atol=1e-3)
        backward_both(op(half), op(single), [half], [single])


# ----------------------------------------------------------------------------- normalization layers
@pytest.mark.parametrize("make, shape", [
    (lambda: nn.BatchNorm2d(3), (16, 3, 16, 16)),   # a channel of 4096 values around 20: its sums overflow
    (lambda: nn.BatchNorm1d(4), (5000, 4)),
    (lambda: nn.LayerNorm((8, 512)), (4, 8, 512)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 64, 64)),
])
def test_normalization_layers_match_float32(make, shape):
    values = np.random.default_rng(2).normal(20.0, 5.0, shape)
    half, single = half_and_single(values)
    half_layer, single_layer = make().to(HALF), make()
    half_out, single_out = half_layer(half), single_layer(single)
    assert np.isfinite(half_out.data).all()
    assert_close_to_float32(half_out, single_out, atol=2e-3)
    backward_both(half_out, single_out, [half], [single])
    for half_parameter, single_parameter in zip(half_layer.parameters(), single_layer.parameters()):
        assert_close_to_float32(half_parameter.grad, single_parameter.grad, rtol=1e-2, atol=2e-3)


def test_batch_norm_running_statistics_and_evaluation_in_float16():
    values = np.random.default_rng(3).normal(20.0, 5.0, (16, 3, 16, 16))
    half, single = half_and_single(values)
    half_layer, single_layer = nn.BatchNorm2d(3).to(HALF), nn.BatchNorm2d(3)
    half_layer(half), single_layer(single)
    assert_close_to_float32(half_layer.running_mean, single_layer.running_mean)
    assert_close_to_float32(half_layer.running_var, single_layer.running_var)
    half_layer.eval(), single_layer.eval()
    assert_close_to_float32(half_layer(half), single_layer(single), atol=2e-3)


def test_float16_weights_get_float16_gradients():
    half, single = half_and_single(np.random.default_rng(4).normal(20.0, 5.0, (8, 2, 32, 32)))
    weights = [half_and_single(np.random.default_rng(5).normal(1.0, 0.1, 2)) for _ in range(2)]
    half_out = F.batch_norm(half, None, None, weights[0][0], weights[1][0], training=True)
    single_out = F.batch_norm(single, None, None, weights[0][1], weights[1][1], training=True)
    assert_close_to_float32(half_out, single_out, atol=2e-3)
    backward_both(half_out, single_out, [half, weights[0][0], weights[1][0]], [single, weights[0][1], weights[1][1]])


# ----------------------------------------------------------------------------- pooling
def test_avg_pool_of_an_8x8_window_of_2000s():
    assert F.avg_pool2d(Tensor(np.full((1, 1, 16, 16), 2000, HALF)), 8).tolist() == [[[[2000.0] * 2] * 2]]


@pytest.mark.parametrize("pool", [
    lambda t: F.avg_pool2d(t, 8, stride=2, padding=3),
    lambda t: F.adaptive_avg_pool2d(t, 1),
])
def test_average_pools_match_float32(pool):
    half, single = half_and_single(np.random.default_rng(6).normal(2000.0, 100.0, (2, 2, 128, 128)))
    assert_close_to_float32(pool(half), pool(single))
    backward_both(pool(half), pool(single), [half], [single])


# ----------------------------------------------------------------------------- losses
def _class_indices(count, classes):
    return Tensor(np.random.default_rng(7).integers(0, classes, count))


@pytest.mark.parametrize("name, loss", [
    ("mse_loss", F.mse_loss),
    ("l1_loss", F.l1_loss),
    ("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5)),
    ("huber_loss", lambda x, t: F.huber_loss(x, t, delta=0.5)),
    ("binary_cross_entropy", F.binary_cross_entropy),
    ("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
])
def test_elementwise_losses_of_100000_items_match_float32(name, loss):
    rng = np.random.default_rng(8)
    size = 100000  # losses of about 1 each: their float16 sum overflows
    probabilities = name.startswith("binary")
    half, single = half_and_single(rng.uniform(0.02, 0.98, size) if probabilities else rng.normal(0.0, 3.0, size))
    target = (rng.uniform(0, 1, size) if probabilities else rng.normal(0.0, 3.0, size)).astype(HALF)
    half_loss, single_loss = loss(half, Tensor(target)), loss(single, Tensor(target.astype(np.float32)))
    assert_close_to_float32(half_loss, single_loss)
    backward_both(half_loss, single_loss, [half], [single])


@pytest.mark.parametrize("loss", [
    lambda x, t: F.cross_entropy(x, t),
    lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, weight=autograd.ones(3, dtype=HALF)),
    lambda x, t: F.nll_loss(x.log_softmax(1), t),
])
def test_class_index_losses_of_70000_items_match_float32(loss):
    half, single = half_and_single(np.random.default_rng(9).normal(0.0, 2.0, (70000, 3)))
    target = _class_indices(70000, 3)
    half_loss, single_loss = loss(half, target), loss(single, target)
    assert_close_to_float32(half_loss, single_loss)
    backward_both(half_loss, single_loss, [half], [single])


def test_cross_entropy_with_probability_targets_in_float16():
    rng = np.random.default_rng(10)
    half, single = half_and_single(rng.normal(0.0, 2.0, (70000, 3)))
    probabilities = rng.dirichlet(np.ones(3), 70000)
    half_target, single_target = half_and_single(probabilities)
    half_loss, single_loss = F.cross_entropy(half, half_target), F.cross_entropy(single, single_target)
    assert_close_to_float32(half_loss, single_loss)
    backward_both(half_loss, single_loss, [half, half_target], [single, single_target])
