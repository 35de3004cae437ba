"""Samples for normalization, activations, losses, linear, padding and interpolation.

Piecewise ops (leaky_relu, elu, hardtanh, the L1-type losses) get inputs away from their kinks;
class-index targets and running statistics are plain (non-differentiable) arguments. Dropout is
random, so it is checked through its Function with a fixed mask.
"""

from __future__ import annotations

import numpy as np

from ..ops import activation, linalg, loss, normalization, padding, resize
from ..tensor import Tensor
from . import OpInfo, Sample, away_from, leaf


def _constant(values: np.ndarray) -> Tensor:
    return Tensor(np.asarray(values, dtype=np.float64))


def _batch_norm(rng: np.random.Generator) -> list[Sample]:
    samples = []
    for shape in ((4, 3), (3, 2, 4), (2, 3, 2, 3)):
        channels = shape[1]
        for training in (True, False):
            running = {"running_mean": _constant(rng.uniform(-1, 1, channels)),
                       "running_var": _constant(rng.uniform(0.5, 2, channels))}
            mode = "train" if training else "eval"
            samples.append(Sample(f"{shape} {mode} affine",
                                  (leaf(rng, *shape), leaf(rng, channels), leaf(rng, channels)),
                                  {**running, "training": training}))
            samples.append(Sample(f"{shape} {mode}", (leaf(rng, *shape),), {**running, "training": training}))
    samples.append(Sample("no running stats", (leaf(rng, 5, 2),),
                          {"running_mean": None, "running_var": None, "training": True}))
    return samples


def _batch_norm_op(input, weight=None, bias=None, *, running_mean, running_var, training):
    return normalization.batch_norm(input, running_mean, running_var, weight, bias, training=training)


def _class_targets(rng: np.random.Generator) -> list[Sample]:
    targets_2d = Tensor(np.array([0, 3, 1]))
    targets_kd = Tensor(np.array([[[0, 2], [1, 1]], [[2, -100], [0, 1]]]))
    weight = _constant(rng.uniform(0.5, 2, 4))
    return [
        Sample("(3,4) mean", (leaf(rng, 3, 4), targets_2d)),
        Sample("(3,4) weight sum", (leaf(rng, 3, 4), targets_2d), {"weight": weight, "reduction": "sum"}),
        Sample("(3,4) ignore_index=3 none", (leaf(rng, 3, 4), targets_2d), {"ignore_index": 3, "reduction": "none"}),
        Sample("(2,3,2,2) K-dim ignored weight mean", (leaf(rng, 2, 3, 2, 2), targets_kd),
               {"weight": _constant(rng.uniform(0.5, 2, 3))}),
    ]


def _cross_entropy(rng: np.random.Generator) -> list[Sample]:
    probabilities = rng.uniform(0.1, 1, (3, 4))
    return _class_targets(rng) + [
        Sample("label_smoothing=0.2 weight", (leaf(rng, 3, 4), Tensor(np.array([0, 3, 1]))),
               {"weight": _constant(rng.uniform(0.5, 2, 4)), "label_smoothing": 0.2}),
        Sample("K-dim label_smoothing=0.1 none", (leaf(rng, 2, 3, 2), Tensor(np.array([[0, 2], [-100, 1]]))),
               {"label_smoothing": 0.1, "reduction": "none"}),
        Sample("unbatched (4,)", (leaf(rng, 4), Tensor(np.array(2)))),
        Sample("probabilities", (leaf(rng, 3, 4), Tensor(probabilities / probabilities.sum(1, keepdims=True),
                                                         requires_grad=True))),
        Sample("probabilities K-dim weight smoothing sum", (leaf(rng, 2, 3, 2), leaf(rng, 2, 3, 2, low=0, high=1)),
               {"weight": _constant(rng.uniform(0.5, 2, 3)), "label_smoothing": 0.3, "reduction": "sum"}),
    ]


def _nll_loss(rng: np.random.Generator) -> list[Sample]:
    return _class_targets(rng)


def _pair_loss(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("mean", (leaf(rng, 3, 4), leaf(rng, 3, 4))),
        Sample("sum", (leaf(rng, 2, 3), leaf(rng, 2, 3)), {"reduction": "sum"}),
        Sample("none", (leaf(rng, 5), leaf(rng, 5)), {"reduction": "none"}),
    ]


def _kinked_pair_loss(rng: np.random.Generator, kinks: tuple) -> list[Sample]:
    """Input = target + a difference kept away from the loss's kinks."""
    samples = []
    for reduction in ("mean", "sum", "none"):
        target = rng.uniform(-1, 1, (3, 4))
        difference = away_from(rng, 3, 4, kinks=kinks).data
        samples.append(Sample(reduction, (Tensor(target + difference, requires_grad=True),
                                          Tensor(target, requires_grad=True)), {"reduction": reduction}))
    return samples


def _binary_cross_entropy(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("mean", (leaf(rng, 3, 4, low=0.05, high=0.95), leaf(rng, 3, 4, low=0, high=1))),
        Sample("weight sum", (leaf(rng, 2, 3, low=0.05, high=0.95), leaf(rng, 2, 3, low=0, high=1)),
               {"weight": _constant(rng.uniform(0.5, 2, 3)), "reduction": "sum"}),
        Sample("none", (leaf(rng, 5, low=0.05, high=0.95), leaf(rng, 5, low=0, high=1)), {"reduction": "none"}),
    ]


def _bce_with_logits(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("mean", (leaf(rng, 3, 4, low=-4, high=4), leaf(rng, 3, 4, low=0, high=1))),
        Sample("pos_weight weight none", (leaf(rng, 2, 3), leaf(rng, 2, 3, low=0, high=1)),
               {"pos_weight": leaf(rng, 3, low=0.5, high=2), "weight": _constant(rng.uniform(0.5, 2, 3)),
                "reduction": "none"}),
    ]


