"""The layer-breadth ops by hand and against numpy: embedding, 1-d and power pooling, the padding layers, pixel
shuffle, the interpolation modes, grid sampling, instance and local response norm, attention, the recurrent
layers and the box ops, with their error messages. Gradients are checked by finite differences in the sample
registry (autograd/opinfo/layers.py); PyTorch cross-checks are in test_torch_parity_nn.py."""

import math

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor
from nn import ops


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# --- embedding --------------------------------------------------------------------------------------------------

def test_embedding_looks_up_rows_and_scatters_gradients():
    weight = leaf(np.arange(12.0).reshape(4, 3))
    index = np.array([[0, 2], [2, 3]])
    out = F.embedding(index, weight)
    np.testing.assert_array_equal(out.data, weight.data[index])
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.data, [[1] * 3, [0] * 3, [2] * 3, [1] * 3])  # row 2 used twice


def test_embedding_padding_idx_and_scale_grad_by_freq_change_only_the_gradient():
    weight = leaf(np.arange(12.0).reshape(4, 3))
    index = np.array([0, 2, 2, 2, 1])
    out = F.embedding(index, weight, padding_idx=1, scale_grad_by_freq=True)
    np.testing.assert_array_equal(out.data, weight.data[index])
    out.sum().backward()
    # each row's gradient divided by its count (row 2: 3 / 3), the padding row's zero
    np.testing.assert_allclose(weight.grad.data, [[1] * 3, [0] * 3, [1] * 3, [0] * 3])


def test_embedding_layer():
    autograd.manual_seed(0)
    layer = nn.Embedding(10, 4, padding_idx=-2)
    assert layer.padding_idx == 8 and not layer.weight.data[8].any()
    assert list(layer.state_dict()) == ["weight"]
    assert layer(np.array([[1, 8, 3]])).shape == (1, 3, 4)
    assert repr(layer) == "Embedding(10, 4, padding_idx=8)"
    frozen = nn.Embedding.from_pretrained(np.eye(3))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(np.array([2])).data, [[0, 0, 1]])


def test_embedding_max_norm_renormalises_looked_up_rows_in_place():
    weight = Tensor(np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]))
    F.embedding(np.array([0, 1]), weight, max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(weight.data, axis=1), [1.0, 0.5, 10.0], rtol=1e-6)


def test_embedding_errors():
    weight = Tensor(np.zeros((4, 3)))
    with pytest.raises(IndexError, match="embedding: index 4 is out of range for a weight of 4 rows"):
        F.embedding(np.array([1, 4]), weight)
    with pytest.raises(ValueError, match="embedding: expected an integer index tensor, got dtype float64"):
        F.embedding(np.array([1.0]), weight)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-d .* got shape \(4,\)"):
        F.embedding(np.array([1]), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match="Embedding: padding_idx 5 must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=5)
    with pytest.raises(ValueError, match="sparse gradients are not supported"):
        F.embedding(np.array([1]), weight, sparse=True)


# --- pooling ----------------------------------------------------------------------------------------------------

def test_1d_pools_by_hand():
    x = Tensor(np.array([[[1.0, 3.0, 2.0, 5.0, 4.0]]]))
    values, indices = F.max_pool1d(x, 2, return_indices=True)
    np.testing.assert_array_equal(values.data, [[[3, 5]]])
    np.testing.assert_array_equal(indices.data, [[[1, 3]]])
    np.testing.assert_array_equal(F.max_pool1d(x, 3, stride=1, padding=1).data, [[[3, 3, 5, 5, 5]]])
    np.testing.assert_allclose(F.avg_pool1d(x, 2, stride=1).data, [[[2, 2.5, 3.5, 4.5]]])
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, count_include_pad=False).data, [[[2, 10 / 3, 4.5]]])
    # adaptive bins of 5 into 3: [0, 2), [1, 4), [3, 5)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x, 3).data, [[[2, 10 / 3, 4.5]]])
    np.testing.assert_array_equal(F.adaptive_max_pool1d(x, 3).data, [[[3, 5, 5]]])
    np.testing.assert_allclose(F.lp_pool1d(x, 1, 2).data, [[[4, 7]]])  # p = 1 is sum pooling
    np.testing.assert_allclose(F.lp_pool1d(x, 2, 2).data, [[[math.sqrt(10), math.sqrt(29)]]])


