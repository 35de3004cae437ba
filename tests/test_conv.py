"""conv1d, conv2d, conv3d, conv_transpose2d and conv_transpose3d: hand-computed cases, a naive loop reference,
PyTorch cross-checks, finite-difference checks (first and second order) over a grid of configs, hypothesis
shapes, error messages and node attributes. The kernels themselves are tested in test_kernels.py, their threads
in test_parallel.py.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
import nn.functional as F


def leaf(array, dtype=np.float64):
    return autograd.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def pairs(padding, kernel, dilation):
    """Padding as ((top, bottom), (left, right)), with PyTorch's rule for 'same' and 'valid'."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    padding = (padding, padding) if isinstance(padding, int) else padding
    return tuple((p, p) for p in padding)


def two(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def naive_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation by definition: one dot product per output pixel."""
    n, c, h, width = x.shape
    out_channels, per_group, kh, kw = w.shape
    (sh, sw), (dh, dw) = two(stride), two(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), *pairs(padding, (kh, kw), (dh, dw))))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, out_channels, ho, wo))
    for batch in range(n):
        for o in range(out_channels):
            group = o // (out_channels // groups)
            channels = slice(group * per_group, (group + 1) * per_group)
            for p in range(ho):
                for q in range(wo):
                    rows = slice(p * sh, p * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(q * sw, q * sw + dw * (kw - 1) + 1, dw)
                    out[batch, o, p, q] = (xp[batch, channels, rows, cols] * w[o]).sum() + (0 if b is None else b[o])
    return out


def naive_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution by definition: every input pixel scatters the kernel times its value."""
    n, c, h, width = x.shape
    _, per_group, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = two(stride), two(padding), two(output_padding), two(dilation)
    full_size = ((h - 1) * sh + dh * (kh - 1) + 1 + oh, (width - 1) * sw + dw * (kw - 1) + 1 + ow)
    full = np.zeros((n, per_group * groups, *full_size))
    in_per_group = c // groups
    for batch in range(n):
        for channel in range(c):
            group = channel // in_per_group
            for i in range(h):
                for j in range(width):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    outputs = slice(group * per_group, (group + 1) * per_group)
                    full[batch, outputs, rows, cols] += x[batch, channel, i, j] * w[channel]
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out if b is None else out + b[:, None, None]


# (N, C, H, W, C_out, kernel, kwargs): stride, padding (incl. 'same'/'valid'), dilation, groups, odd sizes.
CONV_CONFIGS = [
    (2, 3, 5, 5, 4, (3, 3), {}),
    (2, 3, 6, 5, 2, (3, 3), {"stride": 2, "padding": 1}),
    (1, 2, 7, 6, 3, (2, 3), {"stride": (2, 3), "padding": (2, 1)}),
    (2, 2, 7, 7, 2, (3, 3), {"dilation": 2, "padding": 1}),
    (1, 3, 5, 6, 2, (3, 3), {"padding": "same"}),
    (1, 2, 6, 5, 3, (2, 4), {"padding": "same", "dilation": (1, 2)}),
    (2, 2, 4, 5, 3, (2, 2), {"padding": "valid", "stride": (1, 2)}),
    (2, 4, 5, 5, 6, (3, 3), {"groups": 2, "padding": 1}),
    (2, 4, 6, 6, 8, (3, 3), {"groups": 4, "stride": 2, "padding": 1}),  # depthwise, channel multiplier 2
    (1, 3, 7, 4, 2, (1, 3), {"padding": (0, 1)}),
    (2, 4, 5, 5, 4, (1, 1), {"stride": 2}),  # 1x1 kernels are a matrix product per image
    (2, 3, 4, 5, 4, (1, 1), {}),
    (2, 4, 4, 4, 2, (1, 1), {"groups": 2, "padding": 1}),  # ... except with padding or groups: im2col
    (1, 2, 3, 3, 2, (3, 3), {"stride": 3}),
    (1, 2, 9, 8, 2, (3, 3), {"stride": 2, "dilation": 3, "padding": 2}),  # kernel rows on shuffled stride phases
    # Outputs one stride phase wide: taps copied as shifted runs of the input's stride phases.
    (2, 2, 6, 6, 3, (3, 3), {"stride": 2, "padding": 1}),
    (1, 2, 6, 9, 2, (3, 5), {"stride": (2, 3), "padding": (1, 2)}),
    (1, 2, 8, 8, 2, (3, 3), {"stride": 2, "dilation": 2, "padding": 2}),
    (2, 3, 4, 4, 2, (5, 5), {"stride": 2, "padding": 2}),  # shifted by a whole row and column
]
CONV_IDS = [f"{n}x{c}x{h}x{w}->{o} k{k} {kw}" for n, c, h, w, o, k, kw in CONV_CONFIGS]


def conv_inputs(rng, n, c, h, w, out_channels, kernel, kwargs):
    groups = kwargs.get("groups", 1)
    return (rng.standard_normal((n, c, h, w)), rng.standard_normal((out_channels, c // groups, *kernel)),
            rng.standard_normal(out_channels))


# ----------------------------------------------------------------------------- hand-computed cases
def test_3x3_input_2x2_kernel_by_hand():
    x = leaf([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    w = leaf([[[[1, 2], [3, 4]]]])
    y = F.conv2d(x, w, leaf([0.5]))
    # y[i, j] = x[i, j] + 2 x[i, j+1] + 3 x[i+1, j] + 4 x[i+1, j+1] + 0.5
    np.testing.assert_array_equal(y.data[0, 0], [[37.5, 47.5], [67.5, 77.5]])
    y.sum().backward()
    # dL/dx: each x[i, j] collects the kernel taps of the windows covering it (a full convolution of the
    # all-ones output gradient with the kernel rotated 180 degrees).
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 3, 2], [4, 10, 6], [3, 7, 4]])
    # dL/dw[a, b]: the sum of the input window at offset (a, b).
    np.testing.assert_array_equal(w.grad.data[0, 0], [[12, 16], [24, 28]])
    assert y.grad_fn.name() == "Conv2d"


def test_input_gradient_is_full_convolution_with_rotated_kernel():
    rng = np.random.default_rng(0)
    x, w = leaf(rng.standard_normal((1, 1, 5, 6))), rng.standard_normal((1, 1, 3, 2))
    g = rng.standard_normal((1, 1, 3, 5))
    F.conv2d(x, autograd.tensor(w)).backward(autograd.tensor(g))
    full = naive_conv2d(g, w[:, :, ::-1, ::-1].copy(), padding=(2, 1))  # pad k - 1 on every side: 'full' mode
    np.testing.assert_allclose(x.grad.data, full, atol=1e-12)


def test_strided_gradient_is_a_fractionally_strided_convolution():
    rng = np.random.default_rng(1)
    x, w = leaf(rng.standard_normal((1, 1, 7, 7))), rng.standard_normal((1, 1, 3, 3))
    g = rng.standard_normal((1, 1, 3, 3))
    F.conv2d(x, autograd.tensor(w), stride=2).backward(autograd.tensor(g))
    dilated = np.zeros((1, 1, 5, 5))
    dilated[:, :, ::2, ::2] = g  # s - 1 zeros between the gradient's elements, then a full convolution
    np.testing.assert_allclose(x.grad.data, naive_conv2d(dilated, w[:, :, ::-1, ::-1].copy(), padding=2), atol=1e-12)


@pytest.mark.parametrize("shape, weight, kwargs, expected", [
    ((1, 3, 6, 6), (2, 3, 3, 3), {}, (1, 2, 4, 4)),  # 6x6x3 with two 3x3 filters, valid
    ((1, 3, 6, 6), (2, 3, 3, 3), {"padding": "same"}, (1, 2, 6, 6)),
    ((1, 3, 39, 39), (10, 3, 3, 3), {}, (1, 10, 37, 37)),  # the CNN notes' chain: 39 -> 37 -> 17 -> 7
    ((1, 10, 37, 37), (20, 10, 5, 5), {"stride": 2}, (1, 20, 17, 17)),
    ((1, 20, 17, 17), (40, 20, 5, 5), {"stride": 2}, (1, 40, 7, 7)),
    ((1, 1, 32, 32), (6, 1, 5, 5), {}, (1, 6, 28, 28)),  # LeNet-5 C1
    ((2, 3, 7, 9), (4, 3, 3, 3), {"stride": 2, "padding": 1, "dilation": 2}, (2, 4, 3, 4)),
])
def test_output_size_tables(shape, weight, kwargs, expected):
    y = F.conv2d(autograd.zeros(*shape), autograd.zeros(*weight), **kwargs)
    assert y.shape == expected
    if expected == (1, 40, 7, 7):
        assert y.flatten(1).shape == (1, 1960)


def test_inception_multiply_counts():
    # One multiply per output element per weight of its filter: 5x5 on 28x28x192 to 32 channels costs ~120M,
    # a 1x1 bottleneck to 16 channels first cuts it to ~12.4M.
    def multiplies(x, weight):
        y = F.conv2d(x, weight, padding="same")
        return y.numel() * weight[0].numel(), y
    direct, _ = multiplies(autograd.zeros(1, 192, 28, 28), autograd.zeros(32, 192, 5, 5))
    first, squeezed = multiplies(autograd.zeros(1, 192, 28, 28), autograd.zeros(16, 192, 1, 1))
    second, _ = multiplies(squeezed, autograd.zeros(32, 16, 5, 5))
    assert direct == 120_422_400
    assert first + second == 12_443_648


# ----------------------------------------------------------------------------- references
@pytest.mark.parametrize("config", CONV_CONFIGS, ids=CONV_IDS)
def test_conv2d_matches_naive_loops(config):
    x, w, b = conv_inputs(np.random.default_rng(2), *config)
    kwargs = config[-1]
    y = F.conv2d(autograd.tensor(x), autograd.tensor(w), autograd.tensor(b), **kwargs)
    np.testing.assert_allclose(y.data, naive_conv2d(x, w, b, **kwargs), atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note about its own padded copy
@pytest.mark.parametrize("config", CONV_CONFIGS, ids=CONV_IDS)
def test_conv2d_matches_torch_values_and_gradients(config):
    torch = pytest.importorskip("torch")
    x, w, b = conv_inputs(np.random.default_rng(3), *config)
    kwargs = config[-1]
    ours = [leaf(a) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*ours, **kwargs)
    expected = torch.nn.functional.conv2d(*theirs, **kwargs)
    g = np.random.default_rng(4).standard_normal(y.shape)
    y.backward(autograd.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(y.data, expected.detach().numpy(), atol=1e-10)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), atol=1e-10)


TRANSPOSE_CONFIGS = [
    (2, 3, 3, 3, 2, (3, 3), {}),
    (2, 2, 3, 4, 3, (3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    (1, 2, 3, 3, 2, (2, 3), {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2)}),
    (1, 4, 3, 3, 4, (3, 3), {"groups": 2, "dilation": 2, "output_padding": 1}),
    (2, 4, 2, 3, 4, (2, 2), {"groups": 4, "stride": 2}),
    # Stride phases: taps of a dilated kernel that land on shuffled phases, phases that no tap reaches, and
    # padding so large that phases read only part of the input.
    (1, 2, 4, 3, 2, (3, 2), {"stride": 2, "dilation": (3, 1), "padding": (2, 1), "output_padding": (1, 0)}),
    (2, 3, 3, 3, 2, (1, 1), {"stride": 3, "output_padding": 2}),
    (1, 2, 5, 4, 2, (3, 2), {"stride": (2, 3), "padding": (3, 2)}),
    (1, 1, 1, 1, 1, (1, 2), {"stride": (1, 2), "dilation": (1, 3), "padding": (0, 1)}),  # phases that read nothing
]


@pytest.mark.parametrize("config", TRANSPOSE_CONFIGS, ids=[str(c[-1]) for c in TRANSPOSE_CONFIGS])
def test_conv_transpose2d_matches_naive_loops_and_torch(config):
    n, c, h, w, out_channels, kernel, kwargs = config
    rng = np.random.default_rng(5)
    groups = kwargs.get("groups", 1)
    x, weight, b = (rng.standard_normal((n, c, h, w)), rng.standard_normal((c, out_channels // groups, *kernel)),
                    rng.standard_normal(out_channels))
    y = F.conv_transpose2d(autograd.tensor(x), autograd.tensor(weight), autograd.tensor(b), **kwargs)
    np.testing.assert_allclose(y.data, naive_conv_transpose2d(x, weight, b, **kwargs), atol=1e-10)
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(weight), torch.tensor(b), **kwargs)
    np.testing.assert_allclose(y.data, expected.numpy(), atol=1e-10)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    rng = np.random.default_rng(6)
    x, w, y = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((2, 4, 4, 3))
    forward = F.conv2d(autograd.tensor(x), autograd.tensor(w), stride=2, padding=1).data
    back = F.conv_transpose2d(autograd.tensor(y), autograd.tensor(w), stride=2, padding=1, output_padding=(0, 1)).data
    assert np.isclose((forward * y).sum(), (x * back).sum())


def test_conv1d_matches_naive_loops_and_torch():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    # (kwargs, (left, right) padding): 'same' with dilation 2 pads d (k - 1) = 4 in all, 2 on each side.
    for kwargs, (left, right) in [({}, (0, 0)), ({"stride": 2, "padding": 1}, (1, 1)),
                                  ({"padding": "same", "dilation": 2}, (2, 2))]:
        y = F.conv1d(autograd.tensor(x), autograd.tensor(w), autograd.tensor(b), groups=2, **kwargs)
        padded = np.pad(x, ((0, 0), (0, 0), (left, right)))[:, :, None]
        expected = naive_conv2d(padded, w[:, :, None], b, stride=(1, kwargs.get("stride", 1)),
                                dilation=(1, kwargs.get("dilation", 1)), groups=2)[:, :, 0]
        np.testing.assert_allclose(y.data, expected, atol=1e-10)
        torch = pytest.importorskip("torch")
        reference = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b), groups=2, **kwargs)
        np.testing.assert_allclose(y.data, reference.numpy(), atol=1e-10)


def test_unbatched_inputs():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(F.conv2d(autograd.tensor(x), autograd.tensor(w), padding=1).data,
                               naive_conv2d(x[None], w, padding=1)[0])
    assert F.conv1d(autograd.zeros(3, 8), autograd.zeros(2, 3, 3)).shape == (2, 6)
    assert F.conv_transpose2d(autograd.zeros(3, 4, 4), autograd.zeros(3, 2, 3, 3), stride=2).shape == (2, 9, 9)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 2), groups=st.integers(1, 2), per_group=st.integers(1, 2), out_per_group=st.integers(1, 2),
       h=st.integers(1, 7), w=st.integers(1, 7), kh=st.integers(1, 3), kw=st.integers(1, 3),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)))
