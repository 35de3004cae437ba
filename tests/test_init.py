"""nn.init: gains, fans, the distributions' bounds and moments, reproducibility, in-place semantics."""

import math

import numpy as np
import pytest

import autograd
import nn
from nn import init


@pytest.mark.parametrize("nonlinearity, param, expected", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
    ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)), ("selu", None, 0.75),
])
def test_calculate_gain(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected)


def test_calculate_gain_rejects_unknown_names_and_bad_slopes():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fan_in_and_fan_out_follow_pytorch():
    assert init._calculate_fan_in_and_fan_out(autograd.zeros(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(autograd.zeros(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(autograd.zeros(3))


def test_manual_seed_makes_init_reproducible():
    autograd.manual_seed(7)
    first = nn.Conv2d(3, 8, 3).weight.data.copy()
    autograd.manual_seed(7)
    np.testing.assert_array_equal(nn.Conv2d(3, 8, 3).weight.data, first)
    assert not np.array_equal(nn.Conv2d(3, 8, 3).weight.data, first)


def test_default_layer_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Conv2d(16, 64, 5)  # fan_in = 400
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
    # U(-b, b) has standard deviation b / sqrt(3) and reaches close to its bounds
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert np.abs(layer.weight.data).max() > 0.99 * bound


@pytest.mark.parametrize("mode, fan", [("fan_in", 64 * 9), ("fan_out", 128 * 9)])
def test_kaiming_normal_and_uniform_scale(mode, fan):
    weight = autograd.zeros(128, 64, 3, 3)
    init.kaiming_normal_(weight, mode=mode, nonlinearity="relu")
    assert weight.data.std() == pytest.approx(math.sqrt(2 / fan), rel=0.03)
    assert abs(weight.data.mean()) < 0.05 * math.sqrt(2 / fan)
    init.kaiming_uniform_(weight, mode=mode, nonlinearity="relu")
    bound = math.sqrt(6 / fan)
    assert np.abs(weight.data).max() <= bound and weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(weight, mode="fan_avg")


def test_xavier_scales():
    weight = autograd.zeros(300, 200)
    init.xavier_uniform_(weight, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(weight.data).max() <= bound
    init.xavier_normal_(weight)
    assert weight.data.std() == pytest.approx(math.sqrt(2 / 500), rel=0.03)


def test_uniform_normal_and_trunc_normal():
    t = autograd.zeros(100_000)
    init.uniform_(t, -3.0, 5.0)
    assert t.data.min() >= -3 and t.data.max() <= 5 and t.data.mean() == pytest.approx(1.0, abs=0.05)
    init.normal_(t, 2.0, 0.5)
    assert t.data.mean() == pytest.approx(2.0, abs=0.01) and t.data.std() == pytest.approx(0.5, rel=0.02)
    init.trunc_normal_(t, mean=0.0, std=1.0, a=-1.0, b=2.0)
    assert t.data.min() >= -1.0 and t.data.max() <= 2.0
    # mean of N(0, 1) truncated to [a, b] is (phi(a) - phi(b)) / (Phi(b) - Phi(a))
    density = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in (-1, 2)]
    mass = [0.5 * (1 + math.erf(x / math.sqrt(2))) for x in (-1, 2)]
    assert t.data.mean() == pytest.approx((density[0] - density[1]) / (mass[1] - mass[0]), abs=0.01)
    with pytest.raises(ValueError, match="lower bound"):
        init.trunc_normal_(t, a=1.0, b=1.0)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, 6.0, 7.0), (1.0, 2.0, -9.0, -6.0)])
def test_trunc_normal_far_in_a_tail_finishes_with_the_right_mean(mean, std, a, b):
    t = autograd.zeros(20_000)
    init.trunc_normal_(t, mean=mean, std=std, a=a, b=b)
    assert t.data.min() >= a - 1e-5 and t.data.max() <= b + 1e-5
    alpha, beta = (a - mean) / std, (b - mean) / std
    density = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in (alpha, beta)]
    mass = 0.5 * (math.erfc(-beta / math.sqrt(2)) - math.erfc(-alpha / math.sqrt(2)))
    expected = mean + std * (density[0] - density[1]) / mass
    assert t.data.mean() == pytest.approx(expected, abs=0.01 * std)


def test_kaiming_init_of_a_zero_element_tensor_warns_and_leaves_it():
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        layer = nn.Linear(0, 3)
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))


def test_constant_fills_and_eye():
    t = autograd.zeros(2, 3)
    assert init.constant_(t, 0.25) is t and np.all(t.data == 0.25)
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)
    np.testing.assert_array_equal(init.eye_(t).data, np.eye(2, 3))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(autograd.zeros(2, 2, 2))


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (4, 2, 3, 3)])
def test_orthogonal(shape):
    weight = autograd.zeros(*shape)
    init.orthogonal_(weight, gain=2.0)
    matrix = weight.data.reshape(shape[0], -1).astype(np.float64) / 2.0
    gram = matrix @ matrix.T if matrix.shape[0] <= matrix.shape[1] else matrix.T @ matrix
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)


def test_init_works_in_place_on_parameters_without_recording_a_graph():
    layer = nn.Linear(4, 3)
    weight, version = layer.weight, layer.weight._version[0]
    assert init.normal_(layer.weight) is weight
    assert weight.grad_fn is None and weight.requires_grad and weight._version[0] == version + 1
    assert weight.dtype == np.float32


def test_gains_match_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("tanh", None), ("relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
