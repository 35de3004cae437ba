"""pad (reflect, replicate, circular), interpolate (nearest, bilinear) and linear: hand-computed
values, numpy references, gradients and error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn.functional as F
from autograd import Tensor

NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def test_pad_modes_by_hand():
    x = Tensor(np.array([[[1.0, 2.0, 3.0]]]))
    assert F.pad(x, (2, 1), mode="reflect").data.tolist() == [[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]]
    assert F.pad(x, (2, 1), mode="replicate").data.tolist() == [[[1.0, 1.0, 1.0, 2.0, 3.0, 3.0]]]
    assert F.pad(x, (2, 1), mode="circular").data.tolist() == [[[2.0, 3.0, 1.0, 2.0, 3.0, 1.0]]]
    assert F.pad(x, (1, 1)).data.tolist() == [[[0.0, 1.0, 2.0, 3.0, 0.0]]]  # value=None pads with 0, as in PyTorch
    assert F.pad(x, (1, 0), value=-1.5).data.tolist() == [[[-1.5, 1.0, 2.0, 3.0]]]


@pytest.mark.parametrize("mode, widths, expected", [
    ("reflect", (1, 1), [1.0, 3.0, 1.0]),    # [b, a, b, c, b]
    ("replicate", (2, 1), [3.0, 1.0, 2.0]),  # [a, a, a, b, c, c]
    ("circular", (2, 0), [1.0, 2.0, 2.0]),   # [b, c, a, b, c]
])
def test_pad_gradient_adds_each_copy_back(mode, widths, expected):
    x = Tensor(np.array([[[1.0, 2.0, 3.0]]]), requires_grad=True)
    F.pad(x, widths, mode=mode).sum().backward()
    assert x.grad.data.ravel().tolist() == expected


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, widths", [((2, 5), (1, 3)), ((2, 3, 5), (4, 0)), ((3, 4, 5), (1, 2, 3, 0)),
                                           ((1, 2, 4, 5), (0, 3, 2, 2)), ((1, 2, 3, 4, 5), (1, 0, 2, 1, 2, 2))])
def test_pad_matches_numpy(mode, shape, widths):
    x = np.random.default_rng(0).normal(size=shape)
    padded = len(widths) // 2
    numpy_widths = [(0, 0)] * (len(shape) - padded) + [(widths[2 * i], widths[2 * i + 1])
                                                        for i in reversed(range(padded))]
    np.testing.assert_array_equal(F.pad(Tensor(x), widths, mode=mode).data,
                                  np.pad(x, numpy_widths, mode=NUMPY_MODES[mode]))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradcheck_and_gradgradcheck(mode):
    x = Tensor(np.random.default_rng(1).normal(size=(1, 2, 3, 4)), requires_grad=True)
    assert autograd.gradcheck(lambda a: F.pad(a, (3, 1, 2, 2), mode=mode), (x,))
    assert autograd.gradgradcheck(lambda a: F.pad(a, (3, 1, 2, 2), mode=mode), (x,))


@settings(max_examples=30, deadline=None)
@given(mode=st.sampled_from(["reflect", "replicate", "circular"]), height=st.integers(2, 5),
       width=st.integers(2, 5), data=st.data())
def test_pad_random_widths(mode, height, width, data):
    limit_h, limit_w = (height - 1, width - 1) if mode == "reflect" else (height, width)
    widths = [data.draw(st.integers(0, limit)) for limit in (limit_w, limit_w, limit_h, limit_h)]
    x = np.arange(2 * height * width, dtype=np.float64).reshape(2, height, width)
    expected = np.pad(x, [(0, 0), (widths[2], widths[3]), (widths[0], widths[1])], mode=NUMPY_MODES[mode])
    np.testing.assert_array_equal(F.pad(Tensor(x), widths, mode=mode).data, expected)


def test_pad_errors():
    x = Tensor(np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"reflect padding \(3, 0\) of dimension 3 \(size 3\) must be at most 2"):
        F.pad(x, (3, 0, 0, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"circular padding \(0, 4\) of dimension 2 \(size 3\) must be at most 3"):
        F.pad(x, (0, 0, 0, 4), mode="circular")
    with pytest.raises(ValueError, match=r"last 1 dimensions needs a 2-d or 3-d input, got shape \(1, 2, 3, 3\)"):
        F.pad(x, (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="unknown mode 'mirror'"):
        F.pad(x, (1, 1), mode="mirror")


def test_nearest_by_hand():
    x = Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    out = F.interpolate(x, scale_factor=2)
    np.testing.assert_array_equal(out.data[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 4.0)
    # PyTorch's legacy rule: source = floor(dst * in / out); 3 -> 5 picks rows 0, 0, 1, 1, 2
    rows = F.interpolate(Tensor(np.arange(3.0).reshape(1, 1, 3, 1)), size=(5, 1)).data.ravel()
    np.testing.assert_array_equal(rows, [0, 0, 1, 1, 2])


def test_bilinear_by_hand():
    x = Tensor(np.array([[[[0.0, 1.0]]]]))
    aligned = F.interpolate(x, size=(1, 4), mode="bilinear", align_corners=True).data.ravel()
    np.testing.assert_allclose(aligned, [0, 1 / 3, 2 / 3, 1])
    # pixel centres: source = (j + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the edge)
    centred = F.interpolate(x, size=(1, 4), mode="bilinear", align_corners=False).data.ravel()
    np.testing.assert_allclose(centred, [0, 0.25, 0.75, 1])


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("bilinear", False), ("bilinear", True)])
@pytest.mark.parametrize("kwargs", [{"size": (5, 7)}, {"scale_factor": 0.6}, {"size": (2, 9)}])
def test_interpolate_gradcheck_and_gradgradcheck(mode, align_corners, kwargs):
    x = Tensor(np.random.default_rng(2).normal(size=(1, 2, 3, 4)), requires_grad=True)

    def function(a):
        return F.interpolate(a, mode=mode, align_corners=align_corners, **kwargs)

    assert autograd.gradcheck(function, (x,))
    assert autograd.gradgradcheck(function, (x,))


def test_bilinear_preserves_constants_and_linear_ramps():
    ramp = np.add.outer(np.arange(4.0), 2 * np.arange(5.0))[None, None]
    out = F.interpolate(Tensor(ramp), size=(7, 9), mode="bilinear", align_corners=True).data[0, 0]
    rows, columns = np.linspace(0, 3, 7), np.linspace(0, 4, 9)
    np.testing.assert_allclose(out, np.add.outer(rows, 2 * columns), atol=1e-12)
    constant = F.interpolate(Tensor(np.full((1, 1, 3, 3), 2.5)), scale_factor=1.7, mode="bilinear").data
    np.testing.assert_allclose(constant, 2.5)


def test_interpolate_errors():
    x = Tensor(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"3-d, 4-d or 5-d \(N, C, \*spatial\) input, got shape \(2, 2\)"):
        F.interpolate(Tensor(np.zeros((2, 2))), size=3)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners can only be set with the interpolating modes"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(ValueError, match="mode must be one of 'nearest', .*, got 'cubic'"):
        F.interpolate(x, size=3, mode="cubic")
    with pytest.raises(ValueError, match=r"output size \(0, 0\) must be positive"):
        F.interpolate(x, scale_factor=0.2)


def test_linear():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4)), rng.normal(size=5)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w), Tensor(b)).data, x @ w.T + b)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w)).data, x @ w.T)
    leaves = tuple(Tensor(v, requires_grad=True) for v in (x[0], w, b))
    assert autograd.gradcheck(F.linear, leaves)
    assert autograd.gradgradcheck(F.linear, leaves)
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) has 3 features but weight of shape \(5, 4\) "
                                         r"expects 4"):
        F.linear(Tensor(np.zeros((2, 3))), Tensor(w))
    with pytest.raises(ValueError, match=r"bias has shape \(4,\), expected \(5,\)"):
        F.linear(Tensor(x), Tensor(w), Tensor(np.zeros(4)))


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 5, 7)).astype(np.float32)
    for kwargs in ({"size": (9, 4)}, {"scale_factor": 1.7}, {"scale_factor": (0.5, 2.5)}, {"size": 3}):
        for mode, align_corners in (("nearest", None), ("bilinear", False), ("bilinear", True)):
            ours = F.interpolate(Tensor(x), mode=mode, align_corners=align_corners, **kwargs).data
            theirs = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, align_corners=align_corners,
                                                     **kwargs).numpy()
            np.testing.assert_allclose(ours, theirs, atol=1e-6)
    for mode in ("reflect", "replicate", "circular"):
        np.testing.assert_array_equal(F.pad(Tensor(x), (2, 1, 0, 3), mode=mode).data,
                                      torch.nn.functional.pad(torch.tensor(x), (2, 1, 0, 3), mode=mode).numpy())


def reference_bilinear(x, size, align_corners):
    """Bilinear resize in float64, one output pixel at a time, with PyTorch's source positions."""
    (h, w), (ho, wo) = x.shape[2:], size

    def taps(n_in, n_out, j):
        if align_corners:
            source = j * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            source = max((j + 0.5) * n_in / n_out - 0.5, 0.0)
        low = min(int(source), n_in - 1)
        return low, min(low + 1, n_in - 1), source - low

    out = np.zeros(x.shape[:2] + (ho, wo))
    for i in range(ho):
        r0, r1, fr = taps(h, ho, i)
        for j in range(wo):
            c0, c1, fc = taps(w, wo, j)
            top = x[:, :, r0, c0] * (1 - fc) + x[:, :, r0, c1] * fc
            bottom = x[:, :, r1, c0] * (1 - fc) + x[:, :, r1, c1] * fc
            out[:, :, i, j] = top * (1 - fr) + bottom * fr
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
@pytest.mark.parametrize("size, align_corners", [((11, 13), False), ((4, 6), True), ((3, 17), False)])
def test_bilinear_integer_images_are_interpolated_in_float_and_rounded(dtype, size, align_corners):
    info = np.iinfo(dtype)
    low, high = (0, 255) if dtype == np.uint8 else (max(info.min, -10**9), min(info.max, 10**9))
    x = np.random.default_rng(5).integers(low, high, (1, 3, 7, 9), endpoint=True).astype(dtype)
    out = F.interpolate(Tensor(x), size=size, mode="bilinear", align_corners=align_corners)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.data, np.rint(reference_bilinear(x.astype(np.float64), size, align_corners)))


