"""Samples for reductions and scans, sorting and selection, shape ops, indexing (scatter, index_*, masked_*),
batched products and einsum, and fold/unfold.

Ops that pick elements (sort, topk, kthvalue, median, cummax) get distinct values, so no finite difference
steps across a tie; index arguments are fixed arrays (plain arguments, not differentiated). ``mode`` is not here:
its value is one of several equal elements, and moving any of them changes which, so a finite difference measures
nothing (its gradient, to the element at its index, is compared with PyTorch's in the parity tests).
"""

from __future__ import annotations

import numpy as np

import autograd
import nn.functional as F
from . import OpInfo, Sample, distinct, leaf


def _ints(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


def _values(name: str, op):
    """An op returning ``(values, indices)``, checked through its values."""
    return lambda *args, **kwargs: op(*args, **kwargs)[0]


def _picking(rng: np.random.Generator) -> list[Sample]:
    return [Sample("dim=1", (distinct(rng, 3, 5),), {"dim": 1}), Sample("dim=0", (distinct(rng, 4, 2, 3),), {"dim": 0})]


def _with_zeros(rng: np.random.Generator, *shape: int) -> autograd.Tensor:
    values = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    values.reshape(-1)[::4] = 0.0
    return autograd.Tensor(values, requires_grad=True)


OPS = [
    # ------------------------------------------------------------------ reductions and scans
    OpInfo("prod", autograd.prod, lambda rng: [
        Sample("all", (leaf(rng, 2, 3, low=0.5, high=1.5),)),
        Sample("dim=1", (leaf(rng, 3, 4),), {"dim": 1}),
        Sample("dim=(0,2) keepdim", (leaf(rng, 2, 3, 2),), {"dim": (0, 2), "keepdim": True}),
        Sample("zeros", (_with_zeros(rng, 3, 4),), {"dim": 1}),
        Sample("two zeros in a row", (autograd.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], dtype=np.float64,
                                                      requires_grad=True),), {"dim": 1}),
    ]),
    OpInfo("cumsum", autograd.cumsum, lambda rng: [
        Sample("dim=1", (leaf(rng, 3, 4),), {"dim": 1}), Sample("dim=-3", (leaf(rng, 2, 3, 2),), {"dim": -3})]),
    OpInfo("cumprod", autograd.cumprod, lambda rng: [
        Sample("dim=1", (leaf(rng, 3, 4),), {"dim": 1}),
        Sample("zeros dim=1", (_with_zeros(rng, 3, 5),), {"dim": 1}),
        Sample("zeros dim=0", (_with_zeros(rng, 4, 2),), {"dim": 0}),
    ]),
    OpInfo("cummax", _values("cummax", autograd.cummax), _picking),
    OpInfo("cummin", _values("cummin", autograd.cummin), _picking),
    OpInfo("logcumsumexp", autograd.logcumsumexp, lambda rng: [
        Sample("dim=1", (leaf(rng, 3, 4),), {"dim": 1}),
        Sample("large dim=0", (leaf(rng, 4, 2, low=50, high=80),), {"dim": 0}),
    ]),
    OpInfo("std_mean", lambda a, **kw: autograd.std_mean(a, **kw)[0] + autograd.std_mean(a, **kw)[1],
           lambda rng: [Sample("dim=1", (leaf(rng, 3, 4),), {"dim": 1})]),
    OpInfo("var_mean", lambda a, **kw: autograd.var_mean(a, **kw)[0] * autograd.var_mean(a, **kw)[1],
           lambda rng: [Sample("correction=0", (leaf(rng, 3, 4),), {"dim": 0, "correction": 0})]),
    OpInfo("vector_norm", autograd.linalg.vector_norm, lambda rng: [
        Sample("ord=2", (leaf(rng, 3, 4, gap=0.1),)),
        Sample("ord=3 dim=1", (leaf(rng, 3, 4, gap=0.1),), {"ord": 3, "dim": 1}),
        Sample("ord=1.5 dim=(0,1) keepdim", (leaf(rng, 2, 3, 2, gap=0.1),),
               {"ord": 1.5, "dim": (0, 1), "keepdim": True}),
        Sample("ord=1", (leaf(rng, 3, 4, gap=0.1),), {"ord": 1, "dim": 0}),
        Sample("ord=inf", (distinct(rng, 3, 4),), {"ord": float("inf"), "dim": 1}),
        Sample("ord=-inf", (distinct(rng, 3, 4),), {"ord": -float("inf"), "dim": 1}),
    ]),
    OpInfo("norm", autograd.norm, lambda rng: [Sample("fro", (leaf(rng, 3, 4),)),
                                               Sample("p=4 dim=0", (leaf(rng, 3, 4, gap=0.1),), {"p": 4, "dim": 0})]),
    OpInfo("aminmax", lambda a, **kw: autograd.aminmax(a, **kw).min * autograd.aminmax(a, **kw).max,
           lambda rng: [Sample("all", (distinct(rng, 3, 4),)), Sample("dim=1", (distinct(rng, 3, 4),), {"dim": 1})]),
    # ------------------------------------------------------------------ sorting and selection
    OpInfo("sort", _values("sort", autograd.sort), lambda rng: _picking(rng) + [
        Sample("descending", (distinct(rng, 3, 5),), {"dim": 1, "descending": True})]),
    OpInfo("topk", _values("topk", autograd.topk), lambda rng: [
        Sample("k=2", (distinct(rng, 3, 5), 2)),
        Sample("k=3 smallest dim=0", (distinct(rng, 4, 3), 3), {"dim": 0, "largest": False})]),
    OpInfo("kthvalue", _values("kthvalue", autograd.kthvalue), lambda rng: [
        Sample("k=2", (distinct(rng, 3, 5), 2)), Sample("k=1 dim=0 keepdim", (distinct(rng, 4, 3), 1),
                                                       {"dim": 0, "keepdim": True})]),
    OpInfo("median", lambda a, **kw: autograd.median(a, **kw) if not kw else autograd.median(a, **kw).values,
           lambda rng: [Sample("all", (distinct(rng, 3, 4),)), Sample("dim=1", (distinct(rng, 3, 5),), {"dim": 1})]),
    OpInfo("masked_fill", autograd.masked_fill, lambda rng: [
        Sample("number", (leaf(rng, 3, 4), np.array([True, False, False, True]), 0.5)),
        Sample("0-d tensor value", (leaf(rng, 3, 4), np.array([[True], [False], [True]]), leaf(rng)))]),
    OpInfo("masked_select", autograd.masked_select, lambda rng: [
        Sample("broadcast mask", (leaf(rng, 3, 4), np.array([True, False, True, True]))),
        Sample("broadcast input", (leaf(rng, 4), np.array([[True, False, True, True], [False, True, True, False]])))]),
    OpInfo("masked_scatter", autograd.masked_scatter, lambda rng: [
        Sample("(3,4)", (leaf(rng, 3, 4), np.array([True, False, True, True]), leaf(rng, 10)))]),
    # ------------------------------------------------------------------ scatter, index_*, gather
    OpInfo("gather smaller index", autograd.gather, lambda rng: [
        Sample("dim=1", (leaf(rng, 3, 4), 1, _ints([0, 3], [2, 2]))),
        Sample("dim=0", (leaf(rng, 3, 4), 0, _ints([2, 0, 1]))),
    ]),
    OpInfo("take_along_dim", autograd.take_along_dim, lambda rng: [
        Sample("broadcast", (leaf(rng, 3, 1, 4), _ints([[0, 3], [1, 1]])), {"dim": 2}),
        Sample("flat", (leaf(rng, 3, 4), _ints(0, 5, 11, 5)))]),
    OpInfo("scatter", autograd.scatter, lambda rng: [
        Sample("src larger than index", (leaf(rng, 3, 4), 1, _ints([0, 3], [2, 1]), leaf(rng, 2, 3))),
        Sample("value", (leaf(rng, 3, 4), 0, _ints([0, 2, 1, 0])), {"value": 0.25})]),
    OpInfo("scatter_add", autograd.scatter_add, lambda rng: [
        Sample("repeats", (leaf(rng, 3, 4), 1, _ints([0, 0, 3], [2, 1, 2]), leaf(rng, 2, 3)))]),
    OpInfo("scatter_reduce", autograd.scatter_reduce, lambda rng: [
        Sample(f"{reduce} include_self={include}",
               (leaf(rng, 3, 4, low=0.5, high=2.0) if reduce == "prod" else distinct(rng, 3, 4), 1,
                _ints([0, 0, 3], [2, 1, 2]),
                leaf(rng, 2, 3, low=0.5, high=2.0) if reduce == "prod" else distinct(rng, 2, 3) * 3.0, reduce),
               {"include_self": include})
        for reduce in ("sum", "mean", "amax", "amin", "prod") for include in (True, False)]),
    OpInfo("index_select", autograd.index_select, lambda rng: [
        Sample("repeats dim=1", (leaf(rng, 3, 4), 1, _ints(3, 0, 3))),
        Sample("dim=0", (leaf(rng, 3, 2), 0, _ints(2)))]),
    OpInfo("index_add", autograd.index_add, lambda rng: [
        Sample("repeats alpha=2", (leaf(rng, 3, 4), 1, _ints(3, 0, 3), leaf(rng, 3, 3)), {"alpha": 2.0})]),
    OpInfo("index_copy", autograd.index_copy, lambda rng: [
        Sample("dim=0", (leaf(rng, 4, 2), 0, _ints(3, 0), leaf(rng, 2, 2))),
        Sample("repeats keep the last", (leaf(rng, 4, 2), 0, _ints(1, 1), leaf(rng, 2, 2)))]),
    OpInfo("repeat_interleave", autograd.repeat_interleave, lambda rng: [
        Sample("int flat", (leaf(rng, 2, 3), 2)),
        Sample("counts dim=1", (leaf(rng, 2, 3), _ints(1, 0, 3)), {"dim": 1})]),
    OpInfo("getitem int and list separated by a slice", lambda a, key: a[key], lambda rng: [
        Sample("x[0, :, [1, 2]]", (leaf(rng, 2, 3, 4), (0, slice(None), [1, 2, 1])))]),
    # ------------------------------------------------------------------ shape ops
    OpInfo("tril", autograd.tril, lambda rng: [Sample("diagonal=1", (leaf(rng, 2, 3, 4), 1))]),
    OpInfo("triu", autograd.triu, lambda rng: [Sample("diagonal=-1", (leaf(rng, 4, 3), -1))]),
    OpInfo("diag", autograd.diag, lambda rng: [Sample("1-d offset=1", (leaf(rng, 3), 1)),
                                               Sample("2-d offset=-1", (leaf(rng, 3, 4), -1))]),
    OpInfo("diagonal", autograd.diagonal, lambda rng: [Sample("offset=1 dims (2,0)", (leaf(rng, 3, 2, 4), 1, 2, 0))]),
    OpInfo("diag_embed", autograd.diag_embed,
           lambda rng: [Sample("offset=-1 dims (0,2)", (leaf(rng, 2, 3), -1, 0, 2))]),
    OpInfo("roll", autograd.roll, lambda rng: [Sample("two dims", (leaf(rng, 3, 4), (1, -3), (0, 1))),
                                               Sample("flat", (leaf(rng, 3, 4), 5))]),
    OpInfo("Tensor.unfold", lambda a: a.unfold(1, 3, 2), lambda rng: [Sample("size=3 step=2", (leaf(rng, 2, 7, 2),))]),
    OpInfo("meshgrid", lambda a, b: autograd.meshgrid(a, b, indexing="xy")[0] * autograd.meshgrid(a, b)[1].T,
           lambda rng: [Sample("xy and ij", (leaf(rng, 3), leaf(rng, 2)))]),
    OpInfo("narrow", autograd.narrow, lambda rng: [Sample("dim=1", (leaf(rng, 3, 5), 1, -4, 2))]),
    OpInfo("movedim", autograd.movedim, lambda rng: [Sample("two dims", (leaf(rng, 2, 3, 4), (0, 1), (2, 0)))]),
    OpInfo("unbind", lambda a: autograd.unbind(a, 1)[1], lambda rng: [Sample("dim=1", (leaf(rng, 2, 3),))]),
    # Every slice used, each weighted differently, so the stacked gradient must put each in its place.
    OpInfo("unbind all slices", lambda a: sum((i + 1) * part for i, part in enumerate(autograd.unbind(a))),
           lambda rng: [Sample("(4,2,3)", (leaf(rng, 4, 2, 3),)), Sample("one slice", (leaf(rng, 1, 3),))]),
    OpInfo("rot90", autograd.rot90, lambda rng: [Sample(f"k={k}", (leaf(rng, 2, 3, 4), k, (2, 0))) for k in (1, 2, 3)]),
    OpInfo("clone", autograd.clone, lambda rng: [Sample("(2,3)", (leaf(rng, 2, 3),))]),
    OpInfo("pad negative widths", lambda a, **kw: F.pad(a, **kw), lambda rng: [
        Sample("constant crop", (leaf(rng, 2, 5),), {"pad": (-1, 2, 1, -1)}),
        Sample("replicate wider than input", (leaf(rng, 1, 2, 3),), {"pad": (4, -1), "mode": "replicate"})]),
    # ------------------------------------------------------------------ products, einsum, fold/unfold
    OpInfo("bmm", autograd.bmm, lambda rng: [Sample("(2,3,4)@(2,4,2)", (leaf(rng, 2, 3, 4), leaf(rng, 2, 4, 2)))]),
    OpInfo("baddbmm", autograd.baddbmm, lambda rng: [
        Sample("beta alpha", (leaf(rng, 3, 1), leaf(rng, 2, 3, 4), leaf(rng, 2, 4, 2)), {"beta": 0.5, "alpha": 2.0})]),
    OpInfo("addmm", autograd.addmm, lambda rng: [
        Sample("broadcast input", (leaf(rng, 2), leaf(rng, 3, 4), leaf(rng, 4, 2))),
        Sample("beta=0", (leaf(rng, 3, 2), leaf(rng, 3, 4), leaf(rng, 4, 2)), {"beta": 0})]),
    OpInfo("outer", autograd.outer, lambda rng: [Sample("(3)x(2)", (leaf(rng, 3), leaf(rng, 2)))]),
    OpInfo("einsum", lambda *ops, equation: autograd.einsum(equation, *ops), lambda rng: [
        Sample("matmul", (leaf(rng, 2, 3), leaf(rng, 3, 4)), {"equation": "ij,jk->ik"}),
        Sample("trace", (leaf(rng, 3, 3),), {"equation": "ii"}),
        Sample("repeated and broadcast", (leaf(rng, 2, 2, 3), leaf(rng, 3)), {"equation": "iij,k->jk"}),
        Sample("ellipsis broadcast", (leaf(rng, 2, 1, 2, 3), leaf(rng, 4, 3, 2)), {"equation": "...ij,...jk->...ik"}),
        Sample("three operands", (leaf(rng, 2, 3), leaf(rng, 3), leaf(rng, 2)), {"equation": "ij,j,i->"})]),
    OpInfo("unfold", F.unfold, lambda rng: [
        Sample("3x2 stride 2 padding 1 dilation (1,2)", (leaf(rng, 2, 2, 5, 6), (3, 2)),
               {"stride": 2, "padding": 1, "dilation": (1, 2)}),
        Sample("unbatched", (leaf(rng, 2, 4, 4), 2))]),
    OpInfo("fold", F.fold, lambda rng: [
        Sample("overlapping windows", (leaf(rng, 2, 2 * 4, 20), (5, 6), 2)),
        Sample("stride 2 padding 1", (leaf(rng, 3 * 6, 9), (5, 6), (2, 3)), {"stride": 2, "padding": 1})]),
]
