"""Values of the core ops against numpy and hand-computed cases; shapes via hypothesis; error messages.

Finite-difference checks of every op live in test_opinfo.py (the sample registry).
"""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd


def leaf(array, dtype=np.float64):
    return autograd.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("name, ours, reference", [
    ("exp", lambda t: t.exp(), np.exp),
    ("log", lambda t: t.abs().log(), lambda a: np.log(np.abs(a))),
    ("log1p", lambda t: t.abs().log1p(), lambda a: np.log1p(np.abs(a))),
    ("sqrt", lambda t: t.abs().sqrt(), lambda a: np.sqrt(np.abs(a))),
    ("sin", lambda t: t.sin(), np.sin),
    ("cos", lambda t: t.cos(), np.cos),
    ("tanh", lambda t: t.tanh(), np.tanh),
    ("sigmoid", lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    ("relu", lambda t: t.relu(), lambda a: np.maximum(a, 0)),
    ("clamp", lambda t: t.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    ("neg", lambda t: -t, np.negative),
    ("rsub", lambda t: 2 - t, lambda a: 2 - a),
    ("rdiv", lambda t: 3 / (t.abs() + 1), lambda a: 3 / (np.abs(a) + 1)),
    ("pow", lambda t: t ** 2, np.square),
    ("rpow", lambda t: 2 ** t, lambda a: 2.0 ** a),
])
def test_unary_values_match_numpy(name, ours, reference):
    array = np.random.default_rng(1).uniform(-2, 2, (3, 4)).astype(np.float32)
    result = ours(autograd.tensor(array))
    assert result.dtype == np.float32, name
    np.testing.assert_allclose(result.data, reference(array), rtol=1e-6, atol=1e-6)


broadcastable = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcastable, op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]))
def test_broadcasting_binary_ops_sum_gradients_back_to_each_shape(shapes, op):
    rng = np.random.default_rng(0)
    a_shape, b_shape = shapes.input_shapes
    a = leaf(rng.uniform(0.5, 2, a_shape))
    b = leaf(rng.uniform(0.5, 2, b_shape) + 3 * (op == "maximum"))  # b wins every maximum: no ties
    functions = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "maximum": np.maximum}
    result = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b, "maximum": autograd.maximum(a, b)}[op]
    np.testing.assert_allclose(result.data, functions[op](a.data, b.data))
    result.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    # d(sum a+b)/db counts how many times each element of b was broadcast
    if op == "add":
        copies = np.prod(shapes.result_shape) / max(np.prod(b_shape), 1)
        np.testing.assert_allclose(b.grad.data, np.full(b_shape, copies))


def test_mismatched_broadcast_names_both_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        autograd.ones(2, 3) + autograd.ones(4)
    with pytest.raises(ValueError, match=r"mul: shapes \(3,\) and \(2,\)"):
        autograd.ones(3) * autograd.ones(2)


def test_maximum_ties_share_the_gradient():
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    autograd.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0] and b.grad.tolist() == [0.5, 1.0]


def test_relu_and_abs_gradient_at_zero_is_zero_like_pytorch():
    x = leaf([-1.0, 0.0, 2.0])
    (x.relu() + x.abs()).sum().backward()
    assert x.grad.tolist() == [-1.0, 0.0, 2.0]


def test_sigmoid_and_pow_stay_finite_at_extremes():
    x = autograd.tensor([-1000.0, 0.0, 1000.0])
    assert x.sigmoid().tolist() == [0.0, 0.5, 1.0]
    base = leaf([0.0, 2.0])
    (base ** leaf([2.0, 3.0])).sum().backward()
    assert np.isfinite(base.grad.data).all()