def test_bilinear_uint8_is_within_one_of_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).integers(0, 256, (2, 3, 7, 9)).astype(np.uint8)
    for size, align_corners in (((11, 13), False), ((4, 5), True), ((14, 18), False)):
        ours = F.interpolate(Tensor(x), size=size, mode="bilinear", align_corners=align_corners).data
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode="bilinear",
                                                 align_corners=align_corners).numpy()
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1  # PyTorch's weights are fixed-point


def test_nearest_works_for_every_dtype():
    for x in (np.array([[[[0, 255], [7, 9]]]], np.uint8), np.array([[[[True, False]]]])):
        out = F.interpolate(Tensor(x), size=(x.shape[2], 4))
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(out.data, x.repeat(2, axis=3))


def test_float16_bilinear_positions_stay_exact_past_2048():
    row = np.random.default_rng(7).normal(size=(1, 1, 1, 3000)).astype(np.float16)
    x = Tensor(row, requires_grad=True)
    same = F.interpolate(x, size=(1, 3000), mode="bilinear")
    assert same.dtype == np.float16
    np.testing.assert_array_equal(same.data, row)  # every source position is an input pixel
    halved = F.interpolate(x, size=(1, 1500), mode="bilinear")
    np.testing.assert_array_equal(halved.data, ((row[..., ::2].astype(np.float32) + row[..., 1::2]) / 2).astype(
        np.float16))
    halved.sum().backward()
    assert x.grad.dtype == np.float16 and (x.grad.data == np.float16(0.5)).all()
