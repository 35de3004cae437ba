"""Layers: output shapes, gradcheck of small float64 instances with every parameter included, the
batch-norm running statistics, the conv padding modes, and the loss modules."""

import math

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor

# (name, constructor, input shape, output shape)
LAYERS = [
    ("Linear", lambda: nn.Linear(3, 2), (4, 3), (4, 2)),
    ("Linear-3d-nobias", lambda: nn.Linear(3, 2, bias=False), (2, 2, 3), (2, 2, 2)),
    ("Conv1d", lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 7), (2, 3, 4)),
    ("Conv1d-reflect", lambda: nn.Conv1d(2, 2, 3, padding=2, padding_mode="reflect"), (1, 2, 5), (1, 2, 7)),
    ("Conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 4, 4), (2, 3, 4, 4)),
    ("Conv2d-strided", lambda: nn.Conv2d(2, 2, 3, stride=2, dilation=1, bias=False), (1, 2, 5, 5), (1, 2, 2, 2)),
    ("Conv2d-groups-dilation", lambda: nn.Conv2d(4, 2, 2, groups=2, dilation=2), (1, 4, 4, 4), (1, 2, 2, 2)),
    ("Conv2d-same", lambda: nn.Conv2d(1, 2, (2, 3), padding="same"), (1, 1, 4, 4), (1, 2, 4, 4)),
    ("Conv2d-reflect", lambda: nn.Conv2d(1, 2, 3, stride=2, padding=1, padding_mode="reflect"), (1, 1, 5, 5),
     (1, 2, 3, 3)),
    ("Conv2d-replicate", lambda: nn.Conv2d(1, 2, 3, padding=(1, 2), padding_mode="replicate"), (1, 1, 4, 4),
     (1, 2, 4, 6)),
    ("Conv2d-circular", lambda: nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), (1, 1, 4, 4), (1, 2, 4, 4)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1), (1, 2, 2, 2),
     (1, 3, 4, 4)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3), (4, 3), (4, 3)),
    ("BatchNorm1d-3d", lambda: nn.BatchNorm1d(2), (3, 2, 2), (3, 2, 2)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2), (3, 2, 2, 2), (3, 2, 2, 2)),
    ("BatchNorm2d-eval", lambda: _randomised(nn.BatchNorm2d(2)).eval(), (2, 2, 2, 2), (2, 2, 2, 2)),
    ("LayerNorm", lambda: _randomised(nn.LayerNorm(4)), (2, 3, 4), (2, 3, 4)),
    ("LayerNorm-2d", lambda: nn.LayerNorm((2, 3), bias=False), (2, 2, 3), (2, 2, 3)),
    ("GroupNorm", lambda: _randomised(nn.GroupNorm(2, 4)), (2, 4, 2, 2), (2, 4, 2, 2)),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), (1, 2, 4, 4), (1, 2, 2, 2)),
    ("MaxPool2d-padded", lambda: nn.MaxPool2d(3, stride=2, padding=1), (1, 1, 5, 5), (1, 1, 3, 3)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2, stride=1), (1, 2, 3, 3), (1, 2, 2, 2)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 7), (1, 2, 2, 3)),
    ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(2), (1, 2, 4, 5), (1, 2, 2, 2)),
    ("ReLU", lambda: nn.ReLU(), (2, 5), (2, 5)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), (2, 5), (2, 5)),
    ("ELU", lambda: nn.ELU(0.5), (2, 5), (2, 5)),
    ("GELU", lambda: nn.GELU(), (2, 5), (2, 5)),
    ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), (2, 5), (2, 5)),
    ("SiLU", lambda: nn.SiLU(), (2, 5), (2, 5)),
    ("Sigmoid", lambda: nn.Sigmoid(), (2, 5), (2, 5)),
    ("Tanh", lambda: nn.Tanh(), (2, 5), (2, 5)),
    ("Softmax", lambda: nn.Softmax(dim=1), (2, 5), (2, 5)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), (2, 5), (2, 5)),
    ("Flatten", lambda: nn.Flatten(), (2, 2, 3), (2, 6)),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), (2, 6), (2, 2, 3)),
    ("Identity", lambda: nn.Identity(54, unused=True), (2, 3), (2, 3)),
    ("Upsample", lambda: nn.Upsample(scale_factor=2), (1, 2, 2, 3), (1, 2, 4, 6)),
    ("Upsample-bilinear", lambda: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=False), (1, 1, 2, 2),
     (1, 1, 3, 4)),
    ("Dropout-eval", lambda: nn.Dropout(0.5).eval(), (2, 3), (2, 3)),
]