def test_lp_pool2d_is_the_p_norm_of_each_window():
    x = np.random.default_rng(0).uniform(0.1, 2, (2, 3, 4, 6))
    out = F.lp_pool2d(Tensor(x), 3, (2, 3)).data
    windows = x.reshape(2, 3, 2, 2, 2, 3)
    np.testing.assert_allclose(out, (windows ** 3).sum((3, 5)) ** (1 / 3))


def test_1d_pool_layers_and_errors():
    x = Tensor(np.random.default_rng(1).normal(size=(2, 3, 8)))
    assert nn.MaxPool1d(2)(x).shape == (2, 3, 4)
    assert nn.AvgPool1d(3, 1, 1)(x).shape == (2, 3, 8)
    assert nn.AdaptiveAvgPool1d(5)(x).shape == (2, 3, 5)
    assert nn.AdaptiveMaxPool1d(2, return_indices=True)(x)[1].shape == (2, 3, 2)
    assert nn.LPPool1d(2, 4)(x.abs()).shape == (2, 3, 2)
    assert nn.LPPool2d(2, 2)(x.abs().reshape(1, 2, 3, 8)).shape == (1, 2, 1, 4)
    with pytest.raises(ValueError, match=r"max_pool1d: expected a 2-d \(C, L\) or 3-d \(N, C, L\) input, got "
                                         r"shape \(2, 3, 8, 1\)"):
        F.max_pool1d(x.reshape(2, 3, 8, 1), 2)
    with pytest.raises(ValueError, match="avg_pool1d: kernel_size must be an int or a tuple of 1 ints"):
        F.avg_pool1d(x, (2, 2))
    with pytest.raises(ValueError, match="lp_pool2d: norm_type must be positive, got 0"):
        F.lp_pool2d(x.reshape(1, 2, 3, 8), 0, 2)


# --- padding layers and pixel shuffle ---------------------------------------------------------------------------

@pytest.mark.parametrize("layer, numpy_mode", [(nn.ZeroPad2d, "constant"), (nn.ReflectionPad2d, "reflect"),
                                               (nn.ReplicationPad2d, "edge"), (nn.CircularPad2d, "wrap")])
def test_padding_layers_match_numpy(layer, numpy_mode):
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 5))
    out = layer((1, 2, 3, 0))(Tensor(x)).data
    np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (0, 0), (3, 0), (1, 2)], mode=numpy_mode))


def test_constant_and_1d_3d_padding_layers():
    x = np.arange(6.0).reshape(1, 2, 3)
    np.testing.assert_array_equal(nn.ConstantPad1d(1, 9.0)(Tensor(x)).data,
                                  np.pad(x, [(0, 0), (0, 0), (1, 1)], constant_values=9))
    assert nn.ConstantPad2d(1, 0.5)(Tensor(x)).shape == (1, 4, 5)
    assert nn.ReplicationPad3d(1)(Tensor(np.zeros((1, 2, 2, 2)))).shape == (1, 4, 4, 4)
    np.testing.assert_array_equal(nn.ReflectionPad1d(2)(Tensor(x)).data[0, 0], [2, 1, 0, 1, 2, 1, 0])
    assert repr(nn.ZeroPad2d(2)) == "ZeroPad2d((2, 2, 2, 2), value=0.0)"
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or 4 ints, got \(1, 2\)"):
        nn.ReflectionPad2d((1, 2))