# ----------------------------------------------------------------------------- reductions
def test_sum_mean_over_dims():
    array = np.arange(24.0).reshape(2, 3, 4)
    t = autograd.tensor(array)
    np.testing.assert_allclose(t.sum().data, array.sum())
    np.testing.assert_allclose(t.sum((0, 2)).data, array.sum((0, 2)))
    np.testing.assert_allclose(t.mean(-1, keepdim=True).data, array.mean(-1, keepdims=True))
    with pytest.raises(ValueError, match="dimension 3 is out of range"):
        t.sum(3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_large_arrays_over_any_dims_matches_numpy(dtype):
    # Big enough for the reordered reductions (leading axes first, einsum over short trailing rows).
    array = np.random.default_rng(0).normal(1.0, 1.0, (16, 8, 16, 16)).astype(dtype)
    t = autograd.tensor(array)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for count in range(1, 5):
        for dims in itertools.combinations(range(4), count):
            for keepdim in (False, True):
                ours, expected = t.sum(dims, keepdim).data, array.sum(axis=dims, keepdims=keepdim)
                assert ours.shape == expected.shape and ours.dtype == expected.dtype == dtype
                np.testing.assert_allclose(ours, array.astype(np.float64).sum(axis=dims, keepdims=keepdim),
                                           rtol=tolerance)
    transposed = autograd.tensor(array.transpose(1, 0, 3, 2))
    np.testing.assert_allclose(transposed.mean((0, 2, 3)).data, array.mean(axis=(1, 2, 3)), rtol=tolerance)


@pytest.mark.parametrize("shape, dims", [((1000, 10, 100), (0, 2)), ((64, 16, 32, 32), (0, 2, 3)),
                                         ((15625, 64), 1), ((256, 64, 8, 8), (2, 3))])
def test_float32_sums_of_a_million_elements_are_as_accurate_as_numpy(shape, dims):
    array = np.random.default_rng(1).uniform(0.5, 1.5, shape).astype(np.float32)
    exact = array.astype(np.float64).sum(axis=dims)
    ours_error = np.abs(autograd.tensor(array).sum(dims).data - exact).max()
    numpy_error = np.abs(array.sum(axis=dims) - exact).max()
    assert ours_error <= 1.5 * numpy_error


def test_var_std_follow_pytorch_correction():
    array = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    t = autograd.tensor(array)
    np.testing.assert_allclose(t.var().data, array.var(ddof=1))
    np.testing.assert_allclose(t.var(1, unbiased=False).data, array.var(1))
    np.testing.assert_allclose(t.std(0, correction=0, keepdim=True).data, array.std(0, keepdims=True))
    np.testing.assert_allclose(autograd.std(t, 1).data, array.std(1, ddof=1))
    with np.errstate(invalid="ignore"):
        assert np.isnan(autograd.tensor([2.0]).var().item())  # one element, Bessel's correction


def test_max_min_with_and_without_dim():
    t = autograd.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]], requires_grad=True)
    values, indices = t.max(1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert t.min().item() == 1.0 and t.argmin().item() == 0 and t.argmax(1).tolist() == [1, 0]
    values.sum().backward()
    assert t.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # to the first maximum
    t.grad = None
    t.amax(1).sum().backward()
    assert t.grad.tolist() == [[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]  # ties share equally
    assert autograd.amin(t, 0).tolist() == [1.0, 2.0, 3.0]


def test_logsumexp_softmax_log_softmax_are_finite_for_huge_logits():
    logits = autograd.tensor([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]], requires_grad=True)
    lse = logits.logsumexp(1)
    np.testing.assert_allclose(lse.data, [1e4, 3 + np.log(np.exp(-2) + np.exp(-1) + 1)], rtol=1e-6)
    probabilities = logits.softmax(1)
    np.testing.assert_allclose(probabilities.data.sum(1), [1.0, 1.0], rtol=1e-6)
    log_probabilities = logits.log_softmax(1)
    assert np.isfinite(log_probabilities.data).all()
    assert log_probabilities.data[0, 2] == pytest.approx(-2e4)
    log_probabilities[:, 0].sum().backward()
    assert np.isfinite(logits.grad.data).all()


# ----------------------------------------------------------------------------- matmul
@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                             ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2))])
def test_matmul_matches_numpy_and_gradients_have_input_shapes(a_shape, b_shape):
    rng = np.random.default_rng(0)
    a, b = leaf(rng.normal(size=a_shape)), leaf(rng.normal(size=b_shape))
    result = a @ b
    np.testing.assert_allclose(result.data, np.matmul(a.data, b.data))
    result.sum().backward()
    assert a.grad.shape == a_shape and b.grad.shape == b_shape


def test_matmul_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        autograd.ones(2, 3) @ autograd.ones(4, 5)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        autograd.matmul(autograd.tensor(1.0), autograd.ones(2))