def test_conv2d_shapes_and_values_match_reference(n, groups, per_group, out_per_group, h, w, kh, kw, stride, padding,
                                                  dilation):
    assume(h + 2 * padding[0] >= dilation[0] * (kh - 1) + 1 and w + 2 * padding[1] >= dilation[1] * (kw - 1) + 1)
    rng = np.random.default_rng(h * 7 + w)
    x = rng.standard_normal((n, groups * per_group, h, w)).astype(np.float32)
    weight = rng.standard_normal((groups * out_per_group, per_group, kh, kw)).astype(np.float32)
    y = F.conv2d(autograd.tensor(x), autograd.tensor(weight), stride=stride, padding=padding, dilation=dilation,
                 groups=groups)
    expected = naive_conv2d(x, weight, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert y.shape == expected.shape
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, expected, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- finite differences
SMALL = [
    (1, 2, 4, 4, 2, (3, 3), {"padding": 1}),
    (2, 2, 5, 4, 2, (2, 3), {"stride": 2, "padding": (1, 0)}),
    (1, 2, 5, 5, 2, (2, 2), {"dilation": 2, "stride": (1, 2)}),
    (1, 2, 4, 5, 3, (2, 3), {"padding": "same"}),
    (1, 4, 4, 4, 4, (3, 3), {"groups": 2, "padding": 1, "stride": 2}),
    (1, 3, 4, 4, 3, (3, 2), {"groups": 3}),
]


@pytest.mark.parametrize("config", SMALL, ids=[str(c[-1]) for c in SMALL])
def test_conv2d_gradcheck_and_gradgradcheck(config):
    x, w, b = (leaf(a) for a in conv_inputs(np.random.default_rng(9), *config))
    def op(x, w, b):
        return F.conv2d(x, w, b, **config[-1])

    assert autograd.gradcheck(op, (x, w, b))
    assert autograd.gradgradcheck(op, (x, w, b))


@pytest.mark.parametrize("config", TRANSPOSE_CONFIGS[1:4], ids=[str(c[-1]) for c in TRANSPOSE_CONFIGS[1:4]])
def test_conv_transpose2d_gradcheck_and_gradgradcheck(config):
    n, c, h, w, out_channels, kernel, kwargs = config
    rng = np.random.default_rng(10)
    groups = kwargs.get("groups", 1)
    inputs = (leaf(rng.standard_normal((1, c, h, w))), leaf(rng.standard_normal((c, out_channels // groups, *kernel))),
              leaf(rng.standard_normal(out_channels)))
    def op(x, w, b):
        return F.conv_transpose2d(x, w, b, **kwargs)

    assert autograd.gradcheck(op, inputs)
    assert autograd.gradgradcheck(op, inputs)


def test_double_backward_builds_convolutions():
    x, w = leaf(np.ones((1, 1, 4, 4))), leaf(np.ones((1, 1, 3, 3)))
    y = F.conv2d(x, w, stride=2, padding=1)
    grad_x, grad_w = autograd.grad(y.sum(), (x, w), create_graph=True)
    assert grad_x.grad_fn.name() == "ConvTranspose2d"
    assert grad_w.grad_fn.name() == "Conv2dWeightGrad"
    # d/dw of sum(dL/dx) goes through the transposed convolution's own backward (a Conv2dWeightGrad).
    (second,) = autograd.grad(grad_x.sum(), w)
    assert second.shape == w.shape


# ----------------------------------------------------------------------------- edge cases
def test_empty_batch():
    x, w = autograd.zeros(0, 3, 5, 5, requires_grad=True), autograd.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    z = F.conv_transpose2d(y, w, stride=2)
    assert y.shape == (0, 4, 5, 5) and z.shape == (0, 3, 11, 11)
    z.sum().backward()
    assert x.grad.shape == x.shape and np.array_equal(w.grad.data, np.zeros((4, 3, 3, 3)))


def test_float32_stays_float32():
    x, w, b = (autograd.randn(*shape, requires_grad=True) for shape in [(2, 3, 6, 6), (4, 3, 3, 3), (4,)])
    y = F.conv2d(x, w, b, stride=2, padding=1)
    z = F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1)
    assert y.dtype == z.dtype == np.float32
    z.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


# ----------------------------------------------------------------------------- errors
def conv_call(op, input_shape, weight_shape, bias_shape=None, **kwargs):
    bias = None if bias_shape is None else autograd.zeros(*bias_shape)
    return lambda: op(autograd.zeros(*input_shape), autograd.zeros(*weight_shape), bias, **kwargs)


@pytest.mark.parametrize("call, message", [
    (conv_call(F.conv2d, (3, 5), (2, 3, 3, 3)), r"conv2d: expected a 3-d .* got shape \(3, 5\)"),
    (conv_call(F.conv2d, (1, 4, 5, 5), (2, 3, 3, 3)), "conv2d: input has 4 channels .* expects 3"),
    (conv_call(F.conv2d, (1, 4, 5, 5), (2, 2, 3, 3), groups=3), "groups=3 does not divide the 4"),
    (conv_call(F.conv2d, (1, 4, 5, 5), (3, 2, 3, 3), groups=2), "does not divide the 3 output"),
    (conv_call(F.conv2d, (1, 1, 3, 3), (1, 1, 5, 5)), "kernel 5x5 .* larger than the padded input 3x3"),
    (conv_call(F.conv2d, (1, 1, 3, 4), (1, 1, 3, 3), dilation=2, padding=(1, 0)), "spanning 5x5 .* padded input 5x4"),
    (conv_call(F.conv2d, (1, 1, 5, 5), (1, 1, 3, 3), stride=0), "stride must be positive, got 0"),
    (conv_call(F.conv2d, (1, 1, 5, 5), (1, 1, 3, 3), stride=(1, -1)), r"stride must be positive, got \(1, -1\)"),
    (conv_call(F.conv2d, (1, 1, 5, 5), (1, 1, 3, 3), stride=2, padding="same"),
     r"padding='same' needs stride 1, got stride \(2, 2\)"),
    (conv_call(F.conv2d, (1, 1, 5, 5), (1, 1, 3, 3), padding="full"), "padding must be"),
    (conv_call(F.conv2d, (1, 1, 5, 5), (2, 1, 3, 3), (3,)), r"bias must have shape \(2,\)"),
    (conv_call(F.conv1d, (1, 2, 3), (1, 2, 5)), "conv1d: kernel 5 .* padded input 3"),
    (conv_call(F.conv1d, (1, 2, 3, 3), (1, 2, 3)), "conv1d: expected a 2-d"),
    (conv_call(F.conv_transpose2d, (1, 3, 4, 4), (2, 2, 3, 3)), "input has 3 channels .* expects 2"),
    (conv_call(F.conv_transpose2d, (1, 2, 4, 4), (2, 2, 3, 3), stride=2, output_padding=2),
     "output_padding .* must be smaller than stride"),
    (conv_call(F.conv3d, (2, 4, 4), (1, 2, 3, 3, 3)), r"conv3d: expected a 4-d .* got shape \(2, 4, 4\)"),
    (conv_call(F.conv3d, (1, 2, 4, 4, 4), (1, 2, 3, 3)), r"conv3d: expected a 5-d weight, got shape \(1, 2, 3, 3\)"),
    (conv_call(F.conv3d, (1, 2, 4, 4, 2), (1, 2, 3, 3, 3)),
     "conv3d: kernel 3x3x3 .* larger than the padded input 4x4x2"),
    (conv_call(F.conv3d, (1, 4, 4, 4, 4), (2, 2, 3, 3, 3), groups=3), "conv3d: groups=3 does not divide the 4"),
    (conv_call(F.conv3d, (1, 2, 4, 4, 4), (1, 2, 3, 3, 3), stride=(1, 1)),
     r"conv3d: stride must be an int or a tuple of 3 ints, got \(1, 1\)"),
    (conv_call(F.conv_transpose3d, (1, 3, 2, 2, 2), (2, 2, 3, 3, 3)), "conv_transpose3d: input has 3 channels"),
    (conv_call(F.conv_transpose3d, (1, 2, 2, 2, 2), (2, 2, 3, 3, 3), stride=2, output_padding=(0, 2, 0)),
     r"conv_transpose3d: output_padding \(0, 2, 0\) must be smaller than stride"),
    (conv_call(F.conv_transpose3d, (1, 2, 1, 1, 1), (2, 1, 1, 1, 1), padding=1),
     "conv_transpose3d: padding .* crops the whole output .* gives -1x-1x-1"),
])
def test_bad_arguments_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- the weight gradient's two paths
@pytest.mark.parametrize("stride, size", [(2, 8), (2, 7), (1, 8)])
def test_the_weight_gradient_is_the_same_with_and_without_a_graph(stride, size):
    # Without create_graph the kernel runs on arrays (a strided conv reuses its forward's taps); with it, a
    # differentiable Conv2dWeightGrad is recorded, which reads x alone.
    rng = np.random.default_rng(13)
    x, w = leaf(rng.standard_normal((4, 3, size, size))), leaf(rng.standard_normal((5, 3, 3, 3)))
    y = F.conv2d(x, w, stride=stride, padding=1)
    g = autograd.tensor(rng.standard_normal(y.shape))
    (plain,) = autograd.grad(y, w, g)
    (recorded,) = autograd.grad(F.conv2d(x, w, stride=stride, padding=1), w, g, create_graph=True)
    assert plain.grad_fn is None and recorded.grad_fn.name() == "Conv2dWeightGrad"
    np.testing.assert_allclose(plain.data, recorded.data, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- conv3d and conv_transpose3d
def test_conv3d_by_hand():
    x = leaf(np.arange(8.0).reshape(1, 1, 2, 2, 2))
    w = leaf(np.ones((1, 1, 2, 2, 1)))
    y = F.conv3d(x, w, leaf([1.0]))
    # Each output sums a 2x2 block of depth and height at one width: x[0, 0, :, :, j].sum() + 1.
    np.testing.assert_array_equal(y.data.reshape(2), [0 + 2 + 4 + 6 + 1, 1 + 3 + 5 + 7 + 1])
    y.backward(autograd.tensor([[[[[1.0, 10.0]]]]]))
    np.testing.assert_array_equal(x.grad.data[0, 0, :, :, 0], np.ones((2, 2)))  # every x[.., 0] feeds output 0
    np.testing.assert_array_equal(x.grad.data[0, 0, :, :, 1], np.full((2, 2), 10.0))
    np.testing.assert_array_equal(w.grad.data.reshape(4), [0 + 10, 2 + 30, 4 + 50, 6 + 70])
    assert y.grad_fn.name() == "Conv3d"


CONV3D_CONFIGS = [
    (2, 2, (4, 5, 3), 3, (2, 3, 2), {}),
    (1, 2, (5, 4, 5), 2, (3, 3, 3), {"stride": 2, "padding": 1}),
    (1, 2, (5, 5, 4), 2, (2, 2, 3), {"stride": (1, 2, 1), "padding": (1, 0, 1), "dilation": (2, 1, 1)}),
    (1, 3, (4, 4, 5), 2, (2, 3, 2), {"padding": "same"}),
    (2, 4, (3, 4, 4), 4, (1, 3, 3), {"groups": 4, "padding": (0, 1, 1)}),  # depthwise
    (1, 4, (3, 3, 3), 6, (1, 1, 1), {"groups": 2}),
]


def _check_3d_against_torch(op: str, config: tuple, weight_channels, seed: int) -> None:
    """``F.<op>`` and torch's on the same float64 arrays: the values and every gradient."""
    torch = pytest.importorskip("torch")
    n, c, size, out_channels, kernel, kwargs = config
    rng = np.random.default_rng(seed)
    arrays = (rng.standard_normal((n, c, *size)),
              rng.standard_normal((*weight_channels(c, out_channels, kwargs.get("groups", 1)), *kernel)),
              rng.standard_normal(out_channels))
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = getattr(F, op)(*ours, **kwargs)
    expected = getattr(torch.nn.functional, op)(*theirs, **kwargs)
    np.testing.assert_allclose(y.data, expected.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(y.shape)
    y.backward(autograd.tensor(g))
    expected.backward(torch.tensor(g))
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("config", CONV3D_CONFIGS, ids=[str(c[-1]) for c in CONV3D_CONFIGS])
def test_conv3d_matches_torch_values_and_gradients(config):
    _check_3d_against_torch("conv3d", config, lambda c, out, groups: (out, c // groups), 14)


TRANSPOSE3D_CONFIGS = [
    (2, 2, (2, 3, 2), 3, (2, 2, 3), {}),
    (1, 2, (2, 2, 3), 2, (3, 3, 2), {"stride": 2, "padding": 1, "output_padding": (1, 0, 1)}),
    (1, 4, (2, 2, 2), 4, (2, 2, 2), {"groups": 2, "dilation": (1, 2, 1), "stride": (2, 1, 1)}),
]


@pytest.mark.parametrize("config", TRANSPOSE3D_CONFIGS, ids=[str(c[-1]) for c in TRANSPOSE3D_CONFIGS])
def test_conv_transpose3d_matches_torch_values_and_gradients(config):
    _check_3d_against_torch("conv_transpose3d", config, lambda c, out, groups: (c, out // groups), 15)


def test_conv_transpose3d_is_the_adjoint_of_conv3d():
    rng = np.random.default_rng(16)
    x, w, y = (rng.standard_normal(shape) for shape in ((2, 3, 5, 5, 6), (4, 3, 3, 2, 3), (2, 4, 3, 2, 2)))
    forward = F.conv3d(autograd.tensor(x), autograd.tensor(w), stride=2, padding=(1, 0, 0)).data
    back = F.conv_transpose3d(autograd.tensor(y), autograd.tensor(w), stride=2, padding=(1, 0, 0),
                              output_padding=(0, 1, 1)).data
    assert back.shape == x.shape
    assert np.isclose((forward * y).sum(), (x * back).sum())


def test_conv3d_double_backward_builds_3d_convolutions():
    rng = np.random.default_rng(17)
    x, w = leaf(rng.standard_normal((1, 2, 4, 4, 4))), leaf(rng.standard_normal((2, 2, 2, 2, 2)))
    y = F.conv3d(x, w, stride=2)
    grad_x, grad_w = autograd.grad((y * y).sum(), (x, w), create_graph=True)
    assert grad_x.grad_fn.name() == "ConvTranspose3d"
    assert grad_w.grad_fn.name() == "Conv3dWeightGrad"
    assert autograd.gradgradcheck(lambda a, b: F.conv3d(a, b, stride=2), (x, w))


def test_unbatched_3d_inputs():
    assert F.conv3d(autograd.zeros(2, 4, 4, 4), autograd.zeros(3, 2, 3, 3, 3), padding=1).shape == (3, 4, 4, 4)
    assert F.conv_transpose3d(autograd.zeros(2, 2, 2, 2), autograd.zeros(2, 3, 2, 2, 2), stride=2).shape == (
        3, 4, 4, 4)


def test_conv3d_keeps_float32():
    x, w = autograd.randn(1, 2, 4, 4, 4, requires_grad=True), autograd.randn(3, 2, 2, 2, 2, requires_grad=True)
    y = F.conv3d(x, w, stride=2)
    z = F.conv_transpose3d(y, w, stride=2)
    assert y.dtype == z.dtype == np.float32
    z.sum().backward()
    assert x.grad.dtype == w.grad.dtype == np.float32


# ----------------------------------------------------------------------------- node attributes
@pytest.mark.parametrize("make, expected", [
    (lambda x, w: F.conv2d(x, w), {}),
    (lambda x, w: F.conv2d(x, w, stride=2, padding=1), {"stride": 2, "padding": 1}),
    (lambda x, w: F.conv2d(x, w, stride=(2, 1), dilation=2), {"stride": (2, 1), "dilation": 2}),
    (lambda x, w: F.conv2d(x, w[:, :2], padding=(1, 0), groups=2), {"padding": (1, 0), "groups": 2}),
    (lambda x, w: F.conv2d(x, w[:, :, :2], padding="same"), {"padding": ((0, 1), (1, 1))}),
    (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
     {"stride": 2, "padding": 1, "output_padding": 1}),
    (lambda x, w: F.conv_transpose2d(x, w, stride=(2, 1)), {"stride": (2, 1)}),
])
def test_conv_nodes_describe_their_user_facing_settings(make, expected):
    x, w = autograd.randn(1, 4, 6, 6, requires_grad=True), autograd.randn(4, 4, 3, 3, requires_grad=True)
    assert make(x, w).grad_fn.attributes() == expected


def test_gradient_nodes_describe_the_convolution_they_differentiate():
    x, w = autograd.randn(1, 2, 6, 6, requires_grad=True), autograd.randn(2, 2, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)
    grad_x, grad_w = autograd.grad((y * y).sum(), (x, w), create_graph=True)
    assert grad_w.grad_fn.attributes() == {"stride": 2, "padding": 1}
    # The input gradient is a transposed convolution whose output_padding restores the row no window reached.
    assert grad_x.grad_fn.attributes() == {"stride": 2, "padding": 1, "output_padding": 1}
    assert repr(y.grad_fn) == "<Conv2d stride=2 padding=1>"
    volume = F.conv3d(autograd.randn(1, 2, 4, 4, 4, requires_grad=True), autograd.randn(2, 1, 2, 2, 2), groups=2,
                      stride=(1, 2, 2))
    assert volume.grad_fn.attributes() == {"stride": (1, 2, 2), "groups": 2}


def test_conv2d_weight_grad_is_adopted_c_contiguous():
    # .grad adopts the kernel's weight gradient as it is; strided, SGD on ResNet-18 ran 4x slower.
    for shape, kwargs in [((2, 16, 2, 2), dict(padding=1)), ((2, 3, 12, 12), dict(stride=2, padding=3)),
                          ((2, 8, 6, 6), dict(padding=1, groups=2))]:
        x = autograd.randn(*shape)
        w = autograd.randn(32, shape[1] // kwargs.get("groups", 1), 3, 3, requires_grad=True)
        F.conv2d(x, w, **kwargs).sum().backward()
        assert w.grad.data.flags.c_contiguous