def _randomised(module):
    """Move affine parameters and running statistics away from their 1/0 defaults so that gradcheck sees them act."""
    rng = np.random.default_rng(1)
    for tensor in list(module.parameters()) + [b for b in module.buffers() if b.dtype.kind == "f"]:
        tensor.data[...] = rng.uniform(0.5, 1.5, tensor.shape)
    return module


@pytest.mark.parametrize("name, make, input_shape, output_shape", LAYERS, ids=[row[0] for row in LAYERS])
def test_output_shape(name, make, input_shape, output_shape):
    layer = make()
    output = layer(autograd.randn(*input_shape))
    assert output.shape == output_shape and output.dtype == np.float32


@pytest.mark.parametrize("name, make, input_shape, output_shape", LAYERS, ids=[row[0] for row in LAYERS])
def test_gradcheck_with_all_parameters(name, make, input_shape, output_shape):
    layer = make().double()
    x = autograd.randn(*input_shape, dtype=autograd.float64, requires_grad=True)
    params = list(layer.parameters())
    assert autograd.gradcheck(lambda x, *params: layer(x), (x, *params))


def test_every_layer_with_parameters_can_reset_them():
    for name, make, _, _ in LAYERS:
        layer = make()
        if not list(layer.parameters()):
            continue
        for p in layer.parameters():
            p.data[...] = 100.0
        layer.reset_parameters()
        for param_name, p in layer.named_parameters():
            if name.startswith(("BatchNorm", "LayerNorm", "GroupNorm")):
                assert np.all(p.data == (1.0 if param_name == "weight" else 0.0)), name
            else:
                assert np.abs(p.data).max() < 1.0 and np.unique(p.data).size == p.numel(), name


# ----------------------------------------------------------------------------- values
def test_linear_computes_x_w_transpose_plus_b():
    layer = nn.Linear(3, 2)
    x = autograd.randn(4, 3)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=True)"


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_numpy_padding(padding_mode):
    layer = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=padding_mode)
    x = autograd.randn(1, 2, 4, 5)
    numpy_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[padding_mode]
    padded = np.pad(x.data, ((0, 0), (0, 0), (1, 1), (2, 2)), mode=numpy_mode)
    expected = F.conv2d(Tensor(padded), layer.weight, layer.bias)
    np.testing.assert_allclose(layer(x).data, expected.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_torch(padding_mode):
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(2, 3, (3, 2), padding=(2, 1), padding_mode=padding_mode)
    theirs = torch.nn.Conv2d(2, 3, (3, 2), padding=(2, 1), padding_mode=padding_mode)
    theirs.load_state_dict({key: torch.from_numpy(value.data) for key, value in ours.state_dict().items()})
    x = autograd.randn(2, 2, 5, 4)
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x.data)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_same_padding_with_an_even_kernel_pads_more_on_the_right_like_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(1, 1, 4, padding="same", padding_mode="reflect")
    theirs = torch.nn.Conv2d(1, 1, 4, padding="same", padding_mode="reflect")
    theirs.load_state_dict({key: torch.from_numpy(value.data) for key, value in ours.state_dict().items()})
    x = autograd.randn(1, 1, 6, 6)
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x.data)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_conv_constructor_checks():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    assert nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape == (4, 3, 3, 3)
    assert nn.Conv2d(4, 6, 3, groups=2).weight.shape == (6, 2, 3, 3)
    assert repr(nn.Conv2d(1, 2, 3, padding="same", padding_mode="circular")) == (
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=same, padding_mode=circular)")


def test_max_pool_indices_feed_max_unpool():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = autograd.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    pooled, indices = pool(x)
    np.testing.assert_array_equal(pooled.data, [[[[5, 7], [13, 15]]]])
    restored = unpool(pooled, indices)
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 1::2, 1::2] = [[5, 7], [13, 15]]
    np.testing.assert_array_equal(restored.data, expected)


