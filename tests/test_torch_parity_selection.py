"""Values and gradients of the reductions, scans, sorting, selection, shape, indexing and product ops against
PyTorch, over a grid of shapes and dtypes. Inputs are distinct values (sorting and selection then agree on which
element is picked; PyTorch breaks ties in an unspecified way) unless a case says otherwise."""

import zlib

import numpy as np
import pytest

import autograd
import nn.functional as F

torch = pytest.importorskip("torch")
TF = pytest.importorskip("torch.nn.functional")

SHAPES = [(5,), (3, 4), (2, 3, 4)]
DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def distinct(rng, shape):
    count = int(np.prod(shape))
    return ((rng.permutation(count) - count / 2) * 0.25 + rng.uniform(0, 0.05, count)).reshape(shape)


def with_zeros(rng, shape):
    values = distinct(rng, shape)
    values.reshape(-1)[::3] = 0.0
    return values


def ints(*values):
    return np.array(values, dtype=np.int64)


def last(shape):
    return len(shape) - 1


# Each case: (name, inputs(rng, shape) -> list of arrays, gradlab op, torch op). Float arrays get gradients.
UNARY = [
    ("sort", lambda r, s: [distinct(r, s)], lambda x: autograd.sort(x, -1, True), lambda x: torch.sort(x, -1, True)),
    ("argsort", lambda r, s: [distinct(r, s)], lambda x: autograd.argsort(x, 0), lambda x: torch.argsort(x, 0)),
    ("topk", lambda r, s: [distinct(r, s)], lambda x: autograd.topk(x, 2, 0, largest=False),
     lambda x: torch.topk(x, 2, 0, largest=False)),
    ("kthvalue", lambda r, s: [distinct(r, s)], lambda x: autograd.kthvalue(x, 2, -1, True),
     lambda x: torch.kthvalue(x, 2, -1, True)),
    ("median", lambda r, s: [distinct(r, s)], lambda x: autograd.median(x), lambda x: torch.median(x)),
    ("median dim", lambda r, s: [distinct(r, s)], lambda x: autograd.median(x, 0), lambda x: torch.median(x, 0)),
    ("mode", lambda r, s: [r.integers(0, 3, s).astype(float)], lambda x: autograd.mode(x, -1),
     lambda x: torch.mode(x, -1)),
    ("cumsum", lambda r, s: [distinct(r, s)], lambda x: autograd.cumsum(x, -1), lambda x: torch.cumsum(x, -1)),
    ("cumprod", lambda r, s: [distinct(r, s)], lambda x: autograd.cumprod(x, 0), lambda x: torch.cumprod(x, 0)),
    ("cumprod zeros", lambda r, s: [with_zeros(r, s)], lambda x: autograd.cumprod(x, -1),
     lambda x: torch.cumprod(x, -1)),
    ("cummax", lambda r, s: [distinct(r, s)], lambda x: autograd.cummax(x, -1), lambda x: torch.cummax(x, -1)),
    ("cummin", lambda r, s: [distinct(r, s)], lambda x: autograd.cummin(x, 0), lambda x: torch.cummin(x, 0)),
    ("logcumsumexp", lambda r, s: [distinct(r, s)], lambda x: autograd.logcumsumexp(x, -1),
     lambda x: torch.logcumsumexp(x, -1)),
    ("prod", lambda r, s: [distinct(r, s)], lambda x: autograd.prod(x, -1), lambda x: torch.prod(x, -1)),
    ("prod zeros", lambda r, s: [with_zeros(r, s)], lambda x: autograd.prod(x), lambda x: torch.prod(x)),
    ("std_mean", lambda r, s: [distinct(r, s)], lambda x: autograd.std_mean(x, -1), lambda x: torch.std_mean(x, -1)),
    ("var_mean", lambda r, s: [distinct(r, s)], lambda x: autograd.var_mean(x, correction=0),
     lambda x: torch.var_mean(x, correction=0)),
    ("vector_norm", lambda r, s: [distinct(r, s)], lambda x: autograd.linalg.vector_norm(x, 3, -1),
     lambda x: torch.linalg.vector_norm(x, 3, -1)),
    ("vector_norm inf", lambda r, s: [distinct(r, s)], lambda x: autograd.linalg.vector_norm(x, float("inf")),
     lambda x: torch.linalg.vector_norm(x, float("inf"))),
    ("norm", lambda r, s: [distinct(r, s)], lambda x: x.norm(dim=0, keepdim=True),
     lambda x: x.norm(dim=0, keepdim=True)),
    ("aminmax", lambda r, s: [distinct(r, s)], lambda x: autograd.aminmax(x, dim=0), lambda x: torch.aminmax(x, dim=0)),
    ("count_nonzero", lambda r, s: [with_zeros(r, s)], lambda x: autograd.count_nonzero(x, -1),
     lambda x: torch.count_nonzero(x, -1)),
    ("any all", lambda r, s: [with_zeros(r, s)], lambda x: (x.any(-1), x.all(0)), lambda x: (x.any(-1), x.all(0))),
    ("sum axis", lambda r, s: [distinct(r, s)], lambda x: x.sum(axis=-1), lambda x: x.sum(axis=-1)),
    ("masked_fill", lambda r, s: [distinct(r, s), distinct(r, s) > 0], lambda x, m: autograd.masked_fill(x, m, 0.5),
     lambda x, m: torch.masked_fill(x, m, 0.5)),
    ("masked_select", lambda r, s: [distinct(r, s), distinct(r, s) > 0], autograd.masked_select, torch.masked_select),
    ("index_select", lambda r, s: [distinct(r, s), ints(0, s[-1] - 1, 0)],
     lambda x, i: autograd.index_select(x, -1, i), lambda x, i: torch.index_select(x, -1, i)),
    ("take_along_dim", lambda r, s: [distinct(r, s), np.argsort(distinct(r, s), -1)],
     lambda x, i: autograd.take_along_dim(x, i, -1), lambda x, i: torch.take_along_dim(x, i, -1)),
    ("repeat_interleave", lambda r, s: [distinct(r, s), r.integers(0, 3, s[0])],
     lambda x, i: autograd.repeat_interleave(x, i, 0), lambda x, i: torch.repeat_interleave(x, i, 0)),
    ("roll", lambda r, s: [distinct(r, s)], lambda x: autograd.roll(x, 2, 0), lambda x: torch.roll(x, 2, 0)),
    ("Tensor.unfold", lambda r, s: [distinct(r, s)], lambda x: x.unfold(-1, 2, 1), lambda x: x.unfold(-1, 2, 1)),
    ("flip", lambda r, s: [distinct(r, s)], lambda x: x.flip(0), lambda x: x.flip(0)),
    ("narrow", lambda r, s: [distinct(r, s)], lambda x: x.narrow(-1, 1, 2), lambda x: x.narrow(-1, 1, 2)),
    ("diag_embed", lambda r, s: [distinct(r, s)], lambda x: autograd.diag_embed(x, 1),
     lambda x: torch.diag_embed(x, 1)),
    ("pad crop", lambda r, s: [distinct(r, s)], lambda x: F.pad(x, (-1, 2)), lambda x: TF.pad(x, (-1, 2))),
]
MATRIX = [  # inputs with at least two dimensions
    ("tril", lambda r, s: [distinct(r, s)], lambda x: autograd.tril(x, -1), lambda x: torch.tril(x, -1)),
    ("triu", lambda r, s: [distinct(r, s)], lambda x: x.triu(1), lambda x: x.triu(1)),
    ("diagonal", lambda r, s: [distinct(r, s)], lambda x: autograd.diagonal(x, 1, -1, 0),
     lambda x: torch.diagonal(x, 1, -1, 0)),
    ("rot90", lambda r, s: [distinct(r, s)], lambda x: autograd.rot90(x, 3, (0, 1)),
     lambda x: torch.rot90(x, 3, (0, 1))),
    ("movedim", lambda r, s: [distinct(r, s)], lambda x: autograd.movedim(x, 0, -1), lambda x: torch.movedim(x, 0, -1)),
    ("gather smaller index", lambda r, s: [distinct(r, s), r.integers(0, s[1], (1, 2) + s[2:])],
     lambda x, i: autograd.gather(x, 1, i), lambda x, i: torch.gather(x, 1, i)),
    # src as large as the index: PyTorch's own backward fails for a larger src (our gradient pads it with zeros).
    ("scatter", lambda r, s: [distinct(r, s), np.argsort(distinct(r, s), 1)[:, :2], distinct(r, (s[0], 2) + s[2:])],
     lambda x, i, v: autograd.scatter(x, 1, i, v), lambda x, i, v: torch.scatter(x, 1, i, v)),
    ("scatter_add", lambda r, s: [distinct(r, s), r.integers(0, s[1], s), distinct(r, s)],
     lambda x, i, v: autograd.scatter_add(x, 1, i, v), lambda x, i, v: torch.scatter_add(x, 1, i, v)),
    *[(f"scatter_reduce {reduce} include_self={include}",
       lambda r, s: [distinct(r, s), r.integers(0, s[1], s), distinct(r, s)],
       lambda x, i, v, reduce=reduce, include=include: autograd.scatter_reduce(x, 1, i, v, reduce,
                                                                                include_self=include),
       lambda x, i, v, reduce=reduce, include=include: torch.scatter_reduce(x, 1, i, v, reduce, include_self=include))
      for reduce in ("sum", "prod", "mean", "amax", "amin") for include in (True, False)],
    ("index_add", lambda r, s: [distinct(r, s), ints(1, 1, 0), distinct(r, (s[0], 3) + s[2:])],
     lambda x, i, v: autograd.index_add(x, 1, i, v, alpha=2), lambda x, i, v: torch.index_add(x, 1, i, v, alpha=2)),
    ("index_copy", lambda r, s: [distinct(r, s), ints(2, 0), distinct(r, (s[0], 2) + s[2:])],
     lambda x, i, v: autograd.index_copy(x, 1, i, v), lambda x, i, v: torch.index_copy(x, 1, i, v)),
    ("getitem int, slice, list", lambda r, s: [distinct(r, s)], lambda x: x[0, ..., [1, 0]],
     lambda x: x[0, ..., [1, 0]]),
    ("einsum", lambda r, s: [distinct(r, s), distinct(r, s)], lambda a, b: autograd.einsum("i...,i...->...", a, b),
     lambda a, b: torch.einsum("i...,i...->...", a, b)),
    ("addmm", lambda r, s: [distinct(r, (s[-2], s[-2])), distinct(r, s[-2:]), distinct(r, s[-2:][::-1])],
     lambda c, a, b: autograd.addmm(c, a, b, beta=0.5, alpha=2), lambda c, a, b: torch.addmm(c, a, b, beta=0.5,
                                                                                              alpha=2)),
    ("outer", lambda r, s: [distinct(r, s[:1]), distinct(r, s[1:2])], autograd.outer, torch.outer),
]
BATCHED = [  # 3-d inputs
    ("bmm", lambda r, s: [distinct(r, s), distinct(r, (s[0], s[2], 2))], autograd.bmm, torch.bmm),
    ("baddbmm", lambda r, s: [distinct(r, (1, s[1], 2)), distinct(r, s), distinct(r, (s[0], s[2], 2))],
     lambda c, a, b: autograd.baddbmm(c, a, b, beta=2, alpha=0.5), lambda c, a, b: torch.baddbmm(c, a, b, beta=2,
                                                                                                  alpha=0.5)),
    ("F.unfold", lambda r, s: [distinct(r, (2,) + s)], lambda x: F.unfold(x, 2, padding=1, stride=(1, 2)),
     lambda x: TF.unfold(x, 2, padding=1, stride=(1, 2))),
    ("F.fold", lambda r, s: [distinct(r, (2, 4 * s[0], 3 * 2))],
     lambda x: F.fold(x, (3, 4), 2, stride=(1, 2), padding=(0, 1)),
     lambda x: TF.fold(x, (3, 4), 2, stride=(1, 2), padding=(0, 1))),
    ("einsum batched trace", lambda r, s: [distinct(r, (s[0], s[1], s[1]))], lambda x: autograd.einsum("bii->b", x),
     lambda x: torch.einsum("bii->b", x)),
]

