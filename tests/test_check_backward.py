"""check_backward on layers written by hand in numpy, as the CNN notes derive them: conv (with and without the
180-degree rotation of the kernel), max pooling (routing to the argmax) and average pooling (dividing by the
window); plus the error heat-maps and the finite-difference step sweep."""

import functools

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import autograd
import nn.functional as F
import viz
from autograd import GradcheckError, check_backward
from autograd.gradcheck import FAST_MODE_SIZE, finite_difference_errors


def conv_forward(x, w, b):
    """Valid cross-correlation: out[n, f, i, j] = sum_c,p,q x[n, c, i+p, j+q] w[f, c, p, q] + b[f]."""
    taps = sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwpq,fcpq->nfhw", taps, w) + b[:, None, None], (x, w)


def conv_backward(dout, cache):
    """dx: full convolution of dout with the kernel rotated 180 degrees; dw: x correlated with dout; db: sum."""
    x, w = cache
    kh, kw = w.shape[2:]
    padded = np.pad(dout, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    dx = np.einsum("nfhwpq,fcpq->nchw", sliding_window_view(padded, (kh, kw), axis=(2, 3)), w[:, :, ::-1, ::-1])
    dw = np.einsum("nchwpq,nfhw->fcpq", sliding_window_view(x, (kh, kw), axis=(2, 3)), dout)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def conv_backward_dw_mirrored(dout, cache):
    """dE/dk = rot180(conv2(x, rot180(delta), 'valid')) with the outer rot180 forgotten."""
    dx, dw, db = conv_backward(dout, cache)
    return dx, dw[:, :, ::-1, ::-1], db


def conv_backward_dx_unrotated(dout, cache):
    """dx as a full convolution with the kernel itself instead of the kernel rotated 180 degrees."""
    x, w = cache
    dx, _, _ = conv_backward(dout, (x, w[:, :, ::-1, ::-1]))
    _, dw, db = conv_backward(dout, cache)
    return dx, dw, db


def true_convolution_forward(x, w, b):
    """A textbook convolution (kernel flipped): right with its own backward, but not what conv2d computes."""
    return conv_forward(x, w[:, :, ::-1, ::-1].copy(), b)[0], (x, w)


def true_convolution_backward(dout, cache):
    x, w = cache
    dx, dw, db = conv_backward(dout, (x, w[:, :, ::-1, ::-1]))
    return dx, dw[:, :, ::-1, ::-1], db


def max_pool_forward(x):
    """2x2 max pooling, stride 2, of (N, C, H, W)."""
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    return windows.max(axis=-1), (x.shape, windows.argmax(axis=-1))


def _unpool(dout, shape, positions):
    """Put dout[..., i, j] at position ``positions[..., i, j]`` (0..3) of its 2x2 window."""
    n, c, h, w = shape
    windows = np.zeros(dout.shape + (4,))
    np.put_along_axis(windows, positions[..., None], dout[..., None], axis=-1)
    return windows.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def max_pool_backward(dout, cache):
    shape, argmax = cache
    return _unpool(dout, shape, argmax)


def max_pool_backward_top_left(dout, cache):
    """Routes every gradient to the window's first element instead of its maximum."""
    shape, argmax = cache
    return _unpool(dout, shape, np.zeros_like(argmax))


def avg_pool_forward(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)), x.shape


def avg_pool_backward(dout, shape):
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4


def avg_pool_backward_undivided(dout, shape):
    """Spreads dout over the window but forgets to divide by the window's area."""
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)


@pytest.fixture
def conv_inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)


@pytest.fixture
def map4x4():
    """A 4x4 feature map with a distinct maximum in each 2x2 window (no ties: max is differentiable there)."""
    return np.array([[1.0, 3.0, 0.5, 0.2],
                     [2.0, 0.1, 0.4, 0.9],
                     [0.3, 0.7, 1.0, 2.0],
                     [0.6, 0.2, 5.0, 4.0]]).reshape(1, 1, 4, 4)