def test_pixel_shuffle_by_hand():
    x = np.arange(8.0).reshape(1, 4, 1, 2)  # 4 = 1 channel * 2^2; each input pixel becomes a 2x2 block
    out = F.pixel_shuffle(Tensor(x), 2).data
    np.testing.assert_array_equal(out, [[[[0, 2, 1, 3], [4, 6, 5, 7]]]])
    np.testing.assert_array_equal(F.pixel_unshuffle(Tensor(out), 2).data, x)
    assert nn.PixelShuffle(3)(Tensor(np.zeros((2, 3, 18, 2, 2)))).shape == (2, 3, 2, 6, 6)
    with pytest.raises(ValueError, match=r"pixel_shuffle: .* divisible by upscale_factor\^2 = 4, got shape "
                                         r"\(1, 6, 2, 2\)"):
        F.pixel_shuffle(Tensor(np.zeros((1, 6, 2, 2))), 2)
    with pytest.raises(ValueError, match=r"pixel_unshuffle: .* H and W divisible by downscale_factor 2"):
        F.pixel_unshuffle(Tensor(np.zeros((1, 1, 3, 2))), 2)


# --- interpolation ----------------------------------------------------------------------------------------------

def test_nearest_exact_samples_pixel_centres():
    x = Tensor(np.arange(3.0).reshape(1, 1, 3))
    # out j samples floor((j + 0.5) * 3 / 5): 0, 0, 1, 2, 2 (legacy nearest: floor(j * 3 / 5) = 0, 0, 1, 1, 2)
    np.testing.assert_array_equal(F.interpolate(x, size=5, mode="nearest-exact").data, [[[0, 0, 1, 2, 2]]])
    np.testing.assert_array_equal(F.interpolate(x, size=5, mode="nearest").data, [[[0, 0, 1, 1, 2]]])


def _keys(distance):
    a = -0.75
    d = abs(distance)
    if d <= 1:
        return ((a + 2) * d - (a + 3)) * d * d + 1
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a if d < 2 else 0.0


def test_bicubic_uses_keys_kernel_with_clamped_edges():
    row = np.array([1.0, 4.0, 2.0, 0.5, 3.0])
    out = F.interpolate(Tensor(row.reshape(1, 1, 1, 5)), size=(1, 8), mode="bicubic").data[0, 0, 0]
    expected = []
    for j in range(8):
        source = (j + 0.5) * 5 / 8 - 0.5
        base = math.floor(source)
        expected.append(sum(_keys(source - tap) * row[min(max(tap, 0), 4)] for tap in range(base - 1, base + 3)))
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_linear_modes_reproduce_linear_functions_and_area_averages_blocks():
    z, y, x = np.meshgrid(np.arange(3.0), np.arange(4.0), np.arange(5.0), indexing="ij")
    volume = (x + 2 * y - 3 * z)[None, None]
    out = F.interpolate(Tensor(volume), size=(5, 7, 9), mode="trilinear", align_corners=True).data[0, 0]
    zo, yo, xo = np.meshgrid(np.linspace(0, 2, 5), np.linspace(0, 3, 7), np.linspace(0, 4, 9), indexing="ij")
    np.testing.assert_allclose(out, xo + 2 * yo - 3 * zo, atol=1e-12)
    line = np.arange(4.0)[None, None]
    np.testing.assert_allclose(F.interpolate(Tensor(line), size=7, mode="linear", align_corners=True).data,
                               [[np.linspace(0, 3, 7)]])
    image = np.random.default_rng(3).normal(size=(2, 3, 6, 4))
    np.testing.assert_allclose(F.interpolate(Tensor(image), size=(3, 2), mode="area").data,
                               image.reshape(2, 3, 3, 2, 2, 2).mean((3, 5)))


def test_interpolate_integer_bicubic_is_clamped_to_the_dtype():
    image = np.array([[[[0, 255, 255, 0]]]], dtype=np.uint8)
    out = F.interpolate(Tensor(image), size=(1, 7), mode="bicubic")
    assert out.dtype == np.uint8 and out.data.max() == 255  # the overshoot above 255 is clamped


