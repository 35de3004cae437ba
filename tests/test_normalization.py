"""batch_norm, layer_norm and group_norm: values against numpy float64 references, running statistics,
gradients of first and second order, numerics and error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn.functional as F
from autograd import Tensor

SHAPES = [(4, 3), (3, 2, 5), (2, 3, 2, 3)]


def reference_batch_norm(x, mean, var, weight, bias, eps=1e-5):
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def channel_stats(x):
    axes = (0,) + tuple(range(2, x.ndim))
    return x.mean(axis=axes), x.var(axis=axes)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_numpy(shape, affine):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, shape)
    weight, bias = (rng.normal(size=shape[1]), rng.normal(size=shape[1])) if affine else (None, None)
    out = F.batch_norm(Tensor(x), None, None, None if weight is None else Tensor(weight),
                       None if bias is None else Tensor(bias), training=True)
    mean, var = channel_stats(x)
    np.testing.assert_allclose(out.data, reference_batch_norm(x, mean, var, weight, bias), atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_eval_uses_running_stats(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    running_mean, running_var = rng.normal(size=shape[1]), rng.uniform(0.5, 2, shape[1])
    weight, bias = rng.normal(size=shape[1]), rng.normal(size=shape[1])
    out = F.batch_norm(Tensor(x), Tensor(running_mean), Tensor(running_var), Tensor(weight), Tensor(bias))
    np.testing.assert_allclose(out.data, reference_batch_norm(x, running_mean, running_var, weight, bias), atol=1e-12)


def test_batch_norm_eval_gradient_is_the_affine_scale():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    weight = Tensor(np.array([2.0, -1.0]), requires_grad=True)
    running_var = Tensor(np.array([3.0, 0.0]))
    F.batch_norm(x, Tensor(np.zeros(2)), running_var, weight, training=False, eps=1.0).sum().backward()
    # dy/dx = weight / sqrt(var + eps) = [2 / 2, -1 / 1]
    np.testing.assert_allclose(x.grad.data, [[1.0, -1.0]] * 3)
    np.testing.assert_allclose(weight.grad.data, [(0 + 2 + 4) / 2.0, (1 + 3 + 5) / 1.0])


def test_running_stats_follow_pytorch_formula():
    rng = np.random.default_rng(2)
    running_mean, running_var = Tensor(np.zeros(3)), Tensor(np.ones(3))
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.normal(step, 1.0 + step, (4, 3, 5))
        F.batch_norm(Tensor(x), running_mean, running_var, training=True, momentum=0.3)
        mean, var = channel_stats(x)
        count = 4 * 5
        expected_mean = 0.7 * expected_mean + 0.3 * mean
        expected_var = 0.7 * expected_var + 0.3 * var * count / (count - 1)  # unbiased
    np.testing.assert_allclose(running_mean.data, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(running_var.data, expected_var, rtol=1e-12)


def test_running_stat_update_bumps_version_so_saved_copies_are_checked():
    running_mean = Tensor(np.zeros(2))
    version = running_mean._version[0]
    F.batch_norm(Tensor(np.random.default_rng(0).normal(size=(3, 2))), running_mean, Tensor(np.ones(2)),
                 training=True)
    assert running_mean._version[0] > version


def test_constant_input_stays_finite():
    x = Tensor(np.full((4, 2, 3, 3), 7.0, dtype=np.float32), requires_grad=True)
    weight = Tensor(np.array([2.0, 3.0], dtype=np.float32), requires_grad=True)
    bias = Tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    out = F.batch_norm(x, None, None, weight, bias, training=True)
    np.testing.assert_array_equal(out.data, np.broadcast_to(np.array([0.5, -1.0]).reshape(1, 2, 1, 1), x.shape))
    (out * Tensor(np.random.default_rng(0).normal(size=x.shape).astype(np.float32))).sum().backward()
    for grad in (x.grad, weight.grad, bias.grad):
        assert np.isfinite(grad.data).all()
    np.testing.assert_array_equal(weight.grad.data, 0.0)


def test_float32_stays_float32():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(4, 3, 2, 2)).astype(np.float32), requires_grad=True)
    weight = Tensor(np.ones(3, np.float32), requires_grad=True)
    out = F.batch_norm(x, autograd.zeros(3), autograd.ones(3), weight, training=True)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32 and weight.grad.dtype == np.float32


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_gradcheck_and_gradgradcheck(shape, training, affine):
    rng = np.random.default_rng(4)
    channels = shape[1]
    running_mean, running_var = Tensor(rng.normal(size=channels)), Tensor(rng.uniform(0.5, 2, channels))
    inputs = [Tensor(rng.normal(size=shape), requires_grad=True)]
    if affine:
        inputs += [Tensor(rng.normal(size=channels), requires_grad=True),
                   Tensor(rng.normal(size=channels), requires_grad=True)]

    def function(*args):
        return F.batch_norm(args[0], running_mean, running_var, *args[1:], training=training, momentum=0.0)

    assert autograd.gradcheck(function, tuple(inputs))
    assert autograd.gradgradcheck(function, tuple(inputs))


def test_batch_norm_gradients_match_closed_form():
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    weight = np.array([1.5, -0.5])
    xt = Tensor(x, requires_grad=True)
    wt = Tensor(weight, requires_grad=True)
    bt = Tensor(np.zeros(2), requires_grad=True)
    F.batch_norm(xt, None, None, wt, bt, training=True).backward(Tensor(g))
    mean, var = x.mean(0), x.var(0)
    invstd = 1 / np.sqrt(var + 1e-5)
    xhat = (x - mean) * invstd
    m = x.shape[0]
    expected = weight * invstd / m * (m * g - g.sum(0) - xhat * (g * xhat).sum(0))
    np.testing.assert_allclose(xt.grad.data, expected, atol=1e-12)
    np.testing.assert_allclose(wt.grad.data, (g * xhat).sum(0), atol=1e-12)
    np.testing.assert_allclose(bt.grad.data, g.sum(0), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 5), c=st.integers(1, 4), spatial=st.lists(st.integers(1, 4), max_size=2))
def test_training_output_is_normalised_per_channel(n, c, spatial):
    shape = (n, c, *spatial)
    x = np.random.default_rng(n * 100 + c).normal(5.0, 3.0, shape)
    out = F.batch_norm(Tensor(x), None, None, training=True, eps=1e-12).data
    mean, var = channel_stats(out)
    np.testing.assert_allclose(mean, 0.0, atol=1e-10)
    np.testing.assert_allclose(var, 1.0, atol=1e-8)


def test_batch_norm_errors():
    x = Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"running_mean has shape \(5,\).*3 channels"):
        F.batch_norm(x, Tensor(np.zeros(5)), Tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\)"):
        F.batch_norm(x, None, None, Tensor(np.ones(2)), training=True)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.batch_norm(Tensor(np.zeros(3)), None, None, training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(Tensor(np.zeros((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match="required when training=False"):
        F.batch_norm(x, None, None)


def test_layer_norm_matches_numpy():
    rng = np.random.default_rng(6)
    x, weight, bias = rng.normal(2.0, 3.0, (2, 3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    out = F.layer_norm(Tensor(x), (3, 4), Tensor(weight), Tensor(bias))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out.data, (x - mean) / np.sqrt(var + 1e-5) * weight + bias, atol=1e-12)
    single = F.layer_norm(Tensor(x), 4).data
    np.testing.assert_allclose(single, (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5),
                               atol=1e-12)


def test_group_norm_matches_numpy():
    rng = np.random.default_rng(7)
    x, weight, bias = rng.normal(size=(2, 6, 3, 2)), rng.normal(size=6), rng.normal(size=6)
    out = F.group_norm(Tensor(x), 3, Tensor(weight), Tensor(bias))
    grouped = x.reshape(2, 3, -1)
    normed = ((grouped - grouped.mean(-1, keepdims=True)) / np.sqrt(grouped.var(-1, keepdims=True) + 1e-5))
    expected = normed.reshape(x.shape) * weight.reshape(1, 6, 1, 1) + bias.reshape(1, 6, 1, 1)
    np.testing.assert_allclose(out.data, expected, atol=1e-12)


def test_layer_and_group_norm_of_constant_input_are_finite():
    x = Tensor(np.full((2, 4, 3), 1e3), requires_grad=True)
    F.layer_norm(x, 3).sum().backward()
    F.group_norm(x, 2).sum().backward()
    assert np.isfinite(x.grad.data).all()


def test_layer_and_group_norm_gradgradcheck():
    rng = np.random.default_rng(8)
    x = Tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)
    w = Tensor(rng.normal(size=4), requires_grad=True)
    assert autograd.gradgradcheck(lambda a, b: F.group_norm(a, 2, b, b), (x, w))
    w3 = Tensor(rng.normal(size=3), requires_grad=True)
    assert autograd.gradgradcheck(lambda a, b: F.layer_norm(a, 3, b), (x, w3))


def test_layer_and_group_norm_errors():
    x = Tensor(np.zeros((2, 6, 3)))
    with pytest.raises(ValueError, match=r"num_groups 4 must divide the number of channels 6"):
        F.group_norm(x, 4)
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) does not match.*\(2, 6, 3\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.layer_norm(x, 3, Tensor(np.ones(2)))


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = rng.normal(1.0, 2.0, (4, 3, 5, 5)).astype(np.float32)
    g = rng.normal(size=x.shape).astype(np.float32)
    weight, bias = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    ours = [Tensor(v.copy(), requires_grad=True) for v in (x, weight, bias)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, weight, bias)]
    our_stats, their_stats = (autograd.zeros(3), autograd.ones(3)), (torch.zeros(3), torch.ones(3))
    F.batch_norm(ours[0], *our_stats, ours[1], ours[2], training=True).backward(Tensor(g))
    torch.nn.functional.batch_norm(theirs[0], *their_stats, theirs[1], theirs[2], training=True).backward(
        torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-4, atol=1e-4)
    for a, b in zip(our_stats, their_stats):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-6)
    np.testing.assert_allclose(F.group_norm(Tensor(x), 3).data,
                               torch.nn.functional.group_norm(torch.tensor(x), 3).numpy(), atol=1e-5)
    np.testing.assert_allclose(F.layer_norm(Tensor(x), (5, 5)).data,
                               torch.nn.functional.layer_norm(torch.tensor(x), (5, 5)).numpy(), atol=1e-5)


def batch_norm_gradients(x, weight, bias, g, training, create_graph):
    """autograd.grad of batch_norm w.r.t. those of (x, weight, bias) that require grad, with fixed running stats."""
    channels = x.shape[1]
    running_mean = Tensor(np.linspace(-1.0, 1.0, channels, dtype=x.dtype))
    running_var = Tensor(np.linspace(0.5, 2.0, channels, dtype=x.dtype))
    out = F.batch_norm(x, running_mean, running_var, weight, bias, training=training, momentum=0.0)
    inputs = [t for t in (x, weight, bias) if t is not None and t.requires_grad]
    return [grad.data for grad in autograd.grad(out, inputs, Tensor(g), create_graph=create_graph)]


@pytest.mark.parametrize("shape", SHAPES + [(3, 4, 2, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("wanted", ["x", "weight", "bias", "x weight bias", "weight bias"])
def test_numpy_backward_matches_the_tensor_op_backward(shape, training, wanted):
    # Without create_graph batch norm's backward runs in numpy; with it, in Tensor ops: the same values.
    rng = np.random.default_rng(10)
    channels = shape[1]
    x = Tensor(rng.normal(2.0, 3.0, shape), requires_grad="x" in wanted)
    weight = Tensor(rng.normal(size=channels), requires_grad="weight" in wanted)
    bias = Tensor(rng.normal(size=channels), requires_grad="bias" in wanted)
    g = rng.normal(size=shape)
    fast = batch_norm_gradients(x, weight, bias, g, training, create_graph=False)
    graph = batch_norm_gradients(x, weight, bias, g, training, create_graph=True)
    assert len(fast) == len(wanted.split())
    for a, b in zip(fast, graph):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if x.requires_grad:
        (fast,) = batch_norm_gradients(x, None, None, g, training, create_graph=False)
        (graph,) = batch_norm_gradients(x, None, None, g, training, create_graph=True)
        np.testing.assert_allclose(fast, graph, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_float32_gradients_of_a_resnet_sized_batch_stay_within_float32_rounding(training):
    rng = np.random.default_rng(11)
    x64 = rng.normal(3.0, 2.0, (16, 8, 12, 12))
    g64 = rng.normal(size=x64.shape)
    weight64, bias64 = rng.normal(size=8), rng.normal(size=8)
    x, g, weight, bias = (v.astype(np.float32) for v in (x64, g64, weight64, bias64))
    leaves = [Tensor(v, requires_grad=True) for v in (x, weight, bias)]
    ours = batch_norm_gradients(*leaves, g, training, create_graph=False)
    assert all(grad.dtype == np.float32 for grad in ours)
    # The closed form in float64, from the same float32 values.
    axes = (0, 2, 3)
    if training:
        mean, var = x.astype(np.float64).mean(axis=axes), x.astype(np.float64).var(axis=axes)
    else:
        mean, var = np.linspace(-1.0, 1.0, 8), np.linspace(0.5, 2.0, 8)
    shape = (1, 8, 1, 1)
    invstd = 1 / np.sqrt(var.reshape(shape) + 1e-5)
    xhat = (x.astype(np.float64) - mean.reshape(shape)) * invstd
    g = g.astype(np.float64)
    count = x.size // 8
    if training:
        expected_x = (weight.reshape(shape) * invstd / count
                      * (count * g - g.sum(axes, keepdims=True) - xhat * (g * xhat).sum(axes, keepdims=True)))
    else:
        expected_x = weight.reshape(shape) * invstd * g
    expected = [expected_x, (g * xhat).sum(axes), g.sum(axes)]
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    torch = pytest.importorskip("torch")
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, weight, bias)]
    running = torch.tensor(np.linspace(-1.0, 1.0, 8, dtype=np.float32)), torch.tensor(np.linspace(0.5, 2.0, 8,
                                                                                                  dtype=np.float32))
    out = torch.nn.functional.batch_norm(theirs[0], *running, theirs[1], theirs[2], training=training, momentum=0.0)
    out.backward(torch.tensor(g.astype(np.float32)))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.grad.numpy(), rtol=1e-4, atol=1e-5 * np.abs(b.grad.numpy()).max())


def test_constant_float32_batch_has_finite_statistics_and_gradients():
    # Zero variance on a ResNet-sized channel: eps keeps invstd finite in both backward paths.
    x = Tensor(np.full((8, 3, 16, 16), 0.1, np.float32), requires_grad=True)
    weight = Tensor(np.ones(3, np.float32), requires_grad=True)
    bias = Tensor(np.zeros(3, np.float32), requires_grad=True)
    g = np.random.default_rng(12).normal(size=x.shape).astype(np.float32)
    for create_graph in (False, True):
        out = F.batch_norm(x, None, None, weight, bias, training=True)
        assert np.isfinite(out.data).all() and np.abs(out.data).max() < 1e-3
        grads = autograd.grad(out, [x, weight, bias], Tensor(g), create_graph=create_graph)
        assert all(np.isfinite(grad.data).all() for grad in grads)


@pytest.mark.parametrize("eps", [0.0, -1e-5, float("nan")])
def test_eps_must_be_positive(eps):
    x = Tensor(np.random.default_rng(10).normal(size=(4, 2, 3)))
    calls = {
        "batch_norm": lambda: F.batch_norm(x, None, None, training=True, eps=eps),
        "batch_norm eval": lambda: F.batch_norm(x, autograd.zeros(2), autograd.ones(2), eps=eps),
        "layer_norm": lambda: F.layer_norm(x, 3, eps=eps),
        "group_norm": lambda: F.group_norm(x, 2, eps=eps),
    }
    for name, call in calls.items():
        op = name.split()[0]
        with pytest.raises(ValueError, match=rf"{op}: eps must be positive, got {eps}"):
            call()


def test_integer_inputs_are_refused():
    x = Tensor(np.arange(12).reshape(2, 2, 3))
    for op, call in (("batch_norm", lambda: F.batch_norm(x, None, None, training=True)),
                     ("layer_norm", lambda: F.layer_norm(x, 3)), ("group_norm", lambda: F.group_norm(x, 1))):
        with pytest.raises(RuntimeError, match=f"{op}: expected a floating point input, got dtype int64"):
            call()


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_on_helper_threads_gives_the_bits_of_one_chunk(training, monkeypatch):
    # 37x8x64x64 float32 is 4.8 MB: its passes are cut into chunks of unequal size on the helper threads; sums are
    # taken per sample first, so the result does not depend on the cut.
    from autograd.kernels import elementwise

    rng = np.random.default_rng(30)
    shape = (37, 8, 64, 64)
    x, g = (rng.normal(0.5, 2.0, shape).astype(np.float32) for _ in range(2))
    weight, bias = (rng.standard_normal(8).astype(np.float32) for _ in range(2))

    def run():
        leaves = [Tensor(value, requires_grad=True) for value in (x, weight, bias)]
        running = [Tensor(np.linspace(-1, 1, 8, dtype=np.float32)), Tensor(np.linspace(0.5, 2, 8, dtype=np.float32))]
        out = F.batch_norm(leaves[0], *running, leaves[1], leaves[2], training=training)
        out.backward(Tensor(g))
        return [out.data] + [leaf.grad.data for leaf in leaves] + [stat.data for stat in running]

    assert x.nbytes > elementwise.SHARED_SWEEP_BYTES
    chunked = run()
    mean, var = channel_stats(x.astype(np.float64)) if training else (np.linspace(-1, 1, 8), np.linspace(0.5, 2, 8))
    np.testing.assert_allclose(chunked[0], reference_batch_norm(x, mean, var, weight, bias), rtol=1e-4, atol=1e-4)
    monkeypatch.setattr(elementwise, "SHARED_SWEEP_BYTES", 1 << 62)
    for a, b in zip(chunked, run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_of_a_permuted_input_equals_that_of_its_contiguous_copy(training):
    # The kernels write through (N, C*L) reshapes of their output: it must be C-contiguous whatever the input's
    # layout (a channels-last tensor permuted to NCHW gave garbage before).
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    mean, var = Tensor(rng.standard_normal(3).astype(np.float32)), Tensor(rng.uniform(0.5, 2, 3).astype(np.float32))
    results = []
    for contiguous in (False, True):
        x = Tensor(data.copy(), requires_grad=True)
        permuted = x.permute(0, 3, 1, 2)
        assert not permuted.data.flags.c_contiguous
        y = F.batch_norm(permuted.contiguous() if contiguous else permuted, mean.clone(), var.clone(),
                         training=training)
        (y * y).sum().backward()
        results.append((y.data, x.grad.data))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
