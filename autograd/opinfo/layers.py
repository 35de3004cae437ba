"""Samples for the layer-breadth ops: embedding, 1-d and power pooling, instance and local response norm,
pixel shuffle, the interpolation modes, grid sampling, attention, the recurrent layers and the box ops.

Layers with parameters (``MultiheadAttention``, ``RNN``, ``LSTM``, ``GRU`` and the cells, from ``nn``: the
registry is loaded after both packages) are checked through a float64 module whose parameters are the sample's positional arguments: gradcheck perturbs them in place, so the
module's forward sees each perturbation and every parameter's gradient is checked. Grid positions stay off
integer pixel coordinates (where bilinear weights have kinks) and boxes off touching edges.
"""

from __future__ import annotations

import numpy as np

from nn.layers import recurrent
from nn.layers.attention import MultiheadAttention

from ..ops import attention, detection, embedding, normalization, pooling, resize, sampling
from ..tensor import Tensor
from . import OpInfo, Sample, distinct, leaf


def _embedding(weight: Tensor, *, index: np.ndarray, **kwargs) -> Tensor:
    return embedding.embedding(index, weight, **kwargs)


def _embedding_samples(rng: np.random.Generator) -> list[Sample]:
    # padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer the derivative), so
    # they are tested by value in tests/test_nn_breadth.py.
    return [Sample("(2,3) ids with repeats", (leaf(rng, 5, 3),), {"index": np.array([[0, 2, 4], [2, 2, 1]])})]


def _instance_norm(input, weight=None, bias=None, **kwargs):
    return normalization.instance_norm(input, weight=weight, bias=bias, **kwargs)


def _instance_norm_samples(rng: np.random.Generator) -> list[Sample]:
    running = {"running_mean": Tensor(rng.uniform(-1, 1, 3)), "running_var": Tensor(rng.uniform(0.5, 2, 3))}
    return [Sample("(2,3,5) affine", (leaf(rng, 2, 3, 5), leaf(rng, 3), leaf(rng, 3))),
            Sample("(2,3,2,3)", (leaf(rng, 2, 3, 2, 3),)),
            Sample("running stats", (leaf(rng, 2, 3, 4),), {**running, "use_input_stats": False})]


def _positive(rng: np.random.Generator, *shape: int) -> Tensor:
    return leaf(rng, *shape, low=0.3, high=2.0)


def _interpolate_samples(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("nearest 3-d", (leaf(rng, 2, 2, 5),), {"size": 7}),
        Sample("nearest-exact", (leaf(rng, 1, 2, 3, 4),), {"scale_factor": 1.7, "mode": "nearest-exact"}),
        Sample("nearest 5-d", (leaf(rng, 1, 1, 2, 3, 2),), {"size": (3, 2, 4)}),
        Sample("linear", (leaf(rng, 2, 2, 4),), {"size": 6, "mode": "linear"}),
        Sample("linear align_corners", (leaf(rng, 1, 2, 5),), {"size": 3, "mode": "linear", "align_corners": True}),
        Sample("bicubic", (leaf(rng, 1, 2, 4, 3),), {"size": (6, 5), "mode": "bicubic"}),
        Sample("bicubic align_corners down", (leaf(rng, 1, 1, 5, 6),),
               {"size": (3, 4), "mode": "bicubic", "align_corners": True}),
        Sample("trilinear", (leaf(rng, 1, 1, 2, 3, 3),), {"scale_factor": 1.5, "mode": "trilinear"}),
        Sample("area 4-d", (leaf(rng, 1, 2, 5, 4),), {"size": (3, 2), "mode": "area"}),
        Sample("area 3-d", (leaf(rng, 2, 1, 7),), {"size": 3, "mode": "area"}),
    ]


def _pixel_positions(rng: np.random.Generator, shape: tuple, size: int, align_corners: bool,
                     fraction: tuple[float, float]) -> np.ndarray:
    """Normalised grid coordinates of positions in [-1.5, size + 0.5] whose fractional part lies in
    ``fraction``: off the integers, where bilinear weights (and clamps and reflections) have kinks."""
    position = rng.integers(-2, size + 1, shape) + rng.uniform(*fraction, shape)
    if align_corners:
        return position * 2 / (size - 1) - 1
    return (2 * position + 1) / size - 1