def test_activation_values():
    x = autograd.tensor([-2.0, -0.5, 0.5, 3.0])
    v = x.data.astype(np.float64)
    np.testing.assert_allclose(nn.ReLU()(x).data, np.maximum(v, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, np.where(v > 0, v, 0.1 * v), rtol=1e-6)
    np.testing.assert_allclose(nn.ELU(2.0)(x).data, np.where(v > 0, v, 2.0 * np.expm1(v)), rtol=1e-6)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(nn.GELU()(x).data, v * 0.5 * (1 + erf(v / math.sqrt(2))), rtol=1e-5)
    np.testing.assert_allclose(nn.SiLU()(x).data, v / (1 + np.exp(-v)), rtol=1e-6)
    np.testing.assert_allclose(nn.Softmax(0)(x).data, np.exp(v) / np.exp(v).sum(), rtol=1e-6)
    assert repr(nn.LeakyReLU(0.1, inplace=True)) == "LeakyReLU(negative_slope=0.1, inplace=True)"


def test_softmax_without_dim_warns_and_uses_pytorchs_implicit_choice():
    x = autograd.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.data.sum(axis=1), [1, 1], rtol=1e-6)


# ----------------------------------------------------------------------------- dropout
def test_dropout_zeroes_and_rescales_in_training_and_is_the_identity_in_eval():
    x = autograd.ones(100, 100)
    out = nn.Dropout(0.25)(x).data
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.02)
    channels = nn.Dropout2d(0.5)(autograd.ones(8, 16, 3, 3)).data
    per_channel = channels.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 2.0).all(axis=2))
    layer = nn.Dropout2d(0.5).eval()
    assert np.array_equal(layer(autograd.ones(2, 2, 2, 2)).data, np.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_gradcheck_with_a_fixed_mask():
    layer = nn.Dropout(0.3)
    x = autograd.randn(3, 4, dtype=autograd.float64, requires_grad=True)

    def dropped(x):
        autograd.manual_seed(5)  # the same mask in every evaluation
        return layer(x)

    assert autograd.gradcheck(dropped, (x,))


# ----------------------------------------------------------------------------- batch norm
def test_batchnorm_training_uses_batch_statistics_and_updates_running_ones():
    bn = nn.BatchNorm2d(3, momentum=0.1)
    x = autograd.randn(4, 3, 2, 2) * 2 + 1
    out = bn(x).data
    mean = x.data.mean(axis=(0, 2, 3))
    var = x.data.var(axis=(0, 2, 3))
    expected = (x.data - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean, rtol=1e-5)
    unbiased = x.data.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * unbiased, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 1


def test_batchnorm_eval_uses_running_statistics():
    bn = _randomised(nn.BatchNorm1d(3)).eval()
    x = autograd.randn(5, 3)
    expected = ((x.data - bn.running_mean.data) / np.sqrt(bn.running_var.data + bn.eps) * bn.weight.data
                + bn.bias.data)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-5)
    assert int(bn.num_batches_tracked) == 0


def test_batchnorm_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [autograd.randn(6, 2) + shift for shift in (0.0, 3.0, -1.0)]
    for batch in batches:
        bn(batch)
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.data.mean(axis=0) for b in batches], axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, np.mean([b.data.var(axis=0, ddof=1) for b in batches], axis=0),
                               rtol=1e-5)
    assert int(bn.num_batches_tracked) == 3


def test_batchnorm_without_running_stats_or_affine():
    bn = nn.BatchNorm2d(2, affine=False, track_running_stats=False).eval()
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = autograd.randn(3, 2, 2, 2)
    out = bn(x).data  # batch statistics even in eval mode
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), [0, 0], atol=1e-5)


def test_batchnorm_checks_its_input():
    with pytest.raises(ValueError, match="expected 4D input \\(got 2D input\\)"):
        nn.BatchNorm2d(3)(autograd.randn(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(autograd.randn(2, 3, 2, 2))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm1d(3)(autograd.randn(2, 4))


def test_batchnorm_matches_torch_over_several_steps():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3, momentum=None), torch.nn.BatchNorm2d(3, momentum=None)
    for _ in range(3):
        x = autograd.randn(4, 3, 2, 2) * 3
        np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x.data)).detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].data, value.numpy(), rtol=1e-5)


def test_group_norm_checks_divisibility():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)


# ----------------------------------------------------------------------------- losses
def _logits_and_targets():
    logits = autograd.randn(4, 5, dtype=autograd.float64, requires_grad=True)
    targets = autograd.tensor([0, 3, 4, 1])
    return logits, targets