def test_upsample_layer():
    layer = nn.Upsample(scale_factor=2, mode="nearest-exact")
    assert layer(Tensor(np.zeros((1, 2, 3)))).shape == (1, 2, 6)
    assert nn.UpsamplingBilinear2d(scale_factor=2).align_corners is True


def test_interpolate_mode_errors():
    with pytest.raises(ValueError, match=r"interpolate: mode 'bilinear' needs a 4-d input, got shape \(1, 2, 3\)"):
        F.interpolate(Tensor(np.zeros((1, 2, 3))), size=4, mode="bilinear")
    with pytest.raises(ValueError, match=r"interpolate: mode 'trilinear' needs a 5-d input"):
        F.interpolate(Tensor(np.zeros((1, 2, 3, 3))), size=4, mode="trilinear")
    with pytest.raises(ValueError, match="interpolate: align_corners can only be set with the interpolating modes"):
        F.interpolate(Tensor(np.zeros((1, 2, 3))), size=4, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="interpolate: size must be a number or a sequence of 3"):
        F.interpolate(Tensor(np.zeros((1, 1, 2, 2, 2))), size=(3, 3))
    with pytest.raises(ValueError, match="antialias=True is not supported"):
        F.interpolate(Tensor(np.zeros((1, 1, 4, 4))), size=2, mode="bilinear", antialias=True)


# --- grid sampling ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("align_corners", [False, True])
def test_identity_affine_grid_samples_the_input_back(align_corners):
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 5))
    theta = Tensor(np.tile(np.eye(2, 3), (2, 1, 1)))
    grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=align_corners)
    assert grid.shape == (2, 4, 5, 2)
    for mode in ("bilinear", "nearest"):
        out = F.grid_sample(Tensor(x), grid, mode=mode, align_corners=align_corners)
        np.testing.assert_allclose(out.data, x, atol=1e-12)


def test_grid_sample_by_hand():
    x = Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    # align_corners: -1 and 1 are the pixel centres; (0, 0) is the centre of the image, the mean of the 4 pixels
    grid = Tensor(np.array([[[[0.0, 0.0], [1.0, -1.0], [3.0, 0.0]]]]))
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=True).data, [[[[2.5, 2.0, 0.0]]]])
    np.testing.assert_allclose(F.grid_sample(x, grid, padding_mode="border", align_corners=True).data,
                               [[[[2.5, 2.0, 3.0]]]])
    # reflection: x = 3 is 2 pixel-widths past the right edge at 1, so it mirrors to -1, the left column
    np.testing.assert_allclose(F.grid_sample(x, grid, padding_mode="reflection", align_corners=True).data,
                               [[[[2.5, 2.0, 2.0]]]])


def test_grid_sample_errors():
    x = Tensor(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"grid_sample: expected input \(N, C, H, W\) and grid \(N, H_out, W_out, "
                                         r"2\), .* with the same N; got \(1, 1, 2, 2\) and \(2, 1, 1, 2\)"):
        F.grid_sample(x, Tensor(np.zeros((2, 1, 1, 2))))
    with pytest.raises(ValueError, match=r"grid_sample: bicubic interpolation needs a 4-d input, got shape "
                                         r"\(1, 1, 2, 2, 2\)"):
        F.grid_sample(Tensor(np.zeros((1, 1, 2, 2, 2))), Tensor(np.zeros((1, 1, 1, 1, 3))), mode="bicubic")
    with pytest.raises(ValueError, match="grid_sample: padding_mode must be one of"):
        F.grid_sample(x, Tensor(np.zeros((1, 1, 1, 2))), padding_mode="wrap")
    with pytest.raises(ValueError, match=r"affine_grid: expected theta of shape \(N, 2, 3\)"):
        F.affine_grid(Tensor(np.zeros((1, 3, 3))), (1, 1, 2, 2))


