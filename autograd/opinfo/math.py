"""Samples for the math ops of PyTorch's set: trig, hyperbolic, exponential, rounding and remainder ops, lerp and
clamp bounds, fmax/fmin, nan_to_num, and the activations beyond relu (relu6 ... normalize).

Domains are respected (asin in (-1, 1), acosh above 1, logs of positives); the rounding ops and remainders get
inputs away from the integers and multiples where they jump, and fmax/fmin distinct values (no ties).
"""

from __future__ import annotations

import numpy as np

from ..ops import activation, comparison, elementwise, exponential, rounding, trig
from ..tensor import Tensor
from . import OpInfo, Sample, away_from, distinct, leaf


def _unary(rng: np.random.Generator, **bounds) -> list[Sample]:
    return [Sample("(3,4)", (leaf(rng, 3, 4, **bounds),)), Sample("0-d", (leaf(rng, **bounds),))]


def _binary(rng: np.random.Generator, first: dict, second: dict) -> list[Sample]:
    return [
        Sample("same shape", (leaf(rng, 2, 3, **first), leaf(rng, 2, 3, **second))),
        Sample("broadcast (2,3)x(3,)", (leaf(rng, 2, 3, **first), leaf(rng, 3, **second))),
        Sample("broadcast (4,1)x(3,)", (leaf(rng, 4, 1, **first), leaf(rng, 3, **second))),
    ]


def _off_integers(rng: np.random.Generator, *shape: int, scale: float = 3.0) -> Tensor:
    """Values in (-scale, scale) at least 0.1 from every integer (where floor, round... jump)."""
    whole = rng.integers(-int(scale), int(scale), shape)
    return Tensor(whole + rng.uniform(0.1, 0.9, shape), requires_grad=True)


def _modulo(rng: np.random.Generator) -> list[Sample]:
    # a / b stays at least 0.1 from an integer, so the quotient (and the remainder's jump) does not move.
    divisor = Tensor(rng.choice([-1.0, 1.0], (2, 3)) * rng.uniform(0.5, 2.0, (2, 3)), requires_grad=True)
    quotient = _off_integers(rng, 2, 3).data
    column = Tensor(np.array([1.5, -0.75, 2.0]), requires_grad=True)
    return [
        Sample("same shape", (Tensor(quotient * divisor.data, requires_grad=True), divisor)),
        Sample("broadcast (2,3)x(3,)", (Tensor(_off_integers(rng, 2, 3).data * column.data, requires_grad=True),
                                        column)),
        Sample("scalar divisor", (Tensor(_off_integers(rng, 3, 4).data * 1.5, requires_grad=True),), {"other": 1.5}),
    ]


def _rounding(rng: np.random.Generator) -> list[Sample]:
    return [Sample("(3,4)", (_off_integers(rng, 3, 4),))]


def _lerp(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("scalar weight", (leaf(rng, 2, 3), leaf(rng, 2, 3)), {"weight": 0.3}),
        Sample("tensor weight broadcast", (leaf(rng, 2, 3), leaf(rng, 3), leaf(rng, 2, 1, low=0, high=1))),
    ]


def _nan_to_num_input(rng: np.random.Generator) -> list[Sample]:
    values = rng.uniform(-2, 2, (3, 4))
    values[0, 1], values[1, 2], values[2, 0] = np.nan, np.inf, -np.inf
    return [Sample("nan and infinities", (Tensor(values, requires_grad=True),), {"nan": 1.5, "posinf": 9.0})]


def _channels(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("per channel (2,3,4)", (leaf(rng, 2, 3, 4, gap=0.1), leaf(rng, 3, low=0.1, high=0.5))),
        Sample("one slope (5,)", (leaf(rng, 5, gap=0.1), leaf(rng, 1, low=0.1, high=0.5))),
    ]


def _normalize(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("p=2 dim=1", (leaf(rng, 3, 4),)),
        Sample("p=1 dim=-1", (leaf(rng, 2, 3, gap=0.1),), {"p": 1.0, "dim": -1}),
        Sample("p=3 dim=(0,2)", (leaf(rng, 2, 3, 2, gap=0.1),), {"p": 3.0, "dim": (0, 2)}),
        Sample("p=inf dim=0", (distinct(rng, 4, 3),), {"p": float("inf"), "dim": 0}),
    ]


def _softmin(rng: np.random.Generator) -> list[Sample]:
    return [Sample("dim=1", (leaf(rng, 3, 5),), {"dim": 1}), Sample("dim=0", (leaf(rng, 4, 2),), {"dim": 0})]


def _glu(rng: np.random.Generator) -> list[Sample]:
    return [Sample("dim=-1", (leaf(rng, 3, 4),)), Sample("dim=1", (leaf(rng, 2, 6, 2),), {"dim": 1})]


def _softplus(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample("default", (leaf(rng, 3, 4, low=-4, high=4),)),
        # beta * x crosses the threshold 2 at x = 1: values kept away from it.
        Sample("beta=2 threshold=2", (away_from(rng, 3, 4, kinks=(1.0,), margin=0.2),),
               {"beta": 2.0, "threshold": 2.0}),
    ]


def _maxmin(rng: np.random.Generator) -> list[Sample]:
    return [Sample("broadcast", (distinct(rng, 3, 4), distinct(rng, 4)))]


