"""Samples for the core ops: elementwise math, reductions, matmul, shape and indexing ops."""

from __future__ import annotations

import numpy as np

import autograd
from ..device import get_array_module
from . import OpInfo, Sample, away_from, distinct, leaf


def _binary(rng: np.random.Generator, **bounds) -> list[Sample]:
    return [
        Sample("same shape", (leaf(rng, 2, 3, **bounds), leaf(rng, 2, 3, **bounds))),
        Sample("broadcast (2,3)x(3,)", (leaf(rng, 2, 3, **bounds), leaf(rng, 3, **bounds))),
        Sample("broadcast (4,1,3)x(2,1)", (leaf(rng, 4, 1, 3, **bounds), leaf(rng, 2, 1, **bounds))),
        Sample("0-d", (leaf(rng, **bounds), leaf(rng, **bounds))),
    ]


def _unary(rng: np.random.Generator, **bounds) -> list[Sample]:
    return [Sample("(3,4)", (leaf(rng, 3, 4, **bounds),)), Sample("0-d", (leaf(rng, **bounds),))]


def _reduction(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("all", (leaf(rng, 3, 4),)),
        Sample("dim=1", (leaf(rng, 3, 4),), {"dim": 1}),
        Sample("dim=(0,2) keepdim", (leaf(rng, 2, 3, 4),), {"dim": (0, 2), "keepdim": True}),
        Sample("dim=-1", (leaf(rng, 2, 3, 4),), {"dim": -1}),
    ]


def _ordered_reduction(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("all", (distinct(rng, 3, 4),)),
        Sample("dim=1", (distinct(rng, 3, 4),), {"dim": 1}),
        Sample("dim=0 keepdim", (distinct(rng, 3, 4),), {"dim": 0, "keepdim": True}),
    ]


def _softmax_like(rng: np.random.Generator) -> list[Sample]:
    return [Sample("dim=1", (leaf(rng, 3, 5),), {"dim": 1}), Sample("dim=0", (leaf(rng, 4, 2, 3),), {"dim": 0})]


def _matmul(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("(3,4)@(4,2)", (leaf(rng, 3, 4), leaf(rng, 4, 2))),
        Sample("(4,)@(4,)", (leaf(rng, 4), leaf(rng, 4))),
        Sample("(4,)@(4,2)", (leaf(rng, 4), leaf(rng, 4, 2))),
        Sample("(3,4)@(4,)", (leaf(rng, 3, 4), leaf(rng, 4))),
        Sample("(2,1,3,4)@(5,4,2)", (leaf(rng, 2, 1, 3, 4), leaf(rng, 5, 4, 2))),
    ]


def _indexing(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("int and slice", (leaf(rng, 4, 5),), {"key": (1, slice(1, 4))}),
        Sample("None and ...", (leaf(rng, 2, 3, 4),), {"key": (None, Ellipsis, slice(None, None, 2))}),
        Sample("repeated indices", (leaf(rng, 4, 3),), {"key": np.array([0, 2, 0, 0])}),
        Sample("bool mask", (leaf(rng, 3, 4),), {"key": np.array([[True, False, True, True]] * 3)}),
        Sample("index tensors", (leaf(rng, 4, 5),), {"key": (np.array([0, 3, 3]), np.array([1, 1, 4]))}),
    ]


def _shape_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample("(2,3,4)", (leaf(rng, 2, 3, 4),))]