# --- normalization ----------------------------------------------------------------------------------------------

def test_instance_norm_normalises_each_channel_of_each_sample():
    x = np.random.default_rng(5).normal(size=(3, 2, 4, 5)) * 3 + 2
    out = F.instance_norm(Tensor(x)).data
    np.testing.assert_allclose(out.mean((2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var((2, 3)), 1, rtol=1e-5)
    mean, var = Tensor(np.zeros(2)), Tensor(np.ones(2))
    F.instance_norm(Tensor(x), mean, var, momentum=0.5)
    np.testing.assert_allclose(mean.data, 0.5 * x.mean((2, 3)).mean(0))
    np.testing.assert_allclose(var.data, 0.5 + 0.5 * x.var((2, 3), ddof=1).mean(0))


def test_instance_norm_layers():
    layer = nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    x = Tensor(np.random.default_rng(6).normal(size=(3, 7)))  # unbatched (C, L)
    assert layer(x).shape == (3, 7)
    layer.eval()
    np.testing.assert_allclose(layer(x).data, (x.data - layer.running_mean.data[:, None])
                               / np.sqrt(layer.running_var.data[:, None] + 1e-5), rtol=1e-6)
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected 3D or 4D input \(got 2D input\)"):
        nn.InstanceNorm2d(3)(Tensor(np.zeros((3, 4))))
    with pytest.raises(ValueError, match="InstanceNorm1d: expected 3 channels"):
        layer(Tensor(np.zeros((2, 4, 5))))
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(Tensor(np.zeros((2, 3, 1))))


def test_local_response_norm_matches_a_loop_over_channels():
    x = np.random.default_rng(7).normal(size=(2, 5, 3, 2))
    size, alpha, beta, k = 3, 0.2, 0.7, 2.0
    out = nn.LocalResponseNorm(size, alpha, beta, k)(Tensor(x)).data
    for c in range(5):
        window = x[:, max(0, c - size // 2):c + (size - 1) // 2 + 1]
        np.testing.assert_allclose(out[:, c], x[:, c] / (k + alpha / size * (window ** 2).sum(1)) ** beta)
    with pytest.raises(ValueError, match="local_response_norm: expected an input of shape"):
        F.local_response_norm(Tensor(np.zeros((2, 3))), 2)


# --- attention --------------------------------------------------------------------------------------------------

def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_scaled_dot_product_attention_against_numpy():
    rng = np.random.default_rng(8)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 2))
    out = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v)).data
    np.testing.assert_allclose(out, _softmax(q @ k.transpose(0, 2, 1) / 2) @ v)
    keep = np.array([True, False, True, False, False])
    masked = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), attn_mask=keep).data
    np.testing.assert_allclose(masked, _softmax(q @ k[:, keep].transpose(0, 2, 1) / 2) @ v[:, keep])
    causal = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), is_causal=True).data
    np.testing.assert_allclose(causal[:, 0], v[:, 0])  # the first query sees only the first key


def test_scaled_dot_product_attention_errors():
    q = Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: query \(\.\.\., L, E\) \(2, 3, 4\), key "
                                         r"\(\.\.\., S, E\) \(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, Tensor(np.zeros((2, 5, 3))), Tensor(np.zeros((2, 5, 3))))
    with pytest.raises(ValueError, match="give either attn_mask or is_causal=True, not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(2, 4\) does not broadcast to the \(L, S\) = "
                                         r"\(3, 3\) scores"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 4), bool))


