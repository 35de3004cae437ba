"""nn.utils: gradient clipping, parameter vectors and the model summary (with hand-counted multiplies)."""

import math

import numpy as np
import pytest

import autograd
import nn
from nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, summary, vector_to_parameters


def _with_grads(*grads):
    params = []
    for grad in grads:
        p = nn.Parameter(np.zeros(len(grad), np.float32))
        p.grad = autograd.tensor(grad)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_by_one_factor():
    params = _with_grads([3.0, 4.0], [12.0])  # joint L2 norm 13
    total = clip_grad_norm_(params, max_norm=6.5)
    assert isinstance(total, autograd.Tensor) and float(total) == pytest.approx(13.0)
    factor = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.data, [3 * factor, 4 * factor], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.data, [12 * factor], rtol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    params = _with_grads([3.0, 4.0]) + [nn.Parameter(np.zeros(2, np.float32))]
    assert float(clip_grad_norm_(params, max_norm=10.0)) == pytest.approx(5.0)
    np.testing.assert_array_equal(params[0].grad.data, [3.0, 4.0])
    assert params[1].grad is None
    assert float(clip_grad_norm_([params[1]], 1.0)) == 0.0


def test_clip_grad_norm_of_a_nan_gradient_makes_every_gradient_nan_like_pytorch():
    params = _with_grads([float("nan"), 1.0], [2.0])
    assert math.isnan(float(clip_grad_norm_(params, max_norm=1.0)))
    assert np.isnan(params[1].grad.data).all()


@pytest.mark.parametrize("norm_type, expected", [(1.0, 19.0), (math.inf, 12.0), (3.0, (27 + 64 + 1728) ** (1 / 3))])
def test_clip_grad_norm_other_norms(norm_type, expected):
    params = _with_grads([3.0, -4.0], [12.0])
    assert float(clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)) == pytest.approx(expected, rel=1e-6)
    total_after = np.concatenate([p.grad.data for p in params])
    if math.isinf(norm_type):
        assert np.abs(total_after).max() == pytest.approx(1.0, rel=1e-5)
    else:
        assert np.sum(np.abs(total_after) ** norm_type) ** (1 / norm_type) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [np.random.default_rng(0).standard_normal(shape).astype(np.float32) for shape in [(3, 4), (5,)]]
    ours = _with_grads(*[g.ravel() for g in grads])
    theirs = [torch.zeros(g.size, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g.ravel())
    assert float(clip_grad_norm_(ours, 0.5)) == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, 0.5)))
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-6)


def test_clip_grad_value_clamps_in_place():
    (p,) = _with_grads([-3.0, 0.5, 2.0])
    grad = p.grad
    clip_grad_value_(p, 1.0)
    assert p.grad is grad and p.grad.data.tolist() == [-1.0, 0.5, 1.0] and p.grad.dtype == np.float32


def test_parameters_to_vector_and_back():
    layer = nn.Linear(3, 2)
    vector = parameters_to_vector(layer.parameters())
    assert vector.shape == (8,)
    np.testing.assert_array_equal(vector.data, np.concatenate([layer.weight.data.ravel(), layer.bias.data]))
    # differentiable: d/dp sum(v^2) = 2 p
    (vector * vector).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, 2 * layer.weight.data)
    weight = layer.weight
    vector_to_parameters(autograd.arange(8.0), layer.parameters())
    assert layer.weight is weight
    np.testing.assert_array_equal(layer.weight.data, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(layer.bias.data, [6, 7])
    with pytest.raises(ValueError, match="1-d vector of 8 elements"):
        vector_to_parameters(autograd.zeros(9), layer.parameters())


def test_summary_lists_every_call_with_shapes_parameters_and_totals():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 10))
    model[1].requires_grad_(False)
    report = summary(model, (2, 1, 8, 8))
    assert [(row.name, row.type, row.depth) for row in report.rows] == [
        ("", "Sequential", 0), ("0", "Conv2d", 1), ("1", "BatchNorm2d", 1), ("2", "ReLU", 1),
        ("3", "MaxPool2d", 1), ("4", "Flatten", 1), ("5", "Linear", 1)]
    assert [row.output_shape for row in report.rows] == [
        (2, 10), (2, 4, 8, 8), (2, 4, 8, 8), (2, 4, 8, 8), (2, 4, 4, 4), (2, 64), (2, 10)]
    assert [row.params for row in report.rows] == [0, 40, 8, 0, 0, 0, 650]
    assert report.total_params == 698 and report.trainable_params == 690
    # conv: 2*4*8*8 outputs x 9 taps; linear: 2*10 outputs x 64 inputs
    assert report.rows[1].mult_adds == 2 * 4 * 64 * 9 and report.rows[6].mult_adds == 2 * 10 * 64
    text = str(report)
    assert "Layer (type)" in text and "5 (Linear)" in text and "[2, 4, 8, 8]" in text
    assert "Total params: 698" in text and "Non-trainable params: 8" in text
    assert repr(report) == text


def test_summary_restores_the_mode_and_removes_its_hooks():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout())
    summary(model, (1, 3))
    assert model.training and model[1].training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_inception_bottleneck_cost_example():
    # A 5x5 conv from 28x28x192 to 32 channels: every one of the 28*28*32 outputs needs 5*5*192 multiplies.
    direct = summary(nn.Conv2d(192, 32, 5, padding=2), (1, 192, 28, 28))
    assert direct.total_mult_adds == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    # A 1x1 bottleneck to 16 channels first: 28*28*16*192 + 28*28*32*5*5*16 multiplies, about a tenth.
    bottleneck = summary(nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2)), (1, 192, 28, 28))
    assert bottleneck.total_mult_adds == 2_408_448 + 10_035_200 == 12_443_648


def test_transposed_conv_multiplies_count_each_input_element_once_per_weight_it_meets():
    report = summary(nn.ConvTranspose2d(3, 5, 2, stride=2), (1, 3, 4, 4))
    assert report.rows[0].output_shape == (1, 5, 8, 8)
    # stride 2 with a 2x2 kernel: the windows do not overlap, so each output gets one product per input channel
    assert report.total_mult_adds == 3 * 4 * 4 * 5 * 2 * 2 == 5 * 8 * 8 * 3
