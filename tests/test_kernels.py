"""The array kernels: every fast convolution path against the reference kernel on random and chosen
configurations, the reference kernels against hand-computed cases, and the pooling kernels against theirs.
"""

import numpy as np
import pytest

from autograd.kernels import parallel
from autograd.kernels.conv import (
    ConvSpec, _reads_stride_phases, correlate, output_size, reference_correlate, reference_transposed_convolution,
    reference_weight_gradient, restoring_output_padding, transposed_convolution, transposed_output_size,
    weight_gradient,
)
from autograd.kernels.pooling import (
    PoolSpec, max_pool, reference_max_pool, reference_window_sums, spread_windows, window_sums,
)
from autograd.kernels.pooling import output_size as pool_output_size


def spec(kernel, stride=1, padding=0, dilation=1, groups=1):
    """A 2-d ConvSpec from ints or pairs; padding as an int, a pair, or (before, after) pairs."""
    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)
    pads = padding if isinstance(padding, tuple) and isinstance(padding[0], tuple) else tuple(
        (p, p) for p in pair(padding))
    return ConvSpec(pair(kernel), pair(stride), pads, pair(dilation), groups)


def check_against_reference(rng, n, channels, size, out_channels, conv_spec, dtype=np.float64):
    """The fast correlation, weight gradient (with and without kept taps) and transposed convolution agree
    with the reference kernels."""
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    x = rng.standard_normal((n, channels, *size)).astype(dtype)
    w = rng.standard_normal((out_channels, channels // conv_spec.groups, *conv_spec.kernel)).astype(dtype)
    b = rng.standard_normal(out_channels).astype(dtype)
    y, taps = correlate(x, w, b, conv_spec, keep_taps=True)
    expected = reference_correlate(x.astype(np.float64), w.astype(np.float64), conv_spec) + b[:, None, None]
    assert y.dtype == dtype
    np.testing.assert_allclose(y, expected, rtol=tolerance, atol=tolerance)
    g = rng.standard_normal(y.shape).astype(dtype)
    expected_dw = reference_weight_gradient(x.astype(np.float64), g.astype(np.float64), conv_spec)
    for kept in (taps, None):
        np.testing.assert_allclose(weight_gradient(x, g, conv_spec, kept), expected_dw, rtol=tolerance,
                                   atol=tolerance)
    if all(before == after for before, after in conv_spec.padding):  # transposed convolutions pad symmetrically
        output_padding = restoring_output_padding(size, y.shape[2:], conv_spec)
        # The transposed convolution maps the convolution's output shape back to its input's.
        back = transposed_convolution(g, w, None, conv_spec, output_padding)
        assert back.shape == x.shape
        np.testing.assert_allclose(back, reference_transposed_convolution(g, w, conv_spec, output_padding),
                                   rtol=tolerance, atol=tolerance)


def random_configs(count, seed, width=1):
    """(n, channels, (H, W), out_channels, spec) over strides, padding (incl. asymmetric), dilation and groups;
    ``width`` times as many channels per group."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        groups = int(rng.integers(1, 4))
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        stride = tuple(int(s) for s in rng.integers(1, 4, 2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (2, 2)))
        if rng.random() < 0.5:
            pads = tuple((a, a) for a, _ in pads)
        size = tuple(int(v) for v in rng.integers(1, 10, 2))
        conv_spec = ConvSpec(kernel, stride, pads, dilation, groups)
        if min(output_size(size, conv_spec)) < 1:
            continue
        configs.append((int(rng.integers(1, 4)), groups * width * int(rng.integers(1, 3)), size,
                        groups * width * int(rng.integers(1, 3)), conv_spec))
    return configs


@pytest.mark.parametrize("n, channels, size, out_channels, conv_spec", random_configs(120, 0))
def test_fast_kernels_match_the_reference_on_random_configs(n, channels, size, out_channels, conv_spec):
    check_against_reference(np.random.default_rng(1), n, channels, size, out_channels, conv_spec)


# 32 or more channels per group: products per kernel row (fewer taps take all kernel rows at once), side by side
# over the images wherever the images are small.
@pytest.mark.parametrize("n, channels, size, out_channels, conv_spec", random_configs(40, 13, width=32))
def test_fast_kernels_match_the_reference_on_random_configs_with_many_channels(n, channels, size, out_channels,
                                                                               conv_spec):
    check_against_reference(np.random.default_rng(14), n, channels, size, out_channels, conv_spec)


@pytest.mark.parametrize("n, channels, size, out_channels, conv_spec",
                         random_configs(60, 11) + random_configs(20, 16, width=32))
def test_fast_transposed_convolution_matches_the_reference_for_every_output_padding(n, channels, size, out_channels,
                                                                                    conv_spec):
    rng = np.random.default_rng(12)
    conv_spec = conv_spec._replace(padding=tuple((before, before) for before, _ in conv_spec.padding))
    x = rng.standard_normal((n, out_channels, *size))
    w = rng.standard_normal((out_channels, channels // conv_spec.groups, *conv_spec.kernel))
    # output_padding may reach max(stride, dilation) - 1, past the last window of a strided convolution.
    for output_padding in np.ndindex(*(max(s, d) for s, d in zip(conv_spec.stride, conv_spec.dilation))):
        if min(transposed_output_size(size, conv_spec, output_padding)) < 1:
            continue
        np.testing.assert_allclose(transposed_convolution(x, w, None, conv_spec, output_padding),
                                   reference_transposed_convolution(x, w, conv_spec, output_padding), atol=1e-10)


# (N, C, (H, W), C_out, spec)
CHOSEN = {
    "asymmetric padding": (2, 3, (5, 6), 2, spec((2, 3), padding=((0, 1), (1, 0)))),
    "padding='same' of an even kernel": (1, 2, (6, 5), 3, spec((2, 4), padding=((0, 1), (1, 2)), dilation=(1, 2))),
    "depthwise, channel multiplier 2": (2, 4, (6, 6), 8, spec(3, stride=2, padding=1, groups=4)),
    "1x1 pointwise": (2, 3, (4, 5), 4, spec(1)),
    "1x1 pointwise stride 2": (2, 4, (5, 5), 4, spec(1, stride=2)),
    "1x1 with padding and groups": (2, 4, (4, 4), 2, spec(1, padding=1, groups=2)),
    "conv1d, height 1": (2, 4, (1, 9), 6, spec((1, 3), stride=(1, 2), padding=(0, 1), groups=2)),
    "batch 1, kernel rows on shuffled stride phases": (1, 2, (9, 8), 2, spec(3, stride=2, padding=2, dilation=3)),
    "stride 3, a window per 3x3 block": (1, 2, (3, 3), 2, spec(3, stride=3)),
    "small images, many channels (products side by side)": (4, 16, (2, 2), 16, spec(3, padding=1)),
    "small images, many channels, stride 2": (3, 48, (4, 4), 96, spec(3, stride=2, padding=1)),
    "small images, many channels, groups": (3, 64, (2, 3), 128, spec(3, padding=1, groups=2)),
    "few taps per kernel row, groups": (2, 4, (6, 5), 6, spec((2, 3), padding=1, groups=2)),
    "7x7 stride 2 stem (all kernel rows at once)": (2, 3, (16, 16), 8, spec(7, stride=2, padding=3)),
}
# Outputs one stride phase wide: taps copied as shifted runs of the input's stride phases.
STRIDE_PHASES = {
    "3x3 stride 2 padding 1": (2, 2, (6, 6), 3, spec(3, stride=2, padding=1)),
    "3x5 stride (2, 3) padding (1, 2)": (1, 2, (6, 9), 2, spec((3, 5), stride=(2, 3), padding=(1, 2))),
    "dilation 2": (1, 2, (8, 8), 2, spec(3, stride=2, dilation=2, padding=2)),
    "shifted by a whole row and column": (2, 3, (4, 4), 2, spec(5, stride=2, padding=2)),
}
# More than parallel.PARALLEL_BYTES of taps: the batch is cut into chunks on the helper threads (with the
# threshold on multiply-adds lifted: these are small enough to check quickly).
PARALLEL = {
    "stride 1": (16, 8, (32, 32), 8, spec(3, padding=1)),
    "stride 2 (stride phases)": (16, 8, (32, 32), 16, spec(3, stride=2, padding=1)),
    "stride 2 (general path)": (16, 8, (31, 31), 16, spec(3, stride=2)),
    "1x1 stride 2": (16, 16, (32, 32), 16, spec(1, stride=2)),
}


@pytest.mark.parametrize("config", CHOSEN.values(), ids=CHOSEN.keys())
def test_fast_kernels_match_the_reference_on_chosen_configs(config):
    check_against_reference(np.random.default_rng(2), *config)


@pytest.mark.parametrize("config", STRIDE_PHASES.values(), ids=STRIDE_PHASES.keys())
def test_taps_from_stride_phases_match_the_reference(config):
    n, channels, size, _, conv_spec = config
    assert _reads_stride_phases((n, channels, *size), conv_spec, output_size(size, conv_spec))
    check_against_reference(np.random.default_rng(3), *config)


@pytest.mark.parametrize("config", PARALLEL.values(), ids=PARALLEL.keys())
def test_batches_on_helper_threads_match_the_reference(monkeypatch, config):
    n, channels, (h, w), _, conv_spec = config
    assert n * channels * conv_spec.kernel[1] * h * output_size((h, w), conv_spec)[1] * 8 > parallel.PARALLEL_BYTES
    monkeypatch.setattr(parallel, "PARALLEL_MULTIPLY_ADDS", 0)
    check_against_reference(np.random.default_rng(4), *config)


@pytest.mark.parametrize("size, kernel", [(9, 3), (2, 3), (9, 1)], ids=["rows of taps", "small images", "1x1"])
def test_conv_kernels_count_their_multiply_adds(monkeypatch, size, kernel):
    # What decides whether a convolution's batch goes to the helper threads: the forward, the input gradient (the
    # transposed convolution) and the weight gradient each make N * Ho * Wo * C_out * C_in/G * kh * kw of them;
    # a 1x1 convolution counts none (its sharing is decided by bytes alone).
    sections = []
    shared = parallel.in_batch_chunks
    monkeypatch.setattr(parallel, "in_batch_chunks", lambda work, batch, nbytes, multiply_adds: sections.append(
        multiply_adds and batch * multiply_adds) or shared(work, batch, nbytes, multiply_adds))
    groups = 2 if kernel > 1 else 1  # a grouped 1x1 convolution takes the general path
    conv_spec = spec(kernel, stride=2, padding=kernel // 2, groups=groups)
    x = np.ones((4, 8, size, size), np.float32)
    w = np.ones((16, 8 // groups, kernel, kernel), np.float32)
    y, _ = correlate(x, w, None, conv_spec)
    transposed_convolution(y, w, None, conv_spec, restoring_output_padding(x.shape[2:], y.shape[2:], conv_spec))
    weight_gradient(x, y, conv_spec)
    ho, wo = y.shape[2:]
    assert sections == [4 * ho * wo * w.size if kernel > 1 else None] * 3


def test_weight_gradient_is_c_contiguous_and_owns_its_memory():
    # SGD reads .grad, which adopts a gradient that owns its memory as it is: strided, each update ran several times
    # slower; a view would be copied.
    rng = np.random.default_rng(15)
    for n, channels, size, out_channels, conv_spec in [*CHOSEN.values(), *PARALLEL.values()]:
        x = rng.standard_normal((n, channels, *size))
        g = rng.standard_normal((n, out_channels, *output_size(size, conv_spec)))
        flags = weight_gradient(x, g, conv_spec).flags
        assert flags.c_contiguous and flags.owndata


def test_float32_stays_float32():
    check_against_reference(np.random.default_rng(5), 2, 4, (7, 6), 4, spec(3, stride=2, padding=1, groups=2),
                            np.float32)


def test_only_a_strided_convolution_that_copies_taps_keeps_them():
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    assert correlate(x, w, None, spec(3, stride=2, padding=1), keep_taps=True)[1] is not None
    assert correlate(x, w, None, spec(3, stride=2, padding=1))[1] is None
    assert correlate(x, w, None, spec(3, padding=1), keep_taps=True)[1] is None  # quick to copy again
    assert correlate(x, w[:, :, :1, :1], None, spec(1, stride=2), keep_taps=True)[1] is None  # reads x itself


# ----------------------------------------------------------------------------- the reference, by hand
def test_reference_correlation_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # y[i, j] = x[i, j] + 2 x[i, j+1] + 3 x[i+1, j] + 4 x[i+1, j+1]
    np.testing.assert_array_equal(reference_correlate(x, w, spec(2))[0, 0], [[37, 47], [67, 77]])
    # Padding 1 and stride 2: the corners of the padded 5x5 input's windows.
    np.testing.assert_array_equal(reference_correlate(x, w, spec(2, stride=2, padding=1))[0, 0], [[4, 18], [36, 77]])
    # 1-d, dilation 2: y[i] = x[i] - x[i + 2].
    one_d = ConvSpec((2,), (1,), ((0, 0),), (2,), 1)
    np.testing.assert_array_equal(reference_correlate(np.array([[[1.0, 2.0, 4.0, 8.0, 16.0]]]),
                                                      np.array([[[1.0, -1.0]]]), one_d), [[[-3, -6, -12]]])


def test_reference_groups_convolve_their_own_channels():
    x = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])[None]  # channel 0 is 1, channel 1 is 2
    w = np.ones((2, 1, 2, 2))
    np.testing.assert_array_equal(reference_correlate(x, w, spec(2, groups=2)).reshape(2), [4, 8])


def test_reference_3d_correlation_by_hand():
    x, w = np.ones((1, 1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2))
    three_d = ConvSpec((2, 2, 2), (1, 1, 1), ((1, 1), (0, 0), (0, 0)), (1, 1, 1), 1)
    # Each window holds 8 ones, except the first and last depth, half of which is padding.
    expected = np.full((1, 1, 4, 2, 2), 8.0)
    expected[:, :, [0, -1]] = 4
    np.testing.assert_array_equal(reference_correlate(x, w, three_d), expected)


def test_reference_transposed_convolution_by_hand():
    # 1-d, stride 2: every input element adds the kernel times its value at 2i.
    one_d = ConvSpec((3,), (2,), ((0, 0),), (1,), 1)
    y = reference_transposed_convolution(np.array([[[1.0, 2.0]]]), np.array([[[1.0, 10.0, 100.0]]]), one_d, (0,))
    np.testing.assert_array_equal(y, [[[1, 10, 102, 20, 200]]])
    # Padding 1 crops one element off each end; output_padding 1 adds one at the end.
    cropped = ConvSpec((3,), (2,), ((1, 1),), (1,), 1)
    y = reference_transposed_convolution(np.array([[[1.0, 2.0]]]), np.array([[[1.0, 10.0, 100.0]]]), cropped, (1,))
    np.testing.assert_array_equal(y, [[[10, 102, 20, 200]]])


def test_reference_weight_gradient_by_hand():
    # dw[i] = sum_p g[p] x[p + i]
    one_d = ConvSpec((2,), (1,), ((0, 0),), (1,), 1)
    dw = reference_weight_gradient(np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1.0, 10.0]]]), one_d)
    np.testing.assert_array_equal(dw, [[[21, 32]]])


def test_reference_kernels_are_adjoint():
    # <conv(x; w), g> = <x, conv^T(g; w)> = <w, x ⋆ g>, in 3-d with everything switched on.
    rng = np.random.default_rng(7)
    three_d = ConvSpec((2, 3, 2), (2, 1, 2), ((1, 1), (0, 0), (1, 1)), (1, 2, 1), 2)
    x, w = rng.standard_normal((2, 4, 5, 6, 5)), rng.standard_normal((6, 2, 2, 3, 2))
    y = reference_correlate(x, w, three_d)
    g = rng.standard_normal(y.shape)
    back = reference_transposed_convolution(g, w, three_d, restoring_output_padding(x.shape[2:], y.shape[2:],
                                                                                    three_d))
    assert back.shape == x.shape
    assert np.isclose((y * g).sum(), (x * back).sum())
    assert np.isclose((y * g).sum(), (w * reference_weight_gradient(x, g, three_d)).sum())


# ----------------------------------------------------------------------------- pooling
def pool_configs(count, seed, dims):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        kernel = tuple(int(k) for k in rng.integers(1, 4, dims))
        pool_spec = PoolSpec(kernel, tuple(int(s) for s in rng.integers(1, 4, dims)),
                             tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel),
                             tuple(int(d) for d in rng.integers(1, 3, dims)), bool(rng.integers(2)))
        size = tuple(int(v) for v in rng.integers(1, 8, dims))
        if min(pool_output_size(size, pool_spec)) >= 1:
            configs.append((size, pool_spec))
    return configs


@pytest.mark.parametrize("size, pool_spec", pool_configs(40, 8, 2) + pool_configs(20, 9, 3))
def test_pooling_kernels_match_the_reference(size, pool_spec):
    rng = np.random.default_rng(10)
    x = rng.permutation(2 * 3 * int(np.prod(size))).reshape(2, 3, *size) * 0.1  # distinct: no ties
    values, indices = max_pool(x, pool_spec)
    np.testing.assert_array_equal(values, reference_max_pool(x, pool_spec))
    # Each index names the maximum, except in windows that hold only padding (-inf; they name the volume's first
    # element in reach).
    found = np.take_along_axis(x.reshape(2, 3, -1), indices.reshape(2, 3, -1), 2).reshape(values.shape)
    np.testing.assert_array_equal(found[np.isfinite(values)], values[np.isfinite(values)])
    average = PoolSpec(pool_spec.kernel, pool_spec.stride, pool_spec.padding, (1,) * len(size), pool_spec.ceil_mode)
    sums = window_sums(x, average, np.float64)
    np.testing.assert_allclose(sums, reference_window_sums(x, average), atol=1e-12)
    # Spreading is the adjoint of summing windows.
    y = rng.standard_normal(sums.shape)
    assert np.isclose((sums * y).sum(), (x * spread_windows(y, average, size)).sum())


def test_max_pool_kernel_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    values, indices = max_pool(x, PoolSpec((2, 2), (2, 2), (0, 0), (1, 1), False))
    np.testing.assert_array_equal(values[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [13, 15]])
    volume = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    values, indices = max_pool(volume, PoolSpec((2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False))
    assert values.item() == 7 and indices.item() == 7


def test_max_pool_does_not_depend_on_chunks(monkeypatch):
    # An odd batch in chunks of a few images (over the helper threads when there are some) against one chunk in the
    # calling thread: the same maxima and indices, ties (small integers) and NaNs included.
    x = np.random.default_rng(11).integers(0, 4, (37, 8, 32, 32)).astype(np.float32)
    x[3, 2, 5, 7] = x[30, 1, 0, 0] = np.nan
    spec = PoolSpec((3, 3), (2, 2), (1, 1), (1, 1), False)
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1 << 16)
    chunked = max_pool(x, spec)
    monkeypatch.setattr(parallel, "PARALLEL_BYTES", 1 << 62)
    for got, expected in zip(chunked, max_pool(x, spec)):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(chunked[0], reference_max_pool(x, spec))



# Batch norm's and ReLU's kernels (autograd/kernels/normalization.py, elementwise.py). Odd batches of 4 MB and more go
# to the helper threads in chunks of unequal size; one chunk in the calling thread must give the same bits.


def one_chunk(monkeypatch):
    """Make the sweeps of batch norm and ReLU run on the whole batch at once in the calling thread."""
    from autograd.kernels import elementwise

    monkeypatch.setattr(elementwise, "SHARED_SWEEP_BYTES", 1 << 62)


@pytest.mark.parametrize("shape", [(37, 8, 4096), (65, 4, 4160), (2, 3, 5), (1, 16, 80000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_kernels_match_the_reference_and_do_not_depend_on_chunks(shape, dtype, monkeypatch):
    from autograd.kernels import normalization

    rng = np.random.default_rng(20)
    x, grad = (rng.normal(1.5, 2.0, shape).astype(dtype) for _ in range(2))
    mean, scale, shift, after = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(4))
    tolerance = {"rtol": 1e-5, "atol": 1e-3} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-9}

    def run():
        centred, centred_grad, in_place = np.empty_like(x), np.empty_like(x), x.copy()
        return (normalization.channel_sums(x), centred, *normalization.centre(x, mean, centred), centred_grad,
                *normalization.centre(x, mean, centred_grad, grad),
                normalization.channel_affine(x, scale, shift, np.empty_like(x)),
                normalization.channel_affine(x, scale, None, np.empty_like(x), grad, after),
                normalization.channel_affine(in_place, scale, shift, in_place, grad))

    chunked = run()
    np.testing.assert_allclose(chunked[0], normalization.reference_channel_sums(x), **tolerance)
    centred, squares = normalization.reference_centre(x, mean)
    np.testing.assert_array_equal(chunked[1], centred)
    np.testing.assert_allclose(chunked[2], squares, **tolerance)
    _, sum_g, sum_g_centred = normalization.reference_centre(x, mean, grad)
    np.testing.assert_array_equal(chunked[3], centred)
    np.testing.assert_allclose(chunked[4], sum_g, **tolerance)
    np.testing.assert_allclose(chunked[5], sum_g_centred, **tolerance)
    np.testing.assert_allclose(chunked[6], normalization.reference_channel_affine(x, scale, shift), **tolerance)
    np.testing.assert_allclose(chunked[7], normalization.reference_channel_affine(x, scale, None, grad, after),
                               **tolerance)
    np.testing.assert_allclose(chunked[8], normalization.reference_channel_affine(x, scale, shift, grad),
                               **tolerance)
    assert all(result.dtype == dtype for result in chunked)
    one_chunk(monkeypatch)
    for a, b in zip(chunked, run()):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_kernels_by_hand():
    from autograd.kernels import normalization

    x = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(normalization.channel_sums(x), [0 + 1 + 2 + 6 + 7 + 8, 3 + 4 + 5 + 9 + 10 + 11])
    out = normalization.channel_affine(x, np.array([2.0, -1.0]), np.array([1.0, 0.5]), x, np.ones_like(x),
                                       np.array([0.5, 2.0]))
    assert out is x  # in place
    np.testing.assert_array_equal(x[1, 0], (np.array([6.0, 7.0, 8.0]) * 2 + 1 + 1) * 0.5)
    np.testing.assert_array_equal(x[0, 1], (np.array([3.0, 4.0, 5.0]) * -1 + 0.5 + 1) * 2)


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
@pytest.mark.parametrize("shape", [(37, 8, 64, 64), (65, 4, 64, 65), (3, 5), (1, 300000), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_kernels_match_the_reference_and_do_not_depend_on_chunks(shape, dtype, monkeypatch):
    from autograd.kernels import elementwise

    rng = np.random.default_rng(21)
    x, grad = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    x.flat[:3] = [0.0, np.nan, -0.0]
    grad.flat[:2] = [np.inf, np.nan]  # at inactive units (x = 0 and nan): nan, as grad * 0

    def run():
        return (elementwise.relu(x), *elementwise.relu_with_mask(x), elementwise.masked(grad, x > 0))

    chunked = run()
    np.testing.assert_array_equal(chunked[0], elementwise.reference_relu(x))
    np.testing.assert_array_equal(chunked[1], elementwise.reference_relu(x))
    np.testing.assert_array_equal(chunked[2], x > 0)
    np.testing.assert_array_equal(chunked[3], elementwise.reference_masked(grad, x > 0))
    assert chunked[0].dtype == chunked[3].dtype == dtype
    one_chunk(monkeypatch)
    for a, b in zip(chunked, run()):
        np.testing.assert_array_equal(a, b)


def test_sweeps_of_4_mb_go_to_the_helper_threads_and_smaller_ones_do_not(monkeypatch):
    from autograd.kernels import elementwise, normalization

    sections = []
    shared = parallel.in_batch_chunks
    monkeypatch.setattr(parallel, "in_batch_chunks", lambda *args: sections.append(args[1]) or shared(*args))
    large, small = np.ones((37, 8, 4096), np.float32), np.ones((8, 8, 4096), np.float32)
    assert large.nbytes > elementwise.SHARED_SWEEP_BYTES > small.nbytes
    for x in (large, small):
        elementwise.masked(elementwise.relu(x), x > 0)
        normalization.channel_affine(x, np.ones(8, np.float32), None, np.empty_like(x))
    assert sections == [37, 37, 37]


def test_relu_kernels_of_views_and_scalars():
    from autograd.kernels import elementwise

    x = np.random.default_rng(22).standard_normal((300, 2000)).T  # Fortran order, 4.8 MB: chunks of strided rows
    np.testing.assert_array_equal(elementwise.relu(x), np.maximum(x, 0))
    np.testing.assert_array_equal(elementwise.masked(x, x > 0), np.maximum(x, 0))
    assert elementwise.relu(np.array(-2.0)).item() == 0.0 and elementwise.relu(np.array(3.0)).item() == 3.0


# SGD's update kernel (autograd/kernels/optimizers.py): block by block, the same bits as whole-array expressions.


@pytest.mark.parametrize("shape", [(), (3,), (70001,), (2, 65536), (300, 513)])
@pytest.mark.parametrize("options", [dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
                                     dict(momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False),
                                     dict(momentum=0.8, dampening=0.3, weight_decay=0.0, nesterov=False),
                                     dict(momentum=0.8, dampening=0.0, weight_decay=0.1, nesterov=True)])
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("first", [False, True])
def test_sgd_kernel_matches_the_reference(shape, options, maximize, first):
    from autograd.kernels import optimizers

    rng = np.random.default_rng(23)
    param, grad, buffer = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    buffer = buffer if options["momentum"] else None
    expected_param, expected_buffer = optimizers.reference_sgd(param, grad, buffer, first, 0.1,
                                                               maximize=maximize, **options)
    grad_before = grad.copy()
    optimizers.sgd([param], [grad], [buffer], [first], 0.1, maximize=maximize, **options)
    np.testing.assert_array_equal(param, expected_param)
    np.testing.assert_array_equal(grad, grad_before)  # the gradient is never a scratch array
    if buffer is not None:
        np.testing.assert_array_equal(buffer, expected_buffer)


def test_sgd_kernel_updates_a_group_in_blocks_spread_over_chunks(monkeypatch):
    # Parameters whole and cut into blocks, a view, a 0-d one and a first step among them, in one call whose blocks
    # go to the helper threads in many chunks: each ends as its own whole-array update would leave it.
    from autograd.kernels import optimizers

    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1 << 18)
    rng = np.random.default_rng(25)
    shapes = [(3 * optimizers.SHARED_BLOCK + 5,), (), (40, 9000), (300,), (2 * optimizers.BLOCK + 1,)]
    params, grads, buffers = ([rng.standard_normal(shape).astype(np.float32) for shape in shapes] for _ in range(3))
    params[2], grads[2], buffers[2] = params[2].T, grads[2].T, buffers[2].T
    firsts = [False, True, False, True, False]
    expected = [optimizers.reference_sgd(*arrays, 0.1, 0.9, 0.0, 5e-4, True, False)
                for arrays in zip(params, grads, buffers, firsts)]
    optimizers.sgd(params, grads, buffers, firsts, 0.1, 0.9, 0.0, 5e-4, True, False)
    for param, buffer, (expected_param, expected_buffer) in zip(params, buffers, expected):
        np.testing.assert_array_equal(param, expected_param)
        np.testing.assert_array_equal(buffer, expected_buffer)


def test_sgd_kernel_of_views_updates_them_in_place():
    from autograd.kernels import optimizers

    rng = np.random.default_rng(24)
    base, grad, buffer = (rng.standard_normal((200, 700)) for _ in range(3))
    param = base.T  # Fortran order: updated as a whole array, never through a flat copy
    expected_param, expected_buffer = optimizers.reference_sgd(param, grad.T, buffer.T, False, 0.5, 0.9, 0.0, 0.01,
                                                               False, False)
    optimizers.sgd([param], [grad.T], [buffer.T], [False], 0.5, 0.9, 0.0, 0.01, False, False)
    np.testing.assert_array_equal(base.T, expected_param)
    np.testing.assert_array_equal(buffer.T, expected_buffer)
