"""The sample registry: every differentiable op with a table of sample inputs.

``gradlab gradcheck`` and the test suite both walk it, so registering an op here is what puts it
under finite-difference checks. Each family of ops has its own module listing ``OPS``.

Sample inputs are float64 leaves placed away from kinks (relu at 0, ties in max), since a finite
difference across a kink measures nothing useful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor


@dataclass(frozen=True)
class Sample:
    """One call of an op: ``op(*args, **kwargs)``, named for reports (``'stride=2 padding=1'``)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OpInfo:
    """An op and how to check it.

    Attributes:
        name: the public name, e.g. ``'conv2d'``.
        op: callable taking a sample's arguments.
        samples: makes fresh samples from a random generator (inputs are consumed by the checks).
        gradgrad: whether second derivatives are checked too.
        fast: use gradcheck's random-projection mode (for samples with many elements).
        atol, rtol: tolerances of the checks.
    """

    name: str
    op: Callable
    samples: Callable[[np.random.Generator], list[Sample]]
    gradgrad: bool = True
    fast: bool = False
    atol: float = 1e-5
    rtol: float = 1e-3


def leaf(rng: np.random.Generator, *shape: int, low: float = -2.0, high: float = 2.0,
         gap: float = 0.0) -> Tensor:
    """A float64 leaf requiring grad, uniform in [low, high], with no value closer than ``gap`` to 0."""
    values = rng.uniform(low, high, shape)
    if gap:
        values = np.where(np.abs(values) < gap, np.sign(values + 1e-12) * gap, values)
    return Tensor(values, requires_grad=True)


def away_from(rng: np.random.Generator, *shape: int, kinks: tuple[float, ...], margin: float = 0.1) -> Tensor:
    """A float64 leaf spread over and beyond ``kinks``, with no value closer than ``margin`` to any of them."""
    values = rng.uniform(min(kinks) - 1, max(kinks) + 1, shape)
    for kink in kinks:
        values = np.where(np.abs(values - kink) < margin, kink + margin * np.sign(values - kink + 1e-12), values)
    return Tensor(values, requires_grad=True)


def distinct(rng: np.random.Generator, *shape: int, spacing: float = 0.1) -> Tensor:
    """A float64 leaf whose values are all at least ``spacing`` apart (no ties for max/sort ops)."""
    count = int(np.prod(shape))
    values = (rng.permutation(count) - count / 2) * spacing + rng.uniform(0, spacing / 4, count)
    return Tensor(values.reshape(shape), requires_grad=True)


def all_opinfos() -> list[OpInfo]:
    """Every registered op, family by family."""
    from . import convolution, core, functional, layers, math, selection

    return [*core.OPS, *convolution.OPS, *functional.OPS, *math.OPS, *selection.OPS, *layers.OPS]


def sample_id(info: OpInfo, sample: Sample) -> str:
    """A readable id like ``'conv2d[stride=2]'`` for test names and report rows."""
    return f"{info.name}[{sample.name}]" if sample.name else info.name


def unwrap_samples(info: OpInfo, seed: int = 0) -> list[tuple[str, Sample]]:
    """The op's samples with their ids, generated from a fixed seed."""
    return [(sample_id(info, sample), sample) for sample in info.samples(np.random.default_rng(seed))]


def call(info: OpInfo, sample: Sample) -> Callable[..., Any]:
    """A function of the sample's positional args that applies the op with its keyword args."""
    return lambda *args: info.op(*args, **sample.kwargs)