def test_correct_conv_backward_passes_against_differences_and_conv2d(conv_inputs):
    assert check_backward(conv_forward, conv_backward, *conv_inputs, reference=F.conv2d) is True


def test_conv_weight_gradient_not_rotated_back_shows_a_mirrored_error(conv_inputs):
    with pytest.raises(GradcheckError) as caught:
        check_backward(conv_forward, conv_backward_dw_mirrored, *conv_inputs)
    message = str(caught.value)
    assert "input 'w' (input 1)" in message and "worst element: dw[" in message
    assert "analytical - numerical over dw[" in message and "per input: dx ok, dw WRONG, db ok" in message
    report = check_backward(conv_forward, conv_backward_dw_mirrored, *conv_inputs, raise_exception=False)
    error = report.errors["w"]
    # mirrored minus right: the error changes sign under the 180-degree rotation, and the centre is right
    np.testing.assert_allclose(error[:, :, ::-1, ::-1], -error, atol=1e-6)
    assert np.abs(error[:, :, 1, 1]).max() < 1e-6 and np.abs(report.errors["x"]).max() < 1e-6
    grid = [line.split() for line in message.splitlines()[-4:-1]]
    assert grid[1][1] == "." and grid[0][0][0] != grid[2][2][0]  # the map shows the sign flip too


def test_input_gradient_with_unrotated_kernel_names_dx(conv_inputs):
    report = check_backward(conv_forward, conv_backward_dx_unrotated, *conv_inputs, raise_exception=False)
    assert not report.passed and report.message.startswith(
        "check_backward: conv_backward_dx_unrotated disagrees with central differences for input 'x' (input 0):")
    assert "dx WRONG, dw ok, db ok" in report.message


def test_reference_catches_a_consistent_convolution_that_is_not_a_correlation(conv_inputs):
    """Forward and backward agree with each other (finite differences pass), but conv2d is a cross-correlation."""
    assert check_backward(true_convolution_forward, true_convolution_backward, *conv_inputs)
    with pytest.raises(GradcheckError, match=r"forward's output disagrees with the reference conv2d"):
        check_backward(true_convolution_forward, true_convolution_backward, *conv_inputs, reference=F.conv2d)


def test_max_pool_worked_example_routes_to_each_window_maximum(map4x4):
    out, cache = max_pool_forward(map4x4)
    np.testing.assert_array_equal(out[0, 0], [[3.0, 0.9], [0.7, 5.0]])
    dx = max_pool_backward(np.array([[2.0, 8.0], [4.0, 6.0]]).reshape(1, 1, 2, 2), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 2, 0, 0], [0, 0, 0, 8], [0, 4, 0, 0], [0, 0, 6, 0]])
    assert check_backward(max_pool_forward, max_pool_backward, map4x4,
                          reference=functools.partial(F.max_pool2d, kernel_size=2))


def test_max_pool_routing_to_the_wrong_element_fails(map4x4):
    report = check_backward(max_pool_forward, max_pool_backward_top_left, map4x4, raise_exception=False)
    assert not report.passed and "input 'x'" in report.message
    wrong = np.abs(report.errors["x"][0, 0]) > 1e-6
    # wrong where the gradient went (top-left corners) and where it should have gone (the maxima), nowhere else
    expected = np.zeros((4, 4), bool)
    expected[[0, 0, 2, 2], [0, 2, 0, 2]] = True
    expected[[0, 1, 2, 3], [1, 3, 1, 2]] = True
    np.testing.assert_array_equal(wrong, expected)


def test_average_pool_worked_example_and_a_forgotten_division(map4x4):
    dx = avg_pool_backward(np.full((1, 1, 1, 1), 2.0), (1, 1, 2, 2))
    np.testing.assert_array_equal(dx, np.full((1, 1, 2, 2), 0.5))  # 2 spreads as four 0.5s
    assert check_backward(avg_pool_forward, avg_pool_backward, map4x4,
                          reference=functools.partial(F.avg_pool2d, kernel_size=2))
    report = check_backward(avg_pool_forward, avg_pool_backward_undivided, map4x4, raise_exception=False)
    assert not report.passed and "per input: dx WRONG" in report.message
    values = dict(line.split(":") for line in report.message.splitlines()[2:4])
    assert float(values["  analytical"]) == pytest.approx(4 * float(values["  numerical"]))  # the window's area