def _grid_sample_samples(rng: np.random.Generator) -> list[Sample]:
    samples = []
    for padding_mode in ("zeros", "border", "reflection"):
        for align_corners in (False, True):
            grid = np.stack([_pixel_positions(rng, (2, 3, 2), 4, align_corners, (0.2, 0.8)),
                             _pixel_positions(rng, (2, 3, 2), 3, align_corners, (0.2, 0.8))], -1)
            samples.append(Sample(f"bilinear {padding_mode} align_corners={align_corners}",
                                  (leaf(rng, 2, 2, 3, 4), Tensor(grid, requires_grad=True)),
                                  {"padding_mode": padding_mode, "align_corners": align_corners}))
    grid = np.stack([_pixel_positions(rng, (1, 2, 3), 4, False, (0.1, 0.35)),
                     _pixel_positions(rng, (1, 2, 3), 3, False, (0.1, 0.35))], -1)
    samples.append(Sample("nearest", (leaf(rng, 1, 2, 3, 4), Tensor(grid)), {"mode": "nearest"}))
    for padding_mode in ("zeros", "reflection"):
        grid = np.stack([_pixel_positions(rng, (1, 2, 2), 4, False, (0.2, 0.8)),
                         _pixel_positions(rng, (1, 2, 2), 3, False, (0.2, 0.8))], -1)
        samples.append(Sample(f"bicubic {padding_mode}", (leaf(rng, 1, 1, 3, 4), Tensor(grid, requires_grad=True)),
                              {"mode": "bicubic", "padding_mode": padding_mode}))
    grid = np.stack([_pixel_positions(rng, (1, 2, 1, 2), size, False, (0.2, 0.8)) for size in (3, 2, 2)], -1)
    samples.append(Sample("trilinear 5-d reflection", (leaf(rng, 1, 2, 2, 2, 3), Tensor(grid, requires_grad=True)),
                          {"padding_mode": "reflection"}))
    return samples


def _attention_samples(rng: np.random.Generator) -> list[Sample]:
    boolean = rng.random((3, 5)) > 0.4
    boolean[:, 0] = True
    return [
        Sample("(2,3,4) over (2,5,4)", (leaf(rng, 2, 3, 4), leaf(rng, 2, 5, 4), leaf(rng, 2, 5, 3))),
        Sample("float mask scale", (leaf(rng, 2, 3, 4), leaf(rng, 2, 5, 4), leaf(rng, 2, 5, 3)),
               {"attn_mask": rng.normal(size=(3, 5)), "scale": 0.7}),
        Sample("bool mask", (leaf(rng, 2, 3, 4), leaf(rng, 2, 5, 4), leaf(rng, 2, 5, 3)), {"attn_mask": boolean}),
        Sample("is_causal", (leaf(rng, 1, 4, 3), leaf(rng, 1, 4, 3), leaf(rng, 1, 4, 2)), {"is_causal": True}),
        Sample("enable_gqa 4 heads over 2", (leaf(rng, 1, 4, 3, 2), leaf(rng, 1, 2, 5, 2), leaf(rng, 1, 2, 5, 2)),
               {"enable_gqa": True}),
    ]


def _module_sample(name: str, module, *inputs: Tensor, **kwargs) -> Sample:
    """A sample whose arguments are the inputs and then every parameter of the float64 ``module``."""
    module = module.double()
    return Sample(name, (*inputs, *module.parameters()), {"module": module, "count": len(inputs), **kwargs})


def _call_module(*args, module, count, **kwargs):
    """The module applied to the sample's inputs (its parameters, the other arguments, are the module's own)."""
    output = module(*args[:count], **kwargs)
    if isinstance(output, tuple) and isinstance(output[-1], tuple):  # an LSTM's (output, (h, c))
        return (output[0], *output[1])
    return output


def _multihead_samples(rng: np.random.Generator) -> list[Sample]:
    padding = np.array([[False, False, True], [False, False, False]])
    return [
        _module_sample("self-attention", MultiheadAttention(4, 2), leaf(rng, 3, 2, 4), leaf(rng, 3, 2, 4),
                       leaf(rng, 3, 2, 4)),
        _module_sample("kdim vdim bias_kv zero_attn padding mask batch_first",
                       MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=2,
                                          batch_first=True),
                       leaf(rng, 2, 2, 4), leaf(rng, 2, 3, 3), leaf(rng, 2, 3, 2), key_padding_mask=padding),
    ]


def _recurrent_samples(rng: np.random.Generator) -> list[Sample]:
    return [
        _module_sample("RNN 2 layers", recurrent.RNN(3, 2, num_layers=2), leaf(rng, 3, 2, 3), leaf(rng, 2, 2, 2)),
        _module_sample("RNN bidirectional batch_first", recurrent.RNN(2, 2, bidirectional=True, batch_first=True),
                       leaf(rng, 2, 3, 2)),
        _module_sample("LSTM", recurrent.LSTM(2, 2), leaf(rng, 3, 1, 2)),
        _module_sample("LSTM proj_size bidirectional", recurrent.LSTM(2, 3, proj_size=1, bidirectional=True),
                       leaf(rng, 2, 2)),
        _module_sample("GRU 2 layers", recurrent.GRU(2, 2, num_layers=2), leaf(rng, 3, 1, 2)),
        _module_sample("GRU bidirectional no bias", recurrent.GRU(2, 2, bias=False, bidirectional=True),
                       leaf(rng, 2, 2, 2)),
        _module_sample("RNNCell", recurrent.RNNCell(3, 2), leaf(rng, 2, 3), leaf(rng, 2, 2)),
        _module_sample("LSTMCell", recurrent.LSTMCell(3, 2), leaf(rng, 2, 3)),
        _module_sample("GRUCell", recurrent.GRUCell(3, 2), leaf(rng, 3), leaf(rng, 2)),
    ]