CASES = ([(case, shape) for case in UNARY for shape in SHAPES]
         + [(case, shape) for case in MATRIX for shape in SHAPES[1:]]
         + [(case, SHAPES[2]) for case in BATCHED])


def _flat(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case, shape", CASES, ids=[f"{case[0]}-{shape}" for case, shape in CASES])
def test_values_and_gradients_match_torch(case, shape, dtype):
    name, make, ours, theirs = case
    rng = np.random.default_rng(zlib.crc32(f"{name}{shape}".encode()))
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in make(rng, shape)]
    mine = [autograd.Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    reference = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    outputs, expected = _flat(ours(*mine)), _flat(theirs(*reference))
    assert len(outputs) == len(expected)
    total_mine, total_reference = 0, 0
    for out, ref in zip(outputs, expected):
        assert out.shape == tuple(ref.shape), name
        assert out.dtype == np.dtype(str(ref.dtype).replace("torch.", "")), name
        np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOLERANCE[dtype], err_msg=name)
        if out.dtype.kind == "f" and ref.requires_grad:
            weights = rng.uniform(0.5, 1.5, out.shape).astype(dtype)
            total_mine = total_mine + (out * autograd.Tensor(weights)).sum()
            total_reference = total_reference + (ref * torch.tensor(weights)).sum()
    if isinstance(total_reference, int):
        return
    total_mine.backward()
    total_reference.backward()
    for leaf, ref in zip(mine, reference):
        if ref.requires_grad:
            expected_grad = ref.grad.numpy() if ref.grad is not None else np.zeros(ref.shape)
            np.testing.assert_allclose(leaf.grad.data, expected_grad, **TOLERANCE[dtype], err_msg=name)