def test_big_inputs_are_checked_by_a_random_projection():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 16, 16)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    assert x.size > FAST_MODE_SIZE
    report = check_backward(conv_forward, conv_backward_dx_unrotated, x, w, b, raise_exception=False)
    assert not report.passed and "one random unit direction u" in report.message and "u . dx" in report.message
    assert set(report.errors) == {"w", "b"}  # the big input has no per-element map
    assert check_backward(conv_forward, conv_backward, x, w, b)


def test_wrong_number_or_shape_of_gradients_is_reported(conv_inputs):
    with pytest.raises(GradcheckError, match=r"returned 2 gradients for 3 inputs \(x, w, b\)"):
        check_backward(conv_forward, lambda dout, cache: conv_backward(dout, cache)[:2], *conv_inputs)
    with pytest.raises(GradcheckError, match=r"returned db of shape \(1, 3\) for input 'b' of shape \(3,\)"):
        check_backward(conv_forward, lambda dout, cache: (*conv_backward(dout, cache)[:2], np.zeros((1, 3))),
                       *conv_inputs)


def test_forward_must_return_out_and_cache():
    with pytest.raises(TypeError, match=r"forward must return a pair \(out, cache\), got ndarray"):
        check_backward(lambda x: x * 2, lambda dout, cache: dout * 2, np.ones((2, 3)))


def test_inputs_are_float64_copies_and_one_gradient_may_be_a_bare_array():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    seen = []

    def square(x):
        seen.append(x.dtype)
        return x * x, x

    assert check_backward(square, lambda dout, x: 2 * x * dout, x)
    assert set(seen) == {np.dtype(np.float64)} and x.dtype == np.float32 and x[0, 1] == -2.0


def test_report_plot_draws_one_panel_per_input(conv_inputs, tmp_path):
    pytest.importorskip("matplotlib")
    report = check_backward(conv_forward, conv_backward_dw_mirrored, *conv_inputs, raise_exception=False)
    figure = viz.plot_backward_check(report, str(tmp_path / "check.png"))
    titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
    assert [title.split("[")[0].split("\n")[0] for title in titles] == ["dx", "dw", "db"]
    assert titles[1].endswith(f"max |error| {np.abs(report.errors['w']).max():.2g}")
    assert (tmp_path / "check.png").stat().st_size > 0


def test_gradcheck_sweep_plot_marks_the_gradcheck_step(tmp_path):
    pytest.importorskip("matplotlib")
    x = autograd.tensor(np.linspace(0.2, 1.5, 6), requires_grad=True)
    figure = viz.plot_gradcheck_sweep(lambda t: (t.exp() * t.sin()).sum(), (x,), str(tmp_path / "sweep.png"))
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    labels = [line.get_label() for line in axes.get_lines()]
    assert any(label.startswith("float32") for label in labels) and any(label.startswith("float64")
                                                                        for label in labels)
    assert any("gradcheck's eps = 1e-6" in text.get_text() for text in axes.texts)
    assert (tmp_path / "sweep.png").stat().st_size > 0


def test_a_wrong_gradient_of_a_0d_input_is_reported():
    report = check_backward(lambda x: (x * x, x), lambda dout, x: 3 * x * dout, np.array(2.0), raise_exception=False)
    assert not report.passed and "per input: dx WRONG" in report.message
    assert report.errors["x"].shape == ()


def test_finite_difference_errors_fall_then_rise_and_float64_beats_float32():
    x = autograd.tensor(np.linspace(0.2, 1.5, 6), requires_grad=True)
    errors = finite_difference_errors(lambda t: (t.exp() * t.sin()).sum(), (x,), [1e-1, 1e-6, 1e-13])
    assert errors["float64"][1] < 1e-8 < errors["float32"][1]
    assert errors["float64"][1] < errors["float64"][0] and errors["float64"][1] < errors["float64"][2]