def _boxes(values: list) -> Tensor:
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def _box_pairs(rng: np.random.Generator) -> list[Sample]:
    # Partial overlaps, containment and a clear miss, no edges shared (max/min ties) or barely touching.
    return [Sample("3 x 2 boxes", (_boxes([[0, 0, 2, 2], [1, 0.5, 3, 2.5], [4, 4, 5, 6]]),
                                   _boxes([[0.5, 0.3, 1.5, 2.7], [2.2, 1.1, 3.3, 3.4]])))]


def _box_loss(rng: np.random.Generator) -> list[Sample]:
    predicted = [[0, 0, 2, 2], [1, 0.5, 3, 2.5], [4, 4, 5, 6]]
    target = [[0.5, 0.3, 1.5, 2.7], [2.2, 1.1, 3.3, 3.4], [0.3, 0.2, 1.1, 0.9]]
    return [Sample(reduction, (_boxes(predicted), _boxes(target)), {"reduction": reduction})
            for reduction in ("none", "mean", "sum")]


def _box_convert(rng: np.random.Generator) -> list[Sample]:
    pairs = (("xyxy", "cxcywh"), ("cxcywh", "xywh"), ("xywh", "xyxy"))
    return [Sample(f"{a} to {b}", (leaf(rng, 3, 4),), {"in_fmt": a, "out_fmt": b}) for a, b in pairs]


OPS = [
    OpInfo("embedding", _embedding, _embedding_samples),
    OpInfo("instance_norm", _instance_norm, _instance_norm_samples),
    OpInfo("local_response_norm", normalization.local_response_norm, lambda rng: [
        Sample("size=3 4-d", (leaf(rng, 2, 4, 2, 3),), {"size": 3, "alpha": 0.5, "beta": 0.75, "k": 1.5}),
        Sample("size=2 3-d", (leaf(rng, 1, 3, 4),), {"size": 2})]),
    OpInfo("max_pool1d", pooling.max_pool1d, lambda rng: [
        Sample("k=3 s=2 p=1 ceil", (distinct(rng, 2, 2, 7),), {"kernel_size": 3, "stride": 2, "padding": 1,
                                                               "ceil_mode": True}),
        Sample("unbatched dilation=2", (distinct(rng, 2, 8),), {"kernel_size": 2, "dilation": 2})]),
    OpInfo("avg_pool1d", pooling.avg_pool1d, lambda rng: [
        Sample("k=3 s=2 p=1 exclude pad", (leaf(rng, 2, 2, 7),), {"kernel_size": 3, "stride": 2, "padding": 1,
                                                                  "count_include_pad": False})]),
    OpInfo("adaptive_avg_pool1d", pooling.adaptive_avg_pool1d, lambda rng: [
        Sample("7 -> 3", (leaf(rng, 2, 2, 7),), {"output_size": 3})]),
    OpInfo("adaptive_max_pool1d", pooling.adaptive_max_pool1d, lambda rng: [
        Sample("7 -> 3", (distinct(rng, 2, 2, 7),), {"output_size": 3})]),
    OpInfo("lp_pool1d", pooling.lp_pool1d, lambda rng: [
        Sample("p=2 k=3 s=2", (_positive(rng, 2, 2, 7),), {"norm_type": 2, "kernel_size": 3, "stride": 2})]),
    OpInfo("lp_pool2d", pooling.lp_pool2d, lambda rng: [
        Sample("p=3 k=(2,3) ceil", (_positive(rng, 1, 2, 5, 5),), {"norm_type": 3, "kernel_size": (2, 3),
                                                                   "ceil_mode": True})]),
    OpInfo("pixel_shuffle", resize.pixel_shuffle, lambda rng: [
        Sample("r=2", (leaf(rng, 2, 8, 2, 3),), {"upscale_factor": 2})]),
    OpInfo("pixel_unshuffle", resize.pixel_unshuffle, lambda rng: [
        Sample("r=2 extra batch dim", (leaf(rng, 2, 1, 2, 4, 6),), {"downscale_factor": 2})]),
    OpInfo("interpolate modes", resize.interpolate, _interpolate_samples),
    OpInfo("grid_sample", sampling.grid_sample, _grid_sample_samples),
    OpInfo("affine_grid", sampling.affine_grid, lambda rng: [
        Sample("2-d", (leaf(rng, 2, 2, 3),), {"size": (2, 1, 3, 4)}),
        Sample("3-d align_corners", (leaf(rng, 1, 3, 4),), {"size": (1, 1, 2, 3, 2), "align_corners": True})]),
    OpInfo("scaled_dot_product_attention", attention.scaled_dot_product_attention, _attention_samples),
    OpInfo("MultiheadAttention", _call_module, _multihead_samples, fast=True),
    OpInfo("recurrent layers", _call_module, _recurrent_samples, fast=True),
    OpInfo("box_iou", detection.box_iou, _box_pairs),
    OpInfo("generalized_box_iou", detection.generalized_box_iou, _box_pairs),
    OpInfo("generalized_box_iou_loss", detection.generalized_box_iou_loss, _box_loss),
    OpInfo("box_convert", detection.box_convert, _box_convert),
]