def test_cross_entropy_loss_value_and_gradient():
    logits, targets = _logits_and_targets()
    loss = nn.CrossEntropyLoss()(logits, targets)
    z = logits.data
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert float(loss) == pytest.approx(-log_probs[np.arange(4), targets.data].mean())
    assert autograd.gradcheck(lambda z: nn.CrossEntropyLoss()(z, targets), (logits,))


def test_loss_modules_pass_their_arguments_to_the_functions():
    logits, targets = _logits_and_targets()
    weight = autograd.tensor([1.0, 2.0, 0.5, 1.0, 3.0], dtype=autograd.float64)
    module = nn.CrossEntropyLoss(weight, ignore_index=3, reduction="sum", label_smoothing=0.1)
    expected = F.cross_entropy(logits, targets, weight=weight, ignore_index=3, reduction="sum", label_smoothing=0.1)
    assert float(module(logits, targets)) == pytest.approx(float(expected))
    assert list(module.state_dict()) == ["weight"]
    log_probs = F.log_softmax(logits, 1)
    assert float(nn.NLLLoss(weight, reduction="mean")(log_probs, targets)) == pytest.approx(
        float(F.nll_loss(log_probs, targets, weight=weight)))
    assert nn.CrossEntropyLoss(reduction="none")(logits, targets).shape == (4,)


@pytest.mark.parametrize("make, reference", [
    (lambda: nn.MSELoss(), lambda d: d**2),
    (lambda: nn.L1Loss(), lambda d: np.abs(d)),
    (lambda: nn.SmoothL1Loss(beta=0.5), lambda d: np.where(np.abs(d) < 0.5, 0.5 * d**2 / 0.5, np.abs(d) - 0.25)),
    (lambda: nn.HuberLoss(delta=0.5), lambda d: np.where(np.abs(d) < 0.5, 0.5 * d**2, 0.5 * (np.abs(d) - 0.25))),
])
def test_regression_losses(make, reference):
    x = autograd.randn(3, 4, dtype=autograd.float64, requires_grad=True)
    y = autograd.randn(3, 4, dtype=autograd.float64)
    assert float(make()(x, y)) == pytest.approx(reference(x.data - y.data).mean())
    assert autograd.gradcheck(lambda x: make()(x, y), (x,))


def test_binary_cross_entropy_losses():
    logits = autograd.randn(3, 4, dtype=autograd.float64, requires_grad=True)
    y = autograd.tensor(np.random.default_rng(2).integers(0, 2, (3, 4)).astype(np.float64))
    p = 1 / (1 + np.exp(-logits.data))
    expected = -(y.data * np.log(p) + (1 - y.data) * np.log(1 - p)).mean()
    assert float(nn.BCEWithLogitsLoss()(logits, y)) == pytest.approx(expected)
    assert float(nn.BCELoss()(logits.sigmoid(), y)) == pytest.approx(expected)
    assert autograd.gradcheck(lambda z: nn.BCEWithLogitsLoss()(z, y), (logits,))
    assert autograd.gradcheck(lambda z: nn.BCELoss()(z.sigmoid(), y), (logits,))
    pos_weight = autograd.tensor([1.0, 2.0, 3.0, 0.5], dtype=autograd.float64)
    module = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    assert list(module.state_dict()) == ["pos_weight"]
    assert float(module(logits, y)) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)))


def test_loss_reduction_is_checked():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.MSELoss(reduction="avg")



@pytest.mark.parametrize("make, name", [
    (lambda eps: nn.BatchNorm1d(3, eps=eps), "BatchNorm1d"), (lambda eps: nn.BatchNorm2d(3, eps=eps), "BatchNorm2d"),
    (lambda eps: nn.LayerNorm(3, eps=eps), "LayerNorm"), (lambda eps: nn.GroupNorm(1, 3, eps=eps), "GroupNorm"),
])
def test_normalization_layers_refuse_a_non_positive_eps(make, name):
    for eps in (0.0, -1.0):
        with pytest.raises(ValueError, match=rf"{name}: eps must be positive, got {eps}"):
            make(eps)
    assert make(1e-3).eps == 1e-3


