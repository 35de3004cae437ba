"""Pooling: the CNN notes' worked examples, naive loop references, PyTorch cross-checks, finite differences
(first and second order), hypothesis shapes and error messages.
"""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd
import nn.functional as F


def leaf(array, dtype=np.float64):
    return autograd.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def distinct(rng, *shape):
    """Values with no ties (so every window has a single maximum), spaced 0.1 apart."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1


def pool_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def naive_max_pool2d(x, k, s, p, d, ceil_mode):
    """The max (and its flat H*W index, first one on ties) of each window, one window at a time."""
    n, c, h, w = x.shape
    ho, wo = pool_size(h, k, s, p, d, ceil_mode), pool_size(w, k, s, p, d, ceil_mode)
    out, index = np.full((n, c, ho, wo), -np.inf), np.zeros((n, c, ho, wo), np.int64)
    for b, ch, i, j in itertools.product(range(n), range(c), range(ho), range(wo)):
        for a, e in itertools.product(range(k), range(k)):
            row, col = i * s - p + a * d, j * s - p + e * d
            if 0 <= row < h and 0 <= col < w and x[b, ch, row, col] > out[b, ch, i, j]:
                out[b, ch, i, j], index[b, ch, i, j] = x[b, ch, row, col], row * w + col
    return out, index


def naive_avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    ho, wo = pool_size(h, k, s, p, 1, ceil_mode), pool_size(w, k, s, p, 1, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    for i, j in itertools.product(range(ho), range(wo)):
        top, left = i * s - p, j * s - p
        bottom, right = min(top + k, h + p), min(left + k, w + p)  # windows stop at the padded edge
        rows, cols = slice(max(top, 0), min(bottom, h)), slice(max(left, 0), min(right, w))
        total = x[:, :, rows, cols].sum(axis=(2, 3))
        if divisor_override:
            divisor = divisor_override
        elif count_include_pad:
            divisor = (bottom - top) * (right - left)
        else:
            divisor = (rows.stop - rows.start) * (cols.stop - cols.start)
        out[:, :, i, j] = total / divisor
    return out


# ----------------------------------------------------------------------------- the CNN notes' examples
def test_max_pool_gradient_lands_on_each_window_max():
    x = leaf([[[[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]]])
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y.data[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(indices.data[0, 0], [[5, 7], [8, 15]])  # flat positions in the 4x4 plane
    y.backward(autograd.tensor([[[[2.0, 8.0], [4.0, 6.0]]]]))
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0, 0, 0], [0, 2, 0, 8], [4, 0, 0, 0], [0, 0, 0, 6]])
    assert y.grad_fn.name() == "MaxPool2d"


def test_avg_pool_gradient_spreads_evenly():
    x = leaf(np.arange(16.0).reshape(1, 1, 4, 4))
    y = F.avg_pool2d(x, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    y.backward(autograd.tensor([[[[2.0, 0.0], [0.0, 0.0]]]]))
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])


@pytest.mark.parametrize("op", [F.max_pool2d, F.avg_pool2d])
def test_output_size_28x28x6_pooled_2x2_stride_2(op):
    assert op(autograd.zeros(1, 6, 28, 28), 2, 2).shape == (1, 6, 14, 14)
    assert op(autograd.zeros(1, 16, 10, 10), 2).shape == (1, 16, 5, 5)  # LeNet-5 S4


def test_max_unpool_puts_values_back_at_the_recorded_argmax():
    x = autograd.tensor(np.array([[[[1, 9, 2, 3], [4, 5, 8, 6], [7, 0, 1, 2], [3, 4, 5, 9]]]], np.float32))
    y, indices = F.max_pool2d(x, 2, return_indices=True)
    restored = F.max_unpool2d(y, indices, 2)
    np.testing.assert_array_equal(restored.data[0, 0], [[0, 9, 0, 0], [0, 0, 8, 0], [7, 0, 0, 0], [0, 0, 0, 9]])
    assert F.max_unpool2d(y, indices, 2, output_size=(5, 5)).shape == (1, 1, 5, 5)


# ----------------------------------------------------------------------------- references
POOL_CONFIGS = [(h, w, k, s, p, d, ceil) for h, w, k, s, p, d, ceil in
                itertools.product([5, 6], [5, 7], [2, 3], [1, 2], [0, 1], [1, 2], [False, True])
                if p <= k // 2]


@pytest.mark.parametrize("h, w, k, s, p, d, ceil_mode", POOL_CONFIGS)
def test_max_pool2d_matches_naive_loops(h, w, k, s, p, d, ceil_mode):
    x = distinct(np.random.default_rng(h * w), 2, 2, h, w)
    y, indices = F.max_pool2d(autograd.tensor(x), k, s, p, d, ceil_mode, return_indices=True)
    expected, expected_indices = naive_max_pool2d(x, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(indices.data, expected_indices)


@pytest.mark.parametrize("h, w, k, s, p, ceil_mode, count_include_pad, divisor_override",
                         [(h, w, k, s, p, ceil, cip, div) for h, w, k, s, p, _, ceil in POOL_CONFIGS[::3]
                          if 2 * p <= k for cip, div in [(True, None), (False, None), (True, 5)]])
def test_avg_pool2d_matches_naive_loops(h, w, k, s, p, ceil_mode, count_include_pad, divisor_override):
    x = np.random.default_rng(h + w).standard_normal((2, 2, h, w))
    y = F.avg_pool2d(autograd.tensor(x), k, s, p, ceil_mode, count_include_pad, divisor_override)
    np.testing.assert_allclose(y.data, naive_avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override),
                               atol=1e-12)


@pytest.mark.parametrize("op, kwargs", [
    ("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("max_pool2d", {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0), "dilation": (2, 1)}),
    ("max_pool2d", {"kernel_size": 2}),
    ("avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg_pool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True, "count_include_pad": False, "padding": 1}),
    ("avg_pool2d", {"kernel_size": (2, 3), "stride": 1, "divisor_override": 3}),
])
def test_pools_match_torch_values_indices_and_gradients(op, kwargs):
    torch = pytest.importorskip("torch")
    if op == "max_pool2d":
        kwargs = {**kwargs, "return_indices": True}
    x = distinct(np.random.default_rng(0), 2, 3, 7, 6)
    ours, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    y = getattr(F, op)(ours, **kwargs)
    expected = getattr(torch.nn.functional, op)(theirs, **kwargs)
    if op == "max_pool2d":
        np.testing.assert_array_equal(y[1].data, expected[1].numpy())
        y, expected = y[0], expected[0]
    np.testing.assert_allclose(y.data, expected.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(autograd.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("size, out", [((5, 7), (3, 2)), ((8, 8), (3, 5)), ((6, 6), (2, 3)), ((3, 4), (5, 7)),
                                       ((7, 5), 1)])
def test_adaptive_pools_match_the_bin_formula_and_torch(size, out):
    x = distinct(np.random.default_rng(2), 2, 2, *size)
    ho, wo = (out, out) if isinstance(out, int) else out
    expected_avg = np.zeros((2, 2, ho, wo))
    expected_max = np.zeros((2, 2, ho, wo))
    for i, j in itertools.product(range(ho), range(wo)):
        rows = slice(i * size[0] // ho, -(-(i + 1) * size[0] // ho))
        cols = slice(j * size[1] // wo, -(-(j + 1) * size[1] // wo))
        expected_avg[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
        expected_max[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(autograd.tensor(x), out).data, expected_avg, atol=1e-12)
    values, indices = F.adaptive_max_pool2d(autograd.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(values.data, expected_max)
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 2, -1), indices.data.reshape(2, 2, -1), 2),
                                  expected_max.reshape(2, 2, -1))
    torch = pytest.importorskip("torch")
    reference, reference_indices = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(indices.data, reference_indices.numpy())


def test_adaptive_avg_pool_to_1x1_is_the_global_mean_and_keeps_float32():
    x = autograd.randn(2, 3, 5, 4, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, (1, 1))
    np.testing.assert_allclose(y.data[:, :, 0, 0], x.data.mean(axis=(2, 3)), rtol=1e-6)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, np.full((2, 3, 5, 4), 1 / 20, np.float32))


@pytest.mark.parametrize("shape", [(2, 3, 3, 5), (3, 4, 2)])
def test_adaptive_avg_pool_to_1x1_gradcheck_and_gradgradcheck(shape):
    x = leaf(distinct(np.random.default_rng(3), *shape))
    y = F.adaptive_avg_pool2d(x, 1)
    assert y.shape == shape[:-2] + (1, 1)
    np.testing.assert_allclose(y.data[..., 0, 0], x.data.mean(axis=(-2, -1)), atol=1e-12)
    assert autograd.gradcheck(lambda a: F.adaptive_avg_pool2d(a, 1), (x,))
    assert autograd.gradgradcheck(lambda a: F.adaptive_avg_pool2d(a, (1, 1)), (x,))


def test_padding_is_minus_infinity_and_nan_propagates():
    x = autograd.tensor(-np.ones((1, 1, 3, 3), np.float32) - np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3))
    y, indices = F.max_pool2d(x, 2, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(y.data[0, 0], [[-1, -2], [-4, -5]])  # not the padding's 0
    np.testing.assert_array_equal(indices.data[0, 0], [[0, 1], [3, 4]])
    all_minus_inf = F.max_pool2d(autograd.full((1, 1, 2, 2), -np.inf), 2, padding=1, return_indices=True)
    assert (all_minus_inf[1].data >= 0).all() and (all_minus_inf[1].data < 4).all()
    with_nan = np.zeros((1, 1, 2, 2), np.float32)
    with_nan[0, 0, 1, 0] = np.nan
    assert np.isnan(F.max_pool2d(autograd.tensor(with_nan), 2).data).all()


def test_argmax_ties_and_nans_follow_pytorch():
    # A tie reports the first maximum of the window; with NaNs, the last NaN (PyTorch's CPU kernels update on
    # every NaN they meet).
    ties = F.max_pool2d(autograd.ones(1, 1, 4, 4), 2, return_indices=True)[1]
    np.testing.assert_array_equal(ties.data[0, 0], [[0, 2], [8, 10]])
    tie_after_a_smaller_first = autograd.tensor([[[[0.0, 2.0], [2.0, 1.0]]]])
    assert F.max_pool2d(tie_after_a_smaller_first, 2, return_indices=True)[1].item() == 1
    two_nans = np.zeros((1, 1, 3, 3), np.float32)
    two_nans[0, 0, 0, 2] = two_nans[0, 0, 2, 0] = np.nan
    assert F.max_pool2d(autograd.tensor(two_nans), 3, return_indices=True)[1].item() == 6
    assert F.adaptive_max_pool2d(autograd.tensor(two_nans), 1, return_indices=True)[1].item() == 6


def test_a_window_of_more_than_255_taps():
    x = distinct(np.random.default_rng(5), 1, 2, 18, 18)
    y, indices = F.max_pool2d(autograd.tensor(x), 17, stride=1, return_indices=True)
    expected, expected_indices = naive_max_pool2d(x, 17, 1, 0, 1, False)
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(indices.data, expected_indices)


def test_unbatched_inputs():
    x = distinct(np.random.default_rng(3), 2, 4, 4)
    y, indices = F.max_pool2d(autograd.tensor(x), 2, return_indices=True)
    assert y.shape == indices.shape == (2, 2, 2)
    assert F.max_unpool2d(y, indices, 2).shape == (2, 4, 4)
    assert F.avg_pool2d(autograd.tensor(x), 2).shape == (2, 2, 2)
    assert F.adaptive_avg_pool2d(autograd.tensor(x), 3).shape == (2, 3, 3)
    assert F.adaptive_max_pool2d(autograd.tensor(x), (3, None)).shape == (2, 3, 4)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 8), w=st.integers(1, 8), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 1),
       ceil_mode=st.booleans())
def test_max_and_avg_pool_shapes_and_values(h, w, k, s, p, ceil_mode):
    assume(2 * p <= k and min(h, w) + 2 * p >= k)
    x = distinct(np.random.default_rng(h * 8 + w), 1, 2, h, w).astype(np.float32)
    y = F.max_pool2d(autograd.tensor(x), k, s, p, ceil_mode=ceil_mode)
    expected, _ = naive_max_pool2d(x, k, s, p, 1, ceil_mode)
    assert y.shape == expected.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, expected)
    average = F.avg_pool2d(autograd.tensor(x), k, s, p, ceil_mode)
    np.testing.assert_allclose(average.data, naive_avg_pool2d(x, k, s, p, ceil_mode, True, None), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- finite differences
GRAD_CASES = [
    ("max 3x3 stride 2 pad 1", lambda x: F.max_pool2d(x, 3, 2, 1)),
    ("max 2x2 stride 1 dilation 2", lambda x: F.max_pool2d(x, 2, 1, dilation=2)),
    ("max 2x3 ceil_mode", lambda x: F.max_pool2d(x, (2, 3), 2, ceil_mode=True)),
    ("avg 3x3 stride 2 pad 1 ceil no-pad-count", lambda x: F.avg_pool2d(x, 3, 2, 1, True, False)),
    ("avg 2x2 stride 1 divisor 3", lambda x: F.avg_pool2d(x, 2, 1, divisor_override=3)),
    ("adaptive max 3x2", lambda x: F.adaptive_max_pool2d(x, (3, 2))),
    ("adaptive avg 3x4", lambda x: F.adaptive_avg_pool2d(x, (3, 4))),
]


@pytest.mark.parametrize("name, op", GRAD_CASES, ids=[name for name, _ in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(name, op):
    x = leaf(distinct(np.random.default_rng(4), 2, 2, 5, 5) + 0.01)
    assert autograd.gradcheck(op, (x,))
    assert autograd.gradgradcheck(op, (x,))


def test_max_unpool2d_gradcheck_and_gradgradcheck_with_repeated_indices():
    _, indices = F.max_pool2d(autograd.tensor(distinct(np.random.default_rng(5), 1, 2, 4, 4)), 3, 1,
                              return_indices=True)
    values = leaf(np.random.default_rng(6).standard_normal((1, 2, 2, 2)))

    def op(v):
        return F.max_unpool2d(v, indices, 3, 1)

    assert autograd.gradcheck(op, (values,))
    assert autograd.gradgradcheck(op, (values,))


def test_gradients_are_pooling_ops_again():
    x = leaf(distinct(np.random.default_rng(7), 1, 1, 4, 4))
    # Squared, so that the gradient flowing into each pooling op depends on x and is recorded.
    (grad_max,) = autograd.grad((F.max_pool2d(x, 2) ** 2).sum(), x, create_graph=True)
    assert grad_max.grad_fn.name() == "MaxUnpool2d"
    (grad_avg,) = autograd.grad((F.avg_pool2d(x, 2) ** 2).sum(), x, create_graph=True)
    assert grad_avg.grad_fn.name() == "AvgSpread2d"


def test_overlapping_windows_accumulate_in_the_gradient():
    # One maximum shared by all four 2x2 windows of a 3x3 map (stride 1) gets all four gradients.
    x = leaf([[[[0, 0, 0], [0, 9, 0], [0, 0, 0]]]])
    F.max_pool2d(x, 2, 1).backward(autograd.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert x.grad.data[0, 0, 1, 1] == 10 and x.grad.data.sum() == 10


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(autograd.zeros(4, 4), 2), r"max_pool2d: expected a 3-d .* got shape \(4, 4\)"),
    (lambda: F.max_pool2d(autograd.zeros(1, 1, 4, 4), 2, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda: F.avg_pool2d(autograd.zeros(1, 1, 2, 2), 3), "kernel .* larger than the input 2x2 with padding"),
    (lambda: F.max_pool2d(autograd.zeros(1, 1, 4, 4), 2, stride=0), "stride must be positive"),
    (lambda: F.avg_pool2d(autograd.zeros(1, 1, 4, 4), 2, divisor_override=0), "divisor_override must be non-zero"),
    (lambda: F.adaptive_avg_pool2d(autograd.zeros(1, 1, 4, 4), (0, 2)), "output_size"),
    (lambda: F.max_unpool2d(autograd.zeros(1, 1, 2, 2), autograd.tensor(np.full((1, 1, 2, 2), 16)), 2),
     "index 16 is out of range for an output plane of 4x4"),
    (lambda: F.max_unpool2d(autograd.zeros(1, 1, 2, 2), autograd.tensor(np.zeros((1, 1, 2, 2), np.int64)), 2,
                            output_size=(7, 7)), "output_size .* within stride"),
    (lambda: F.max_unpool2d(autograd.zeros(1, 1, 2, 2), autograd.zeros(1, 1, 2, 2), 2), "indices must be integers"),
])
def test_bad_arguments_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ceil_mode_keeps_a_window_that_reaches_past_the_input():
    # A dilated 3x3 kernel spans 5 rows of a 4x4 input: no window fits, but ceil_mode keeps the one that starts
    # inside the input (as PyTorch does); without ceil_mode that is an error.
    x = distinct(np.random.default_rng(11), 1, 2, 4, 4)
    y, indices = F.max_pool2d(autograd.tensor(x), 3, 2, 0, 2, ceil_mode=True, return_indices=True)
    expected, expected_indices = naive_max_pool2d(x, 3, 2, 0, 2, True)
    assert y.shape == (1, 2, 1, 1)
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(indices.data, expected_indices)
    average = F.avg_pool2d(autograd.tensor(x[:, :, :2, :2]), 3, 2, ceil_mode=True)
    np.testing.assert_allclose(average.data, naive_avg_pool2d(x[:, :, :2, :2], 3, 2, 0, True, True, None))
    with pytest.raises(ValueError, match="larger than the input 4x4"):
        F.max_pool2d(autograd.tensor(x), 3, 2, 0, 2)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64, np.bool_])
def test_max_pool_of_integers_pads_with_the_dtype_minimum(dtype):
    values = np.random.default_rng(3).integers(0, 2 if dtype == np.bool_ else 100, (2, 2, 5, 6))
    x = values.astype(dtype)
    if dtype == np.int8:
        x[0, 0, 0, 0] = np.iinfo(np.int8).min  # a window at the corner holds only the minimum and padding
        x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, 1, 1] = np.iinfo(np.int8).min
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, indices = F.max_pool2d(autograd.tensor(x), 3, stride=2, padding=1, return_indices=True)
    expected, expected_indices = naive_max_pool2d(x.astype(np.float64), 3, 2, 1, 1, False)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, expected.astype(dtype))
    np.testing.assert_array_equal(indices.data, expected_indices)


# ----------------------------------------------------------------------------- 3-d pooling
def test_max_and_avg_pool3d_by_hand():
    x = leaf(np.arange(16.0).reshape(1, 1, 2, 2, 4))
    y, indices = F.max_pool3d(x, 2, return_indices=True)
    # Two 2x2x2 windows: the first holds x[.., 0:2] of both depths and rows, whose maximum is 13.
    np.testing.assert_array_equal(y.data.reshape(2), [13, 15])
    np.testing.assert_array_equal(indices.data.reshape(2), [13, 15])  # flat positions in the 2x2x4 volume
    y.backward(autograd.tensor([[[[[1.0, 2.0]]]]]))
    assert x.grad.data.reshape(-1)[13] == 1 and x.grad.data.reshape(-1)[15] == 2 and x.grad.data.sum() == 3
    average = F.avg_pool3d(x, 2)
    np.testing.assert_array_equal(average.data.reshape(2), [(0 + 1 + 4 + 5 + 8 + 9 + 12 + 13) / 8,
                                                            (2 + 3 + 6 + 7 + 10 + 11 + 14 + 15) / 8])
    assert y.grad_fn.name() == "MaxPool3d" and average.grad_fn.name() == "AvgPool3d"


@pytest.mark.parametrize("op, kwargs", [
    ("max_pool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("max_pool3d", {"kernel_size": (2, 3, 2), "stride": (1, 2, 1), "padding": (1, 0, 1), "dilation": (2, 1, 1)}),
    ("avg_pool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg_pool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    ("avg_pool3d", {"kernel_size": (2, 3, 2), "stride": 1, "divisor_override": 3}),
])
def test_pool3d_matches_torch_values_indices_and_gradients(op, kwargs):
    torch = pytest.importorskip("torch")
    if op == "max_pool3d":
        kwargs = {**kwargs, "return_indices": True}
    x = distinct(np.random.default_rng(12), 2, 2, 5, 6, 5)
    ours, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    y = getattr(F, op)(ours, **kwargs)
    expected = getattr(torch.nn.functional, op)(theirs, **kwargs)
    if op == "max_pool3d":
        np.testing.assert_array_equal(y[1].data, expected[1].numpy())
        y, expected = y[0], expected[0]
    np.testing.assert_allclose(y.data, expected.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(13).standard_normal(y.shape)
    y.backward(autograd.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-12)


def test_pool3d_gradients_are_3d_pooling_ops_again():
    x = leaf(distinct(np.random.default_rng(14), 1, 1, 4, 4, 4))
    (grad_max,) = autograd.grad((F.max_pool3d(x, 2) ** 2).sum(), x, create_graph=True)
    assert grad_max.grad_fn.name() == "MaxUnpool3d"
    (grad_avg,) = autograd.grad((F.avg_pool3d(x, 2, 1) ** 2).sum(), x, create_graph=True)
    assert grad_avg.grad_fn.name() == "AvgSpread3d"
    assert autograd.gradgradcheck(lambda a: F.avg_pool3d(a, 3, 2, 1, ceil_mode=True), (x,))


def test_unbatched_and_float32_pool3d():
    x = autograd.randn(2, 4, 4, 4)
    y, indices = F.max_pool3d(x, 2, return_indices=True)
    assert y.shape == indices.shape == (2, 2, 2, 2) and y.dtype == np.float32
    assert F.avg_pool3d(x, 2).shape == (2, 2, 2, 2) and F.avg_pool3d(x, 2).dtype == np.float32


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool3d(autograd.zeros(4, 4, 4), 2), r"max_pool3d: expected a 4-d \(C, D, H, W\) .* \(4, 4, 4\)"),
    (lambda: F.max_pool3d(autograd.zeros(1, 1, 4, 4, 4), 2, padding=(0, 2, 0)),
     r"max_pool3d: padding \(0, 2, 0\) must be at most half"),
    (lambda: F.avg_pool3d(autograd.zeros(1, 1, 4, 2, 4), 3), "avg_pool3d: kernel .* larger than the input 4x2x4"),
    (lambda: F.avg_pool3d(autograd.zeros(1, 1, 4, 4, 4), (2, 2)), "avg_pool3d: kernel_size must be .* 3 ints"),
    (lambda: F.avg_pool3d(autograd.zeros(1, 1, 4, 4, 4, dtype=autograd.int64), 2), "avg_pool3d: expected a floating"),
    (lambda: F.avg_pool3d(autograd.zeros(1, 1, 4, 4, 4), 2, divisor_override=0), "divisor_override must be non-zero"),
])
def test_bad_pool3d_arguments_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- node attributes
@pytest.mark.parametrize("make, expected", [
    (lambda x: F.max_pool2d(x, 2), {"kernel_size": 2}),
    (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), {"kernel_size": 3, "stride": 2, "padding": 1,
                                                         "ceil_mode": True}),
    (lambda x: F.max_pool2d(x, (2, 3), 1, dilation=(1, 2)), {"kernel_size": (2, 3), "stride": 1,
                                                             "dilation": (1, 2)}),
    (lambda x: F.avg_pool2d(x, 2), {"kernel_size": 2}),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False, divisor_override=4),
     {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False, "divisor_override": 4}),
    (lambda x: F.adaptive_max_pool2d(x, (2, 3)), {"output_size": (2, 3)}),
])
def test_pooling_nodes_describe_their_user_facing_settings(make, expected):
    x = autograd.randn(1, 2, 6, 6, requires_grad=True)
    assert make(x).grad_fn.attributes() == expected


def test_pooling_gradient_nodes_describe_the_pooling():
    x = leaf(distinct(np.random.default_rng(15), 1, 1, 6, 6, 6))
    (grad_avg,) = autograd.grad((F.avg_pool3d(x, 3, 2, 1) ** 2).sum(), x, create_graph=True)
    assert grad_avg.grad_fn.attributes() == {"kernel_size": 3, "stride": 2, "padding": 1}
    assert F.max_pool3d(x, (1, 2, 2)).grad_fn.attributes() == {"kernel_size": (1, 2, 2)}