def _layer_norm(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("last dim affine", (leaf(rng, 3, 4), leaf(rng, 4), leaf(rng, 4)), {"normalized_shape": 4}),
        Sample("last two dims", (leaf(rng, 2, 3, 4),), {"normalized_shape": (3, 4)}),
    ]


def _layer_norm_op(input, weight=None, bias=None, *, normalized_shape):
    return normalization.layer_norm(input, normalized_shape, weight, bias)


def _group_norm(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("2 groups affine", (leaf(rng, 2, 4, 3), leaf(rng, 4), leaf(rng, 4)), {"num_groups": 2}),
        Sample("1 group 4-d", (leaf(rng, 2, 3, 2, 2),), {"num_groups": 1}),
    ]


def _group_norm_op(input, weight=None, bias=None, *, num_groups):
    return normalization.group_norm(input, num_groups, weight, bias)


def _unary(rng: np.random.Generator, **bounds) -> list[Sample]:
    return [Sample("(3,4)", (leaf(rng, 3, 4, **bounds),)), Sample("(2,2,3)", (leaf(rng, 2, 2, 3, **bounds),))]


def _dropout(rng: np.random.Generator) -> list[Sample]:
    mask = (rng.random((3, 4)) >= 0.5) * 2.0
    channel_mask = (rng.random((2, 3, 1, 1)) >= 0.5) * 2.0
    return [Sample("p=0.5 fixed mask", (leaf(rng, 3, 4), mask)),
            Sample("dropout2d channel mask", (leaf(rng, 2, 3, 2, 2), channel_mask))]


def _linear(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("bias", (leaf(rng, 3, 4), leaf(rng, 2, 4), leaf(rng, 2))),
        Sample("batched no bias", (leaf(rng, 2, 3, 4), leaf(rng, 5, 4))),
    ]


def _pad(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("reflect 2-d", (leaf(rng, 1, 2, 4, 5),), {"pad": (2, 1, 3, 0), "mode": "reflect"}),
        Sample("replicate 1-d", (leaf(rng, 2, 2, 4),), {"pad": (3, 1), "mode": "replicate"}),
        Sample("circular 2-d", (leaf(rng, 2, 3, 4),), {"pad": (1, 2, 3, 1), "mode": "circular"}),
        Sample("constant", (leaf(rng, 2, 3, 4),), {"pad": (1, 2, 0, 1), "value": 0.5}),
    ]


def _interpolate(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("nearest up", (leaf(rng, 1, 2, 3, 4),), {"size": (5, 7)}),
        Sample("nearest scale_factor=0.6", (leaf(rng, 1, 2, 5, 4),), {"scale_factor": 0.6}),
        Sample("bilinear", (leaf(rng, 1, 2, 3, 4),), {"size": (5, 6), "mode": "bilinear"}),
        Sample("bilinear align_corners down", (leaf(rng, 2, 1, 5, 4),),
               {"size": (3, 3), "mode": "bilinear", "align_corners": True}),
        Sample("bilinear scale_factor=1.5", (leaf(rng, 1, 1, 4, 3),),
               {"scale_factor": 1.5, "mode": "bilinear", "align_corners": False}),
    ]


OPS = [
    OpInfo("batch_norm", _batch_norm_op, _batch_norm),
    OpInfo("layer_norm", _layer_norm_op, _layer_norm),
    OpInfo("group_norm", _group_norm_op, _group_norm),
    OpInfo("leaky_relu", activation.leaky_relu, lambda rng: _unary(rng, gap=0.1)),
    OpInfo("elu", lambda x: activation.elu(x, alpha=1.5), lambda rng: _unary(rng, gap=0.1)),
    OpInfo("gelu", activation.gelu, lambda rng: _unary(rng, low=-4, high=4)),
    OpInfo("gelu tanh", lambda x: activation.gelu(x, approximate="tanh"), lambda rng: _unary(rng, low=-4, high=4)),
    OpInfo("silu", activation.silu, _unary),
    OpInfo("hardtanh", activation.hardtanh,
           lambda rng: [Sample("[-1,1]", (away_from(rng, 3, 4, kinks=(-1.0, 1.0)),))]),
    OpInfo("dropout", activation.Dropout.apply, _dropout),
    OpInfo("cross_entropy", loss.cross_entropy, _cross_entropy),
    OpInfo("nll_loss", loss.nll_loss, _nll_loss),
    OpInfo("mse_loss", loss.mse_loss, _pair_loss),
    OpInfo("l1_loss", loss.l1_loss, lambda rng: _kinked_pair_loss(rng, (0.0,))),
    OpInfo("smooth_l1_loss", lambda a, b, **kw: loss.smooth_l1_loss(a, b, beta=0.5, **kw),
           lambda rng: _kinked_pair_loss(rng, (-0.5, 0.0, 0.5))),
    OpInfo("huber_loss", lambda a, b, **kw: loss.huber_loss(a, b, delta=0.5, **kw),
           lambda rng: _kinked_pair_loss(rng, (-0.5, 0.0, 0.5))),
    OpInfo("binary_cross_entropy", loss.binary_cross_entropy, _binary_cross_entropy),
    OpInfo("binary_cross_entropy_with_logits", loss.binary_cross_entropy_with_logits, _bce_with_logits),
    OpInfo("linear", linalg.linear, _linear),
    OpInfo("pad modes", padding.pad, _pad),
    OpInfo("interpolate", resize.interpolate, _interpolate),
]