OPS = [
    OpInfo("add", lambda a, b: a + b, _binary),
    OpInfo("sub", lambda a, b: a - b, _binary),
    OpInfo("mul", lambda a, b: a * b, _binary),
    OpInfo("div", lambda a, b: a / b, lambda rng: _binary(rng, low=0.5, high=2.0)),
    OpInfo("rsub scalar", lambda a: 2.0 - a, _unary),
    OpInfo("rdiv scalar", lambda a: 3.0 / a, lambda rng: _unary(rng, low=0.5, high=2.0)),
    OpInfo("neg", lambda a: -a, _unary),
    OpInfo("pow scalar", lambda a: a ** 3, _unary),
    OpInfo("pow tensor", autograd.pow, lambda rng: _binary(rng, low=0.5, high=2.0)),
    OpInfo("rpow scalar", lambda a: 2.0 ** a, _unary),
    # PyTorch's masks at base 0. Bases at 0 take integer exponents only (a finite difference steps to -h), and no
    # zero exponent where the exponent has a gradient too (0**-h is inf); that sample is not differentiated twice,
    # as the second difference would take log(-h).
    OpInfo("pow at base 0", autograd.pow, lambda rng: [Sample("constant exponents with zeros", (
        autograd.tensor([[0.0, 0.0, 1.3], [0.0, 0.0, -2.0]], dtype=np.float64, requires_grad=True),
        autograd.tensor([[0.0, 2.0, 0.0], [1.0, 3.0, 2.0]], dtype=np.float64)))]),
    OpInfo("pow at base 0 with exponent gradients", autograd.pow, lambda rng: [Sample("zero exponents off base 0", (
        autograd.tensor([[0.0, 0.0, 1.3], [0.7, 0.0, 2.0]], dtype=np.float64, requires_grad=True),
        autograd.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 2.5]], dtype=np.float64, requires_grad=True)))], gradgrad=False),
    OpInfo("pow exponent 0", lambda a: a ** 0, lambda rng: [Sample("bases at 0", (
        autograd.tensor([0.0, -1.5, 0.0, 2.0], dtype=np.float64, requires_grad=True),))]),
    OpInfo("exp", autograd.exp, _unary),
    OpInfo("log", autograd.log, lambda rng: _unary(rng, low=0.5, high=3.0)),
    OpInfo("log1p", autograd.log1p, lambda rng: _unary(rng, low=-0.5, high=3.0)),
    OpInfo("sqrt", autograd.sqrt, lambda rng: _unary(rng, low=0.5, high=3.0)),
    OpInfo("sin", autograd.sin, _unary),
    OpInfo("cos", autograd.cos, _unary),
    OpInfo("tanh", autograd.tanh, _unary),
    OpInfo("sigmoid", autograd.sigmoid, _unary),
    OpInfo("relu", autograd.relu, lambda rng: _unary(rng, gap=0.1)),
    OpInfo("abs", autograd.abs, lambda rng: _unary(rng, gap=0.1)),
    OpInfo("clamp", lambda a: a.clamp(-1.0, 1.0),
           lambda rng: [Sample("[-1,1]", (away_from(rng, 3, 4, kinks=(-1.0, 1.0)),))]),
    OpInfo("maximum", autograd.maximum, lambda rng: [Sample("broadcast", (distinct(rng, 3, 4), distinct(rng, 4)))]),
    OpInfo("minimum", autograd.minimum, lambda rng: [Sample("broadcast", (distinct(rng, 3, 4), distinct(rng, 4)))]),
    OpInfo("sum", autograd.sum, _reduction),
    OpInfo("mean", autograd.mean, _reduction),
    OpInfo("var", autograd.var, lambda rng: _reduction(rng) + [
        Sample("correction=0", (leaf(rng, 3, 4),), {"dim": 1, "correction": 0})]),
    OpInfo("std", autograd.std, _reduction),
    OpInfo("amax", autograd.amax, _ordered_reduction),
    OpInfo("amin", autograd.amin, _ordered_reduction),
    OpInfo("max", lambda a, **kw: autograd.max(a, **kw) if not kw else autograd.max(a, **kw).values,
           _ordered_reduction),
    OpInfo("min", lambda a, **kw: autograd.min(a, **kw) if not kw else autograd.min(a, **kw).values,
           _ordered_reduction),
    OpInfo("logsumexp", autograd.logsumexp, _softmax_like),
    OpInfo("softmax", autograd.softmax, _softmax_like),
    OpInfo("log_softmax", autograd.log_softmax, _softmax_like),
    OpInfo("matmul", autograd.matmul, _matmul),
    OpInfo("reshape", lambda a: a.reshape(4, -1), _shape_samples),
    OpInfo("permute", lambda a: a.permute(2, 0, 1), _shape_samples),
    OpInfo("transpose", lambda a: a.transpose(0, -1), _shape_samples),
    OpInfo("flatten", lambda a: a.flatten(1), _shape_samples),
    OpInfo("squeeze/unsqueeze", lambda a: a.unsqueeze(1).squeeze(), _shape_samples),
    OpInfo("expand", lambda a: a.expand(3, -1, -1), lambda rng: [Sample("(1,2,3)->(3,2,3)", (leaf(rng, 1, 2, 3),))]),
    OpInfo("repeat", lambda a: a.repeat(2, 1, 3), lambda rng: [Sample("(2,3)", (leaf(rng, 2, 3),))]),
    OpInfo("flip", lambda a: a.flip((0, 2)), _shape_samples),
    OpInfo("getitem", lambda a, key: a[key], _indexing),
    OpInfo("gather", lambda a: a.gather(1, get_array_module(a).asarray([[0, 2, 2], [1, 0, 1]])),  # on a's device
           lambda rng: [Sample("dim=1", (leaf(rng, 2, 3),))]),
    OpInfo("cat", lambda a, b: autograd.cat([a, b], dim=1),
           lambda rng: [Sample("dim=1", (leaf(rng, 2, 3), leaf(rng, 2, 1)))]),
    OpInfo("stack", lambda a, b: autograd.stack([a, b], dim=-1),
           lambda rng: [Sample("dim=-1", (leaf(rng, 2, 3), leaf(rng, 2, 3)))]),
    OpInfo("split", lambda a: autograd.split(a, [1, 3], dim=1)[1], lambda rng: [Sample("[1,3]", (leaf(rng, 2, 4),))]),
    OpInfo("chunk", lambda a: autograd.chunk(a, 3, dim=1)[2], lambda rng: [Sample("7 in 3: the last one smaller",
                                                                                   (leaf(rng, 2, 7),))]),
    OpInfo("where", lambda a, b: autograd.where(a.data > 0, a, b),
           lambda rng: [Sample("broadcast", (leaf(rng, 3, 4, gap=0.1), leaf(rng, 4)))]),
    OpInfo("pad", lambda a: autograd.pad(a, (1, 2, 0, 1), value=0.5), _shape_samples),
]