# The piecewise-constant ops (sign, rounding, rounded division) have a zero gradient that depends on nothing: there is
# no second derivative to check (gradgrad=False).
OPS = [
    OpInfo("tan", trig.tan, lambda rng: _unary(rng, low=-1.2, high=1.2)),
    OpInfo("asin", trig.asin, lambda rng: _unary(rng, low=-0.9, high=0.9)),
    OpInfo("acos", trig.acos, lambda rng: _unary(rng, low=-0.9, high=0.9)),
    OpInfo("atan", trig.atan, _unary),
    OpInfo("atan2", trig.atan2, lambda rng: _binary(rng, {}, {"low": 0.3, "high": 2.0})),
    OpInfo("sinh", trig.sinh, _unary),
    OpInfo("cosh", trig.cosh, _unary),
    OpInfo("asinh", trig.asinh, _unary),
    OpInfo("acosh", trig.acosh, lambda rng: _unary(rng, low=1.2, high=3.0)),
    OpInfo("atanh", trig.atanh, lambda rng: _unary(rng, low=-0.9, high=0.9)),
    OpInfo("exp2", exponential.exp2, _unary),
    OpInfo("expm1", exponential.expm1, _unary),
    OpInfo("log2", exponential.log2, lambda rng: _unary(rng, low=0.5, high=3.0)),
    OpInfo("log10", exponential.log10, lambda rng: _unary(rng, low=0.5, high=3.0)),
    OpInfo("rsqrt", exponential.rsqrt, lambda rng: _unary(rng, low=0.5, high=3.0)),
    OpInfo("erf", exponential.erf, _unary),
    OpInfo("erfc", exponential.erfc, _unary),
    OpInfo("logaddexp", exponential.logaddexp, lambda rng: _binary(rng, {}, {})),
    OpInfo("sign", rounding.sign, lambda rng: _unary(rng, gap=0.1), gradgrad=False),
    OpInfo("trunc", rounding.trunc, _rounding, gradgrad=False),
    OpInfo("floor", rounding.floor, _rounding, gradgrad=False),
    OpInfo("ceil", rounding.ceil, _rounding, gradgrad=False),
    OpInfo("round", rounding.round, _rounding, gradgrad=False),
    OpInfo("round decimals", lambda x: rounding.round(x, decimals=1),
           lambda rng: [Sample("decimals=1", (Tensor(_off_integers(rng, 3, 4).data / 10, requires_grad=True),))],
           gradgrad=False),
    OpInfo("frac", rounding.frac, _rounding),
    OpInfo("copysign", rounding.copysign, lambda rng: _binary(rng, {"gap": 0.1}, {"gap": 0.1})),
    OpInfo("fmod", rounding.fmod, _modulo),
    OpInfo("remainder", rounding.remainder, _modulo),
    OpInfo("div rounding_mode", lambda a, other: rounding.div(a, other, rounding_mode="trunc"), _modulo,
           gradgrad=False),
    OpInfo("floor_divide", rounding.floor_divide, _modulo, gradgrad=False),
    OpInfo("clamp_min", lambda x: elementwise.clamp_min(x, -0.5),
           lambda rng: [Sample("min=-0.5", (away_from(rng, 3, 4, kinks=(-0.5,)),))]),
    OpInfo("clamp_max", lambda x: elementwise.clamp_max(x, 0.5),
           lambda rng: [Sample("max=0.5", (away_from(rng, 3, 4, kinks=(0.5,)),))]),
    OpInfo("nan_to_num", elementwise.nan_to_num, _nan_to_num_input),
    OpInfo("lerp", elementwise.lerp, _lerp),
    OpInfo("fmax", comparison.fmax, _maxmin),
    OpInfo("fmin", comparison.fmin, _maxmin),
    OpInfo("relu6", activation.relu6, lambda rng: [Sample("kinks 0 and 6", (away_from(rng, 3, 4, kinks=(0.0, 6.0)),))]),
    OpInfo("hardsigmoid", activation.hardsigmoid,
           lambda rng: [Sample("kinks -3 and 3", (away_from(rng, 3, 4, kinks=(-3.0, 3.0)),))]),
    OpInfo("hardswish", activation.hardswish,
           lambda rng: [Sample("kinks -3 and 3", (away_from(rng, 3, 4, kinks=(-3.0, 3.0)),))]),
    OpInfo("mish", activation.mish, lambda rng: _unary(rng, low=-4, high=4)),
    OpInfo("celu", lambda x: activation.celu(x, alpha=0.5), lambda rng: _unary(rng, gap=0.1)),
    OpInfo("selu", activation.selu, lambda rng: _unary(rng, gap=0.1)),
    OpInfo("softsign", activation.softsign, lambda rng: _unary(rng, gap=0.1)),
    OpInfo("logsigmoid", activation.logsigmoid, lambda rng: _unary(rng, low=-6, high=6)),
    OpInfo("softplus", activation.softplus, _softplus),
    OpInfo("softmin", activation.softmin, _softmin),
    OpInfo("threshold", lambda x: activation.threshold(x, 0.5, -2.0),
           lambda rng: [Sample("threshold=0.5", (away_from(rng, 3, 4, kinks=(0.5,)),))]),
    OpInfo("prelu", activation.prelu, _channels),
    OpInfo("glu", activation.glu, _glu),
    OpInfo("normalize", activation.normalize, _normalize),
]