# ----------------------------------------------------------------------------- 3-d layers
LAYERS_3D = [
    ("Conv3d", lambda: nn.Conv3d(2, 3, 3, padding=1), (1, 2, 3, 4, 3), (1, 3, 3, 4, 3)),
    ("Conv3d-strided-groups", lambda: nn.Conv3d(4, 2, (1, 2, 2), stride=(1, 2, 2), groups=2, bias=False),
     (1, 4, 2, 4, 4), (1, 2, 2, 2, 2)),
    ("Conv3d-replicate", lambda: nn.Conv3d(1, 2, 3, padding=(0, 1, 1), padding_mode="replicate"), (1, 1, 3, 3, 3),
     (1, 2, 1, 3, 3)),
    ("ConvTranspose3d", lambda: nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1, output_padding=(1, 0, 1)),
     (1, 2, 2, 2, 2), (1, 3, 4, 3, 4)),
    ("MaxPool3d", lambda: nn.MaxPool3d(2), (1, 2, 4, 4, 4), (1, 2, 2, 2, 2)),
    ("MaxPool3d-padded", lambda: nn.MaxPool3d(3, stride=2, padding=1), (1, 1, 3, 5, 5), (1, 1, 2, 3, 3)),
    ("AvgPool3d", lambda: nn.AvgPool3d(2, stride=1), (1, 2, 3, 3, 2), (1, 2, 2, 2, 1)),
]


@pytest.mark.parametrize("name, make, input_shape, output_shape", LAYERS_3D, ids=[row[0] for row in LAYERS_3D])
def test_3d_layers_output_shape_and_gradcheck(name, make, input_shape, output_shape):
    layer = make()
    output = layer(autograd.randn(*input_shape))
    assert output.shape == output_shape and output.dtype == np.float32
    layer = layer.double()
    rng = np.random.default_rng(2)
    values = rng.permutation(math.prod(input_shape)).reshape(input_shape) * 0.1  # no ties for max-pooling
    x = autograd.tensor(values, requires_grad=True)
    params = list(layer.parameters())
    assert autograd.gradcheck(lambda x, *params: layer(x), (x, *params))


def test_3d_conv_layers_reset_their_parameters_and_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in [(nn.Conv3d(2, 3, (2, 3, 2), stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=1),
                          torch.nn.Conv3d(2, 3, (2, 3, 2), stride=(1, 2, 1), padding=1, dilation=(2, 1, 1))),
                         (nn.Conv3d(2, 4, 3, padding=1, padding_mode="circular", groups=2),
                          torch.nn.Conv3d(2, 4, 3, padding=1, padding_mode="circular", groups=2)),
                         (nn.ConvTranspose3d(2, 4, 3, stride=2, output_padding=1, groups=2),
                          torch.nn.ConvTranspose3d(2, 4, 3, stride=2, output_padding=1, groups=2))]:
        assert ours.weight.shape == tuple(theirs.weight.shape)
        for p in ours.parameters():
            p.data[...] = 100.0
        ours.reset_parameters()
        assert all(np.abs(p.data).max() < 1.0 and np.unique(p.data).size == p.numel() for p in ours.parameters())
        theirs.weight.data = torch.from_numpy(ours.weight.data.copy())
        theirs.bias.data = torch.from_numpy(ours.bias.data.copy())
        x = autograd.randn(1, 2, 4, 5, 4)
        np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x.data)).detach().numpy(), rtol=1e-5,
                                   atol=1e-5)


def test_3d_layers_repr_and_checks():
    assert repr(nn.Conv3d(2, 4, 3, stride=(1, 2, 2), padding=1, bias=False)) == (
        "Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1), bias=False)")
    assert repr(nn.ConvTranspose3d(4, 2, 2, stride=2, output_padding=1)) == (
        "ConvTranspose3d(4, 2, kernel_size=(2, 2, 2), stride=(2, 2, 2), output_padding=(1, 1, 1))")
    assert repr(nn.MaxPool3d(3, 2, 1)) == "MaxPool3d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool3d(2)) == "AvgPool3d(kernel_size=2, stride=2, padding=0)"
    with pytest.raises(ValueError, match="Conv3d: kernel_size must be an int or a tuple of 3 ints"):
        nn.Conv3d(2, 4, (3, 3))
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose3d'):
        nn.ConvTranspose3d(2, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="ConvTranspose3d: padding must be an int or a tuple of 3 ints"):
        nn.ConvTranspose3d(2, 4, 3, padding="same")
    pooled, indices = nn.MaxPool3d(2, return_indices=True)(autograd.randn(1, 1, 2, 2, 2))
    assert pooled.shape == indices.shape == (1, 1, 1, 1, 1)
