"""The layer-breadth ops set against PyTorch: values and gradients (of the input and of every parameter) over
shapes, settings and float32/float64, and state dicts loaded from torch's modules (and back). Skipped without
torch. (torchvision does not install beside this torch, so the box ops are checked by hand in test_nn_breadth.)"""

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# torch notes that its oneDNN path does not do LSTM projections.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _compare(ours, theirs, dtype, arrays, torch_kwargs=None, **kwargs):
    """Run ``ours`` and ``theirs`` on the float ``arrays`` (as leaves) with ``kwargs``; compare the outputs and
    the gradients of sum(output * random weights) with respect to every array."""
    rng = np.random.default_rng(0)
    arrays = [np.asarray(a, dtype) for a in arrays]
    leaves = [autograd.Tensor(a, requires_grad=True) for a in arrays]
    torch_leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = ours(*leaves, **kwargs)
    expected = theirs(*torch_leaves, **(kwargs if torch_kwargs is None else torch_kwargs))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOLERANCE[dtype])
    weights = rng.normal(size=out.shape).astype(dtype)
    (out * autograd.Tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for leaf, torch_leaf in zip(leaves, torch_leaves):
        if torch_leaf.grad is None or leaf.grad is None:  # not connected (nearest grid_sample's grid): zeros
            for grad in (torch_leaf.grad, leaf.grad):
                assert grad is None or not np.asarray(grad.data if isinstance(grad, autograd.Tensor) else grad).any()
        else:
            np.testing.assert_allclose(leaf.grad.data, torch_leaf.grad.numpy(), **TOLERANCE[dtype])


def _load_from_torch(ours, theirs):
    """Load torch module ``theirs``'s state dict into ``ours``; the keys must be the same, in the same order."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({key: autograd.Tensor(value.detach().numpy().copy()) for key, value in state.items()})


def _compare_modules(ours, theirs, dtype, inputs, **kwargs):
    """Outputs and the gradients of inputs and parameters of two modules with the same parameters."""
    rng = np.random.default_rng(1)
    leaves = [autograd.Tensor(np.asarray(a, dtype), requires_grad=True) for a in inputs]
    torch_leaves = [torch.tensor(np.asarray(a, dtype), requires_grad=True) for a in inputs]
    flatten = lambda output: [part for item in output for part in (item if isinstance(item, tuple) else (item,))
                              if part is not None] if isinstance(output, tuple) else [output]
    outs, expected = flatten(ours(*leaves, **kwargs)), flatten(theirs(*torch_leaves, **kwargs))
    assert len(outs) == len(expected)
    total, torch_total = 0, 0
    for out, reference in zip(outs, expected):
        np.testing.assert_allclose(out.data, reference.detach().numpy(), **TOLERANCE[dtype])
        weights = rng.normal(size=out.shape).astype(dtype)
        total = total + (out * autograd.Tensor(weights)).sum()
        torch_total = torch_total + (reference * torch.tensor(weights)).sum()
    total.backward()
    torch_total.backward()
    for leaf, torch_leaf in zip(leaves, torch_leaves):
        np.testing.assert_allclose(leaf.grad.data, torch_leaf.grad.numpy(), **TOLERANCE[dtype])
    torch_parameters = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad.data, torch_parameters[name].grad.numpy(), **TOLERANCE[dtype],
                                   err_msg=name)


# --- embedding --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                    {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_embedding_function(dtype, kwargs):
    index = np.array([[0, 1, 4, 1], [4, 4, 2, 0]])
    weight = np.random.default_rng(2).normal(size=(5, 3))
    _compare(lambda w, **kw: F.embedding(index, w, **kw), lambda w, **kw: TF.embedding(torch.tensor(index), w, **kw),
             dtype, [weight], **kwargs)


def test_embedding_max_norm_renormalises_like_torch():
    weight = np.random.default_rng(3).normal(size=(6, 4)) * 2
    index = np.array([0, 2, 2, 5])
    ours, theirs = autograd.Tensor(weight.copy()), torch.tensor(weight.copy())
    out = F.embedding(index, ours, max_norm=1.5, norm_type=3.0)
    expected = TF.embedding(torch.tensor(index), theirs, max_norm=1.5, norm_type=3.0)
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)  # both renormalised the rows in place


def test_embedding_state_dict_loads_both_ways():
    theirs = torch.nn.Embedding(7, 3, padding_idx=2)
    ours = nn.Embedding(7, 3, padding_idx=2)
    _load_from_torch(ours, theirs)
    index = np.array([[1, 2, 6]])
    np.testing.assert_allclose(ours(index).data, theirs(torch.tensor(index)).detach().numpy())
    ours.weight.data[:] += 1
    theirs.load_state_dict({key: torch.tensor(value.data) for key, value in ours.state_dict().items()})
    np.testing.assert_allclose(theirs.weight.detach().numpy(), ours.weight.data)


# --- pooling, padding, pixel shuffle ------------------------------------------------------------------------------

POOLS = [
    ("max_pool1d", {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool1d", {"kernel_size": 2, "dilation": 2, "ceil_mode": True}),
    ("avg_pool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ("avg_pool1d", {"kernel_size": 4, "ceil_mode": True}),
    ("adaptive_avg_pool1d", {"output_size": 4}),
    ("adaptive_max_pool1d", {"output_size": 3}),
    ("lp_pool1d", {"norm_type": 2, "kernel_size": 3, "stride": 2}),
    ("lp_pool1d", {"norm_type": 1.5, "kernel_size": 2, "ceil_mode": True}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs", POOLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(POOLS)])
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 10)])
def test_pool_1d(dtype, name, kwargs, shape):
    x = np.random.default_rng(4).normal(size=shape)
    if name.startswith("lp"):
        x = np.abs(x) + 0.1
    _compare(getattr(F, name), getattr(TF, name), dtype, [x], **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{"norm_type": 2, "kernel_size": 2}, {"norm_type": 3, "kernel_size": (3, 2),
                                                                         "stride": (1, 2), "ceil_mode": True}])
def test_lp_pool2d(dtype, kwargs):
    x = np.abs(np.random.default_rng(5).normal(size=(2, 2, 7, 6))) + 0.1
    _compare(F.lp_pool2d, TF.lp_pool2d, dtype, [x], **kwargs)


def test_pool_1d_indices_match_torch():
    x = np.random.default_rng(6).normal(size=(2, 3, 11))
    _, ours = F.max_pool1d(autograd.Tensor(x), 3, 2, 1, return_indices=True)
    _, theirs = TF.max_pool1d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    _, ours = F.adaptive_max_pool1d(autograd.Tensor(x), 4, return_indices=True)
    _, theirs = TF.adaptive_max_pool1d(torch.tensor(x), 4, return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("layer, args, shape", [
    ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)), ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ConstantPad2d", (2, 0.5), (3, 4, 5)), ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), -1.0), (1, 2, 3, 4, 2)),
    ("ReflectionPad2d", ((2, 1, 3, 0),), (2, 3, 4, 5)), ("ReflectionPad1d", (3,), (2, 5)),
    ("ReplicationPad2d", ((1, 2, 2, 1),), (1, 2, 3, 4)), ("ReplicationPad3d", (1,), (1, 1, 2, 3, 2)),
    ("CircularPad2d", ((1, 2, 3, 1),), (1, 2, 4, 4)),
])
def test_padding_layers(layer, args, shape):
    x = np.random.default_rng(7).normal(size=shape)
    _compare(getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args), np.float64, [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_pixel_shuffle_and_unshuffle(dtype):
    x = np.random.default_rng(8).normal(size=(2, 18, 2, 3))
    _compare(nn.PixelShuffle(3), torch.nn.PixelShuffle(3), dtype, [x])
    y = np.random.default_rng(9).normal(size=(3, 2, 4, 6))
    _compare(nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), dtype, [y])


# --- interpolate ------------------------------------------------------------------------------------------------

INTERPOLATIONS = [
    (3, "nearest"), (3, "nearest-exact"), (3, "linear"), (3, "area"),
    (4, "nearest"), (4, "nearest-exact"), (4, "bilinear"), (4, "bicubic"), (4, "area"),
    (5, "nearest"), (5, "nearest-exact"), (5, "trilinear"), (5, "area"),
]
SIZES = {3: (2, 3, 7), 4: (2, 2, 5, 6), 5: (1, 2, 3, 4, 5)}


# align_corners is an argument of the interpolating modes only.
INTERPOLATION_CASES = [(ndim, mode, align) for ndim, mode in INTERPOLATIONS for align in (None, False, True)
                       if align is None or mode in ("linear", "bilinear", "bicubic", "trilinear")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ndim, mode, align_corners", INTERPOLATION_CASES)
@pytest.mark.parametrize("resize", ["up", "down", "scale 1.7", "scale 0.6 recompute", "same"])
def test_interpolate(dtype, ndim, mode, resize, align_corners):
    shape = SIZES[ndim]
    x = np.random.default_rng(10).normal(size=shape)
    spatial = shape[2:]
    kwargs = {"up": {"size": tuple(2 * n + 1 for n in spatial)},
              "down": {"size": tuple(max(1, n // 2) for n in spatial)},
              "scale 1.7": {"scale_factor": 1.7},
              "scale 0.6 recompute": {"scale_factor": 0.6, "recompute_scale_factor": True},
              "same": {"size": spatial}}[resize]
    _compare(F.interpolate, TF.interpolate, dtype, [x], mode=mode, align_corners=align_corners, **kwargs)


def test_upsample_layers():
    x = np.random.default_rng(11).normal(size=(1, 2, 3, 4))
    _compare(nn.Upsample(scale_factor=2, mode="bicubic"), torch.nn.Upsample(scale_factor=2, mode="bicubic"),
             np.float64, [x])
    _compare(nn.UpsamplingBilinear2d(size=(5, 7)), torch.nn.UpsamplingBilinear2d(size=(5, 7)), np.float64, [x])
    _compare(nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3), np.float64, [x])


# --- grid sampling ----------------------------------------------------------------------------------------------

# Images in every mode, volumes in the two PyTorch has for them (bicubic is 4-d only).
GRID_CASES = [(mode, (2, 3, 4, 5), (2, 3, 6, 2)) for mode in ("bilinear", "nearest", "bicubic")] + [
    (mode, (2, 2, 3, 4, 5), (2, 2, 3, 4, 3)) for mode in ("bilinear", "nearest")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, shape, grid_shape", GRID_CASES)
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample(dtype, mode, shape, grid_shape, padding_mode, align_corners):
    rng = np.random.default_rng(12)
    x, grid = rng.normal(size=shape), rng.uniform(-1.6, 1.6, grid_shape)
    _compare(F.grid_sample, TF.grid_sample, dtype, [x, grid], mode=mode, padding_mode=padding_mode,
             align_corners=align_corners)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")  # torch's note on unit-size grids
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 2, 3, 4, 2)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(dtype, size, align_corners):
    theta = np.random.default_rng(13).normal(size=(2, len(size) - 2, len(size) - 1))
    _compare(lambda t: F.affine_grid(t, size, align_corners), lambda t: TF.affine_grid(t, size, align_corners),
             dtype, [theta])


def test_spatial_transformer_pipeline_matches_torch():
    rng = np.random.default_rng(14)
    x, theta = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(2, 2, 3)) * 0.5

    def ours(image, affine):
        return F.grid_sample(image, F.affine_grid(affine, (2, 3, 4, 4), False), align_corners=False)

    def theirs(image, affine):
        return TF.grid_sample(image, TF.affine_grid(affine, (2, 3, 4, 4), False), align_corners=False)

    _compare(ours, theirs, np.float64, [x, theta])


# --- normalization ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer, shape", [("InstanceNorm1d", (2, 3, 6)), ("InstanceNorm2d", (2, 3, 4, 5)),
                                          ("InstanceNorm2d", (3, 4, 5)), ("InstanceNorm3d", (2, 3, 2, 3, 2))])
@pytest.mark.parametrize("affine, track", [(False, False), (True, False), (True, True)])
def test_instance_norm_layers(dtype, layer, shape, affine, track):
    theirs = getattr(torch.nn, layer)(3, affine=affine, track_running_stats=track).to(TORCH_DTYPE[dtype])
    ours = getattr(nn, layer)(3, affine=affine, track_running_stats=track).to(dtype)
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
            theirs.bias.normal_()
    _load_from_torch(ours, theirs)
    x = np.random.default_rng(15).normal(size=shape) * 2 + 1
    _compare_modules(ours, theirs, dtype, [x])
    if track:
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(ours, name).data, getattr(theirs, name).numpy(), **TOLERANCE[dtype])
        ours.eval()
        theirs.eval()
        _compare_modules(ours, theirs, dtype, [x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size, shape", [(3, (2, 5, 4, 3)), (2, (2, 4, 6)), (4, (1, 6, 2, 2, 3)), (1, (2, 3, 4))])
def test_local_response_norm(dtype, size, shape):
    x = np.random.default_rng(16).normal(size=shape) * 3
    _compare(nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5),
             torch.nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5), dtype, [x])


# --- attention --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["plain", "bool mask", "float mask", "causal", "causal wide", "scale", "gqa",
                                  "batched mask"])
def test_scaled_dot_product_attention(dtype, case):
    rng = np.random.default_rng(17)
    q, k, v = rng.normal(size=(2, 4, 3, 5)), rng.normal(size=(2, 4, 6, 5)), rng.normal(size=(2, 4, 6, 2))
    kwargs = {}
    if case == "bool mask":
        mask = rng.random((3, 6)) > 0.4
        mask[:, 1] = True
        kwargs["attn_mask"] = mask
    elif case == "float mask":
        kwargs["attn_mask"] = rng.normal(size=(3, 6))
    elif case == "batched mask":
        kwargs["attn_mask"] = rng.normal(size=(2, 1, 3, 6))
    elif case == "causal":
        q = rng.normal(size=(2, 4, 6, 5))
        kwargs["is_causal"] = True
    elif case == "causal wide":
        kwargs["is_causal"] = True
    elif case == "scale":
        kwargs["scale"] = 0.3
    elif case == "gqa":
        k, v = k[:, :2], v[:, :2]
        kwargs["enable_gqa"] = True
    torch_kwargs = {key: torch.tensor(value) if isinstance(value, np.ndarray) else value
                    for key, value in kwargs.items()}
    if "attn_mask" in kwargs and kwargs["attn_mask"].dtype != np.bool_:
        torch_kwargs["attn_mask"] = torch_kwargs["attn_mask"].to(TORCH_DTYPE[dtype])
    _compare(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, dtype, [q, k, v],
             torch_kwargs=torch_kwargs, **kwargs)


MHA_SETTINGS = [
    {}, {"batch_first": True}, {"bias": False}, {"add_bias_kv": True}, {"add_zero_attn": True},
    {"kdim": 3, "vdim": 5}, {"kdim": 3, "vdim": 5, "add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
]


MHA_MASKS = ["none", "bool", "float", "padding", "both", "3-d attn_mask"]
# Every setting with every mask in float64 (per-head weights for half of them), and float32 once per setting.
MHA_CASES = [(np.float64, settings, masks, index % 2 == 0) for settings in MHA_SETTINGS
             for index, masks in enumerate(MHA_MASKS)] + [(np.float32, settings, "both", True)
                                                          for settings in MHA_SETTINGS]


@pytest.mark.parametrize("dtype, settings, masks, average", MHA_CASES,
                         ids=[f"{np.dtype(d).name}-{s}-{m}-{a}" for d, s, m, a in MHA_CASES])
def test_multihead_attention(dtype, settings, masks, average):
    rng = np.random.default_rng(18)
    theirs = torch.nn.MultiheadAttention(8, 2, **settings).to(TORCH_DTYPE[dtype])
    ours = nn.MultiheadAttention(8, 2, **settings).to(dtype)
    if settings.get("bias", True):
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    _load_from_torch(ours, theirs)
    target, source, batch = 3, 4, 2
    first = (batch, target) if settings.get("batch_first") else (target, batch)
    other = (batch, source) if settings.get("batch_first") else (source, batch)
    inputs = [rng.normal(size=(*first, 8)), rng.normal(size=(*other, settings.get("kdim", 8))),
              rng.normal(size=(*other, settings.get("vdim", 8)))]
    kwargs = {"average_attn_weights": average}
    if masks in ("bool", "both"):
        mask = rng.random((target, source)) > 0.6
        mask[:, 0] = False
        kwargs["attn_mask"] = mask
    if masks == "float":
        kwargs["attn_mask"] = rng.normal(size=(target, source)).astype(dtype)
    if masks == "3-d attn_mask":
        kwargs["attn_mask"] = rng.normal(size=(batch * 2, target, source)).astype(dtype)
    if masks in ("padding", "both"):
        kwargs["key_padding_mask"] = np.array([[False, True, False, True], [False, False, False, True]])
    ours_kwargs = dict(kwargs)
    torch_kwargs = {key: torch.tensor(value) if isinstance(value, np.ndarray) else value
                    for key, value in kwargs.items()}
    _compare_mha(ours, theirs, dtype, inputs, ours_kwargs, torch_kwargs)


def _compare_mha(ours, theirs, dtype, inputs, ours_kwargs, torch_kwargs):
    rng = np.random.default_rng(19)
    leaves = [autograd.Tensor(np.asarray(a, dtype), requires_grad=True) for a in inputs]
    torch_leaves = [torch.tensor(np.asarray(a, dtype), requires_grad=True) for a in inputs]
    out, weights = ours(*leaves, **ours_kwargs)
    expected, expected_weights = theirs(*torch_leaves, **torch_kwargs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), **TOLERANCE[dtype])
    grad = rng.normal(size=out.shape).astype(dtype)
    (out * autograd.Tensor(grad)).sum().backward()
    (expected * torch.tensor(grad)).sum().backward()
    for leaf, torch_leaf in zip(leaves, torch_leaves):
        np.testing.assert_allclose(leaf.grad.data, torch_leaf.grad.numpy(), **TOLERANCE[dtype])
    torch_parameters = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad.data, torch_parameters[name].grad.numpy(), **TOLERANCE[dtype],
                                   err_msg=name)


def test_multihead_attention_unbatched_and_no_weights():
    theirs = torch.nn.MultiheadAttention(4, 2).double()
    ours = nn.MultiheadAttention(4, 2)
    _load_from_torch(ours, theirs)
    rng = np.random.default_rng(20)
    q, kv = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    out, weights = ours(autograd.Tensor(q), autograd.Tensor(kv), autograd.Tensor(kv))
    expected, expected_weights = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), rtol=1e-10)
    out, weights = ours(autograd.Tensor(q), autograd.Tensor(kv), autograd.Tensor(kv), need_weights=False)
    assert weights is None
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10)


# --- recurrent layers -------------------------------------------------------------------------------------------

RECURRENT = [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2}), ("RNN", {"bidirectional": True, "bias": False}),
    ("LSTM", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}), ("LSTM", {"proj_size": 2}),
    ("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
    ("GRU", {}), ("GRU", {"num_layers": 3}), ("GRU", {"bidirectional": True, "num_layers": 2, "bias": False}),
]


LAYOUTS = ["sequence first", "batch_first", "unbatched", "initial state"]
# Every layer in every layout in float64, and float32 with each layer's initial state.
RECURRENT_CASES = [(np.float64, name, settings, layout) for name, settings in RECURRENT for layout in LAYOUTS] + [
    (np.float32, name, settings, "initial state") for name, settings in RECURRENT]


@pytest.mark.parametrize("dtype, name, settings, layout", RECURRENT_CASES,
                         ids=[f"{np.dtype(d).name}-{n}{s}-{l}" for d, n, s, l in RECURRENT_CASES])
def test_recurrent_layers(dtype, name, settings, layout):
    rng = np.random.default_rng(21)
    settings = dict(settings, batch_first=layout == "batch_first")
    theirs = getattr(torch.nn, name)(3, 4, **settings).to(TORCH_DTYPE[dtype])
    ours = getattr(nn, name)(3, 4, **settings).to(dtype)
    _load_from_torch(ours, theirs)
    shape = {"sequence first": (5, 2, 3), "batch_first": (2, 5, 3), "unbatched": (5, 3), "initial state": (5, 2, 3)}
    inputs = [rng.normal(size=shape[layout])]
    if layout == "initial state":
        states = (2 if settings.get("bidirectional") else 1) * settings.get("num_layers", 1)
        h = rng.normal(size=(states, 2, settings.get("proj_size") or 4))
        if name == "LSTM":
            c = rng.normal(size=(states, 2, 4))
            _compare_lstm_with_state(ours, theirs, dtype, inputs[0], h, c)
            return
        inputs.append(h)
    _compare_modules(ours, theirs, dtype, inputs)


def _compare_lstm_with_state(ours, theirs, dtype, x, h, c):
    leaves = [autograd.Tensor(np.asarray(a, dtype), requires_grad=True) for a in (x, h, c)]
    torch_leaves = [torch.tensor(np.asarray(a, dtype), requires_grad=True) for a in (x, h, c)]
    out, (h_n, c_n) = ours(leaves[0], (leaves[1], leaves[2]))
    expected, (expected_h, expected_c) = theirs(torch_leaves[0], (torch_leaves[1], torch_leaves[2]))
    for a, b in ((out, expected), (h_n, expected_h), (c_n, expected_c)):
        np.testing.assert_allclose(a.data, b.detach().numpy(), **TOLERANCE[dtype])
    (out.sum() + (h_n * 2).sum() + (c_n * 3).sum()).backward()
    (expected.sum() + (expected_h * 2).sum() + (expected_c * 3).sum()).backward()
    for leaf, torch_leaf in zip(leaves, torch_leaves):
        np.testing.assert_allclose(leaf.grad.data, torch_leaf.grad.numpy(), **TOLERANCE[dtype])


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batched", [True, False])
def test_cells(name, dtype, batched):
    rng = np.random.default_rng(22)
    theirs = getattr(torch.nn, name)(3, 4).to(TORCH_DTYPE[dtype])
    ours = getattr(nn, name)(3, 4).to(dtype)
    _load_from_torch(ours, theirs)
    x = rng.normal(size=(2, 3) if batched else (3,))
    _compare_modules(ours, theirs, dtype, [x])
    h = rng.normal(size=(2, 4) if batched else (4,))
    if name == "LSTMCell":
        c = rng.normal(size=h.shape)
        out = ours(autograd.Tensor(np.asarray(x, dtype)), (autograd.Tensor(np.asarray(h, dtype)),
                                                            autograd.Tensor(np.asarray(c, dtype))))
        expected = theirs(torch.tensor(np.asarray(x, dtype)), (torch.tensor(np.asarray(h, dtype)),
                                                               torch.tensor(np.asarray(c, dtype))))
        for a, b in zip(out, expected):
            np.testing.assert_allclose(a.data, b.detach().numpy(), **TOLERANCE[dtype])
    else:
        _compare_modules(ours, theirs, dtype, [x, h])


def test_recurrent_state_dict_goes_back_to_torch():
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    theirs.load_state_dict({key: torch.tensor(value.data) for key, value in ours.state_dict().items()})
    x = np.random.default_rng(23).normal(size=(4, 2, 3)).astype(np.float32)
    out, _ = ours(autograd.Tensor(x))
    expected, _ = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_default_initialisation_has_torch_distributions():
    autograd.manual_seed(0)
    lstm = nn.LSTM(3, 16)
    bound = 1 / 4
    for parameter in lstm.parameters():
        assert np.abs(parameter.data).max() <= bound
        assert np.abs(parameter.data).max() > 0.8 * bound
    embedding = nn.Embedding(200, 50)
    assert abs(embedding.weight.data.std() - 1) < 0.05
    attention = nn.MultiheadAttention(16, 4)
    limit = np.sqrt(6 / (16 + 48))  # Xavier-uniform of the (3E, E) in_proj_weight, as torch
    assert np.abs(attention.in_proj_weight.data).max() <= limit
    assert not attention.in_proj_bias.data.any() and not attention.out_proj.bias.data.any()