def test_multihead_attention_is_per_head_attention_of_the_projections():
    autograd.manual_seed(1)
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(1, 3, 4)).astype(np.float32)
    out, weights = layer(Tensor(x), Tensor(x), Tensor(x), average_attn_weights=False)
    w, b = layer.in_proj_weight.data, layer.in_proj_bias.data
    q, k, v = (x[0] @ w[i * 4:(i + 1) * 4].T + b[i * 4:(i + 1) * 4] for i in range(3))
    heads = []
    for h in range(2):
        part = slice(2 * h, 2 * h + 2)
        attention = _softmax(q[:, part] @ k[:, part].T / np.sqrt(2))
        np.testing.assert_allclose(weights.data[0, h], attention, rtol=1e-5)
        heads.append(attention @ v[:, part])
    expected = np.concatenate(heads, 1) @ layer.out_proj.weight.data.T + layer.out_proj.bias.data
    np.testing.assert_allclose(out.data[0], expected, rtol=1e-4, atol=1e-6)
    padded, padded_weights = layer(Tensor(x), Tensor(x), Tensor(x), key_padding_mask=np.array([[False, True, False]]))
    assert not padded_weights.data[..., 1].any()


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(6\) must be divisible by num_heads \(4\)"):
        nn.MultiheadAttention(6, 4)
    layer = nn.MultiheadAttention(4, 2)
    x = Tensor(np.zeros((3, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"key_padding_mask must be \(N, S\) = \(2, 3\), got \(3, 2\)"):
        layer(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match="is_causal=True is a hint that attn_mask is the causal mask"):
        layer(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match=r"query \(L, N, 4\) \(3, 2, 5\)"):
        layer(Tensor(np.zeros((3, 2, 5))), x, x)


# --- recurrent layers -------------------------------------------------------------------------------------------

def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_lstm_and_gru_match_their_equations():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(4, 2, 3))
    lstm = nn.LSTM(3, 2).double()
    w_ih, w_hh, b = lstm.weight_ih_l0.data, lstm.weight_hh_l0.data, lstm.bias_ih_l0.data + lstm.bias_hh_l0.data
    h, c = np.zeros((2, 2)), np.zeros((2, 2))
    outputs = []
    for t in range(4):
        i, f, g, o = np.split(x[t] @ w_ih.T + h @ w_hh.T + b, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    out, (h_n, c_n) = lstm(Tensor(x))
    np.testing.assert_allclose(out.data, np.stack(outputs))
    np.testing.assert_allclose(c_n.data[0], c)
    gru = nn.GRU(3, 2).double()
    w_ih, w_hh = gru.weight_ih_l0.data, gru.weight_hh_l0.data
    b_ih, b_hh = gru.bias_ih_l0.data, gru.bias_hh_l0.data
    h = np.zeros((2, 2))
    for t in range(4):
        x_r, x_z, x_n = np.split(x[t] @ w_ih.T + b_ih, 3, axis=1)
        h_r, h_z, h_n = np.split(h @ w_hh.T + b_hh, 3, axis=1)
        r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
        h = (1 - z) * np.tanh(x_n + r * h_n) + z * h
    np.testing.assert_allclose(gru(Tensor(x))[1].data[0], h)


def test_bidirectional_stacked_layers_shapes_names_and_reverse_direction():
    rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    names = [name for name, _ in rnn.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in names and rnn.weight_ih_l1.shape == (4, 8)
    x = Tensor(np.random.default_rng(11).normal(size=(2, 5, 3)).astype(np.float32))
    out, h_n = rnn(x)
    assert out.shape == (2, 5, 8) and h_n.shape == (4, 2, 4)
    np.testing.assert_allclose(out.data[:, -1, :4], h_n.data[2])  # the forward direction ends at the last step
    np.testing.assert_allclose(out.data[:, 0, 4:], h_n.data[3])  # the reverse one at the first
    assert repr(rnn) == "RNN(3, 4, num_layers=2, batch_first=True, bidirectional=True)"


def test_cells_are_one_step_of_the_layers():
    rng = np.random.default_rng(12)
    for layer_class, cell_class in ((nn.RNN, nn.RNNCell), (nn.LSTM, nn.LSTMCell), (nn.GRU, nn.GRUCell)):
        layer, cell = layer_class(3, 2), cell_class(3, 2)
        cell.load_state_dict({name[:-3]: value for name, value in layer.state_dict().items()})
        x = rng.normal(size=(1, 4, 3)).astype(np.float32)
        out, _ = layer(Tensor(x))
        step = cell(Tensor(x[0]))
        np.testing.assert_allclose((step[0] if isinstance(step, tuple) else step).data, out.data[0], rtol=1e-6)


def test_recurrent_errors():
    with pytest.raises(ValueError, match=r"GRU: dropout should be a number in \[0, 1\], got 1.5"):
        nn.GRU(2, 3, dropout=1.5)
    with pytest.raises(ValueError, match=r"LSTM: proj_size \(3\) must be 0, or \(LSTM only\) in \(0, hidden_size 3\)"):
        nn.LSTM(2, 3, proj_size=3)
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'gelu'"):
        nn.RNN(2, 3, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"LSTM: expected an input of shape \(L, N, 2\) or \(L, 2\), got \(4, 1, 3\)"):
        nn.LSTM(2, 3)(Tensor(np.zeros((4, 1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"GRU: expected an initial state of shape \(1, 1, 3\), got \(1, 3\)"):
        nn.GRU(2, 3)(Tensor(np.zeros((4, 1, 2), np.float32)), Tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"LSTMCell: expected a hidden state of shape \(1, 3\), got \(1, 2\)"):
        nn.LSTMCell(2, 3)(Tensor(np.zeros((1, 2), np.float32)),
                          (Tensor(np.zeros((1, 2), np.float32)), Tensor(np.zeros((1, 2), np.float32))))


def test_dropout_between_layers_only_in_training():
    autograd.manual_seed(2)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = Tensor(np.random.default_rng(13).normal(size=(3, 2, 3)).astype(np.float32))
    first, second = lstm(x)[0].data, lstm(x)[0].data
    assert not np.allclose(first, second)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].data, lstm(x)[0].data)


# --- detection --------------------------------------------------------------------------------------------------

BOXES = np.array([[0, 0, 2, 1], [0, 0, 1, 1], [5, 5, 6, 6], [0.1, 0, 2, 1]])


def test_box_iou_and_generalized_iou_by_hand():
    iou = ops.box_iou(Tensor(BOXES), Tensor(BOXES[:2])).data
    np.testing.assert_allclose(iou, [[1, 0.5], [0.5, 1], [0, 0], [0.95, 0.45]])
    giou = ops.generalized_box_iou(Tensor(BOXES[2:3]), Tensor(BOXES[1:2])).data
    # disjoint unit squares in a 6 x 6 enclosing box: 0 - (36 - 2) / 36
    np.testing.assert_allclose(giou, [[-34 / 36]])
    np.testing.assert_allclose(ops.box_area(Tensor(BOXES)).data, [2, 1, 1, 1.9])
    assert ops.box_iou(Tensor(np.zeros((0, 4))), Tensor(BOXES)).shape == (0, 4)
    assert ops.box_iou(Tensor(BOXES.astype(np.int64)), Tensor(BOXES.astype(np.int64))).dtype == np.float32


def test_box_convert_by_hand_and_round_trip():
    boxes = Tensor(np.array([[1.0, 2.0, 5.0, 4.0]]))
    np.testing.assert_allclose(ops.box_convert(boxes, "xyxy", "xywh").data, [[1, 2, 4, 2]])
    np.testing.assert_allclose(ops.box_convert(boxes, "xyxy", "cxcywh").data, [[3, 3, 4, 2]])
    there = ops.box_convert(ops.box_convert(boxes, "xyxy", "cxcywh"), "cxcywh", "xywh")
    np.testing.assert_allclose(ops.box_convert(there, "xywh", "xyxy").data, boxes.data)
    with pytest.raises(ValueError, match="box_convert: unsupported out_fmt 'yxyx'"):
        ops.box_convert(boxes, "xyxy", "yxyx")


def test_nms_order_ties_threshold_boundary_and_empty_input():
    boxes = Tensor(BOXES)
    np.testing.assert_array_equal(ops.nms(boxes, Tensor(np.array([0.9, 0.8, 0.7, 0.95])), 0.5).data, [3, 1, 2])
    # equal scores go by index; IoU(0, 1) is exactly the threshold 0.5, which survives (only > suppresses)
    equal = ops.nms(boxes, Tensor(np.full(4, 0.5)), 0.5)
    np.testing.assert_array_equal(equal.data, [0, 1, 2])
    assert equal.dtype == np.int64
    np.testing.assert_array_equal(ops.nms(boxes, Tensor(np.full(4, 0.5)), 0.49).data, [0, 2])
    empty = ops.nms(Tensor(np.zeros((0, 4))), Tensor(np.zeros(0)), 0.5)
    assert empty.shape == (0,) and empty.dtype == np.int64
    with pytest.raises(ValueError, match=r"nms: scores must be \(N,\) for boxes of shape \(4, 4\), got \(3,\)"):
        ops.nms(boxes, Tensor(np.zeros(3)), 0.5)


def test_batched_nms_suppresses_within_each_category_only():
    scores = Tensor(np.array([0.9, 0.8, 0.7, 0.95]))
    kept = ops.batched_nms(Tensor(BOXES), scores, np.array([0, 1, 1, 0]), 0.5)
    np.testing.assert_array_equal(kept.data, [3, 1, 2])  # 0 falls to 3 (same class); 1 survives in its own
    kept = ops.batched_nms(Tensor(BOXES), scores, np.array([0, 1, 2, 3]), 0.5)
    np.testing.assert_array_equal(kept.data, [3, 0, 1, 2])


def test_generalized_box_iou_loss():
    predicted = leaf([[0, 0, 1, 1], [0, 0, 1, 1]])
    target = Tensor(np.array([[0, 0, 1, 1], [2, 0, 3, 1]], dtype=np.float64))
    loss = ops.generalized_box_iou_loss(predicted, target)
    # identical: 0; disjoint unit squares in a 3 x 1 enclosing box: 1 - (0 - (3 - 2) / 3)
    np.testing.assert_allclose(loss.data, [0, 4 / 3], atol=1e-6)
    ops.generalized_box_iou_loss(predicted, target, reduction="sum").backward()
    assert predicted.grad.data[1, 2] < 0  # widening the far box towards its target lowers the loss
    assert ops.generalized_box_iou_loss(Tensor(np.zeros((0, 4))), Tensor(np.zeros((0, 4))), "mean").item() == 0
    with pytest.raises(ValueError, match="generalized_box_iou_loss: invalid reduction 'avg'"):
        ops.generalized_box_iou_loss(predicted, target, reduction="avg")


def test_against_torchvision():
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(14)
    corners = rng.uniform(0, 10, (40, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(0.5, 4, (40, 2))], 1)
    scores, classes = rng.random(40), rng.integers(0, 3, 40)
    np.testing.assert_allclose(ops.box_iou(Tensor(boxes), Tensor(boxes)).data,
                               tv.box_iou(torch.tensor(boxes), torch.tensor(boxes)).numpy())
    np.testing.assert_allclose(ops.generalized_box_iou(Tensor(boxes), Tensor(boxes[::-1].copy())).data,
                               tv.generalized_box_iou(torch.tensor(boxes), torch.tensor(boxes[::-1].copy())).numpy())
    np.testing.assert_array_equal(ops.nms(Tensor(boxes), Tensor(scores), 0.3).data,
                                  tv.nms(torch.tensor(boxes), torch.tensor(scores), 0.3).numpy())
    np.testing.assert_array_equal(
        ops.batched_nms(Tensor(boxes), Tensor(scores), classes, 0.3).data,
        tv.batched_nms(torch.tensor(boxes), torch.tensor(scores), torch.tensor(classes), 0.3).numpy())