# ----------------------------------------------------------------------------- shape ops and indexing
def test_shape_ops_values():
    t = autograd.arange(24).reshape(2, 3, 4)
    array = np.arange(24).reshape(2, 3, 4)
    assert t.view(6, -1).shape == (6, 4)
    np.testing.assert_array_equal(t.permute(2, 0, 1).data, array.transpose(2, 0, 1))
    np.testing.assert_array_equal(t.transpose(0, 2).data, array.swapaxes(0, 2))
    assert t.flatten().shape == (24,) and t.flatten(1).shape == (2, 12)
    assert t.unsqueeze(-1).shape == (2, 3, 4, 1) and t.unsqueeze(0).squeeze(0).shape == (2, 3, 4)
    np.testing.assert_array_equal(t[:, :1].expand(2, 5, 4).data, np.broadcast_to(array[:, :1], (2, 5, 4)))
    np.testing.assert_array_equal(t.repeat(2, 1, 1).data, np.tile(array, (2, 1, 1)))
    np.testing.assert_array_equal(t.flip(1).data, array[:, ::-1])
    assert [p.shape for p in t.split(2, dim=2)] == [(2, 3, 2), (2, 3, 2)]
    assert [p.shape for p in t.chunk(2, dim=1)] == [(2, 2, 4), (2, 1, 4)]
    assert autograd.stack([t, t], dim=1).shape == (2, 2, 3, 4)
    assert autograd.cat([t, t], dim=-1).shape == (2, 3, 8)
    with pytest.raises(ValueError, match="cannot reshape a tensor of shape"):
        t.reshape(5, 5)
    with pytest.raises(ValueError, match="cat: tensors of shapes"):
        autograd.cat([t, autograd.ones(2, 2, 4)], dim=2)


def test_repeat_gradient_sums_over_copies():
    x = leaf([1.0, 2.0])
    x.repeat(3, 2).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_indexing_accumulates_over_repeated_indices():
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_indexing_with_masks_tensors_none_and_ellipsis():
    array = np.arange(12.0).reshape(3, 4)
    t = autograd.tensor(array)
    np.testing.assert_array_equal(t[t > 5].data, array[array > 5])
    np.testing.assert_array_equal(t[autograd.tensor([2, 0])].data, array[[2, 0]])
    np.testing.assert_array_equal(t[None, ..., 1].data, array[None, ..., 1])
    np.testing.assert_array_equal(t[1:, ::2].data, array[1:, ::2])
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        t[5]


def test_where_and_pad_and_gather():
    x = leaf([[-1.0, 2.0], [3.0, -4.0]])
    y = autograd.where(x > 0, x, 0.0)
    assert y.tolist() == [[0.0, 2.0], [3.0, 0.0]]
    padded = autograd.pad(x, (1, 0, 0, 1), value=9.0)
    assert padded.shape == (3, 3) and padded.tolist()[2] == [9.0, 9.0, 9.0]
    picked = x.gather(1, autograd.tensor([[1], [1]]))
    assert picked.tolist() == [[2.0], [-4.0]]
    (y.sum() + padded.sum() + picked.sum()).backward()
    assert x.grad.tolist() == [[1.0, 3.0], [2.0, 2.0]]


def test_cast_gradient_returns_to_input_dtype():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 2
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0]


# ----------------------------------------------------------------------------- limits, empty dims, masks
@pytest.mark.parametrize("values, dtype", [([0, 5, 200], np.uint8), ([np.iinfo(np.int64).min, 0, 7], np.int64),
                                           ([True, False, True], np.bool_), ([-128, 127, 0], np.int8)])
def test_min_and_amin_of_integers_and_bools_are_taken_directly(values, dtype):
    array = np.array(values, dtype)
    t = autograd.tensor(array)
    assert t.min().item() == array.min() and t.min().dtype == dtype
    assert autograd.amin(t, 0).item() == array.min()
    grid = autograd.tensor(np.stack([array, array[::-1]]))
    assert grid.amin(1).tolist() == [array.min()] * 2
    assert grid.min(1).values.tolist() == [array.min()] * 2


def test_amin_ties_share_the_gradient():
    t = autograd.tensor([[3.0, 1.0, 1.0], [2.0, 5.0, 4.0]], requires_grad=True)
    (t.amin(1) * autograd.tensor([1.0, 2.0])).sum().backward()
    assert t.grad.tolist() == [[0.0, 0.5, 0.5], [2.0, 0.0, 0.0]]
    t.grad = None
    t.min().backward()
    assert t.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]


def test_mean_var_std_of_empty_dims_are_nan_without_a_warning():
    empty = autograd.tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for result in (empty.mean(0), empty.var(0), empty.std(0), empty.var(0, correction=0)):
            assert result.shape == (3,) and np.isnan(result.data).all()
        assert np.isnan(empty.mean().item())
        empty.mean(0).sum().backward()
    assert empty.grad.shape == (0, 3)


def test_var_with_a_correction_above_the_count_is_inf_or_nan_as_in_pytorch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert autograd.tensor([1.0, 2.0]).var(correction=5).item() == np.inf  # 0.5 / max(0, 2 - 5)
        assert np.isnan(autograd.tensor([3.0, 3.0]).var(correction=2).item())  # 0 / 0
        assert np.isnan(autograd.tensor([2.0]).var().item())


def test_integers_to_negative_integer_powers_are_refused():
    for call in (lambda: autograd.tensor([2, 3]) ** -1, lambda: 2 ** autograd.tensor([1, -2]),
                 lambda: autograd.pow(autograd.tensor([2]), autograd.tensor([-1])),
                 lambda: autograd.tensor([True]) ** -1):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
            call()
    assert (autograd.tensor([2, 3]) ** 2).tolist() == [4, 9]
    assert (autograd.tensor([2.0, 4.0]) ** -1).tolist() == [0.5, 0.25]
    assert (autograd.tensor([2, 4]) ** -1.0).tolist() == [0.5, 0.25]


def test_pow_gradients_at_base_zero_follow_pytorch_masks():
    base = leaf([0.0, 0.0, 0.0, 2.0, 0.0])
    exponent = leaf([0.0, 2.0, 0.5, 0.0, -1.0])
    with np.errstate(divide="ignore"):  # 0**-1 and log 0, the infinities PyTorch gives too
        (base ** exponent).sum().backward()
    # d/d base: 0 where the exponent is 0; e * b**(e - 1) elsewhere (0 * 0 = 0, 0.5 * 0**-0.5 = inf, -1 * 0**-2).
    assert base.grad.tolist() == [0.0, 0.0, np.inf, 0.0, -np.inf]
    # d/d exponent: 0 at base 0 with e >= 0; y * log(b) elsewhere (2**0 * log 2; inf * -inf at 0**-1).
    np.testing.assert_allclose(exponent.grad.data, [0.0, 0.0, 0.0, np.log(2.0), -np.inf])
    scalar_base = leaf([0.0, 3.0])
    (scalar_base ** 0).sum().backward()
    assert scalar_base.grad.tolist() == [0.0, 0.0]


def test_pow_second_derivatives_at_base_zero_are_finite():
    base = leaf([0.0, 0.0, 1.5])
    exponent = leaf([0.0, 3.0, 0.0])
    (grad_base,) = autograd.grad((base ** exponent).sum(), [base], create_graph=True)
    assert grad_base.tolist() == [0.0, 0.0, 0.0]
    second_base, second_exponent = autograd.grad(grad_base.sum(), [base, exponent])
    # d/db of e * b**(e - 1): e (e - 1) b**(e - 2) = 0 at b = 0, e = 3; masked (0) where e = 0.
    assert second_base.tolist() == [0.0, 0.0, 0.0]
    assert np.isfinite(second_exponent.data).all()
    for power in (0, 2):
        x = leaf([0.0, 2.0])
        (first,) = autograd.grad((x ** power).sum(), [x], create_graph=True)
        (second,) = autograd.grad(first.sum(), [x])
        assert second.tolist() == ([0.0, 0.0] if power == 0 else [2.0, 2.0])


def test_logsumexp_of_minus_infinity_empty_dims_and_integers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = autograd.zeros(0, 3)
        assert empty.logsumexp(0).tolist() == [-np.inf] * 3
        assert empty.softmax(0).shape == (0, 3) and empty.log_softmax(0).shape == (0, 3)
        assert autograd.tensor([[-np.inf, -np.inf], [0.0, 0.0]]).logsumexp(1).tolist() == [-np.inf,
                                                                                           pytest.approx(np.log(2.0))]
    result = autograd.tensor([1, 2]).logsumexp(0)
    assert result.dtype == np.float32 and result.item() == pytest.approx(2 + np.log1p(np.exp(-1)))
