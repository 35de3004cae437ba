"""Reductions and scans, sorting and selection, scatter/index/masked ops: hand-computed and numpy values, ties,
edge cases and errors. Gradients are finite-difference checked through the op registry (autograd/opinfo/
selection.py); here only the gradient rules a finite difference cannot see (ties, zeros) are checked by hand."""

import numpy as np
import pytest

import autograd
from autograd import OpError, Tensor


def t(values, requires_grad=False):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def grad_of(op, x):
    x = t(x, requires_grad=True)
    op(x).sum().backward()
    return x.grad.data


# ----------------------------------------------------------------------------- scans and products
def test_cumsum_values_dtypes_and_reversed_gradient():
    x = t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert autograd.cumsum(x, 1).tolist() == [[1, 3, 6], [4, 9, 15]]
    assert autograd.cumsum(x, 0).tolist() == [[1, 2, 3], [5, 7, 9]]
    assert autograd.cumsum(autograd.tensor([True, True, False]), 0).dtype == np.int64
    assert autograd.cumsum(autograd.tensor([1, 2], dtype=np.int32), 0).dtype == np.int64
    assert autograd.cumsum(x, 1, dtype=np.float32).dtype == np.float32
    # d/dx_k sum_j y_j = number of outputs that include x_k: n - k.
    np.testing.assert_array_equal(grad_of(lambda a: a.cumsum(-1), [[1.0, 2.0, 3.0]]), [[3, 2, 1]])


def test_cumsum_float16_accumulates_in_float32():
    ones = autograd.ones(4096, dtype=np.float16)
    assert autograd.cumsum(ones, 0)[-1].item() == 4096


def test_cumprod_gradient_with_zeros_is_exact():
    x = [2.0, 0.0, 3.0, 0.5]
    # y = [2, 0, 0, 0]; d(sum y)/dx_k = sum over j >= k of prod_{i <= j, i != k} x_i.
    expected = [1.0, 2 + 2 * 3 + 2 * 3 * 0.5, 0.0, 0.0]
    np.testing.assert_allclose(grad_of(lambda a: a.cumprod(0), x), expected)
    np.testing.assert_allclose(grad_of(lambda a: a.cumprod(0), [0.0, 0.0, 2.0]), [1.0, 0.0, 0.0])


def test_prod_values_dtypes_and_gradient_with_zeros():
    x = t([[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]])
    assert autograd.prod(x).item() == 0
    assert autograd.prod(x, 1).tolist() == [6, 0]
    assert autograd.prod(x, 1, keepdim=True).shape == (2, 1)
    assert autograd.prod(autograd.tensor([[2, 3]], dtype=np.uint8)).dtype == np.int64
    np.testing.assert_allclose(grad_of(lambda a: a.prod(1), x.data), [[6, 3, 2], [20, 0, 0]])
    np.testing.assert_allclose(grad_of(lambda a: a.prod(1), [[0.0, 2.0, 0.0]]), [[0, 0, 0]])


def test_cummax_cummin_take_the_latest_tie_and_propagate_nan():
    values, indices = autograd.cummax(t([1.0, 3.0, 3.0, 2.0, 3.0, 4.0]), 0)
    assert values.tolist() == [1, 3, 3, 3, 3, 4]
    assert indices.tolist() == [0, 1, 2, 2, 4, 5]
    values, indices = autograd.cummin(t([1.0, 0.0, 0.0, 2.0, 0.0, 4.0]), 0)
    assert indices.tolist() == [0, 1, 2, 2, 4, 4]
    values, indices = autograd.cummax(t([1.0, np.nan, 5.0]), 0)
    assert np.isnan(values.data[1:]).all() and indices.tolist() == [0, 1, 1]
    # The gradient of each running max goes to the element at its index.
    np.testing.assert_array_equal(grad_of(lambda a: a.cummax(0).values, [1.0, 3.0, 2.0]), [1, 2, 0])


def test_logcumsumexp_matches_numpy_and_does_not_overflow():
    x = np.random.default_rng(0).normal(size=(3, 5)) * 3
    np.testing.assert_allclose(autograd.logcumsumexp(t(x), 1).data, np.log(np.cumsum(np.exp(x), 1)))
    big = t([1000.0, 1000.0])
    np.testing.assert_allclose(autograd.logcumsumexp(big, 0).data, [1000.0, 1000.0 + np.log(2)])
    np.testing.assert_allclose(grad_of(lambda a: autograd.logcumsumexp(a, 0), [1000.0, 1000.0]), [1.5, 0.5])
    with pytest.raises(OpError, match="logcumsumexp: expected a floating point input"):
        autograd.logcumsumexp(autograd.tensor([1, 2]), 0)


# ----------------------------------------------------------------------------- statistics and norms
def test_std_mean_var_mean_and_numpy_axis_alias():
    x = np.random.default_rng(1).normal(size=(3, 4))
    std, mean = autograd.std_mean(t(x), 1)
    np.testing.assert_allclose(std.data, x.std(1, ddof=1))
    np.testing.assert_allclose(mean.data, x.mean(1))
    var, _ = autograd.var_mean(t(x), (0, 1), correction=0)
    np.testing.assert_allclose(var.data, x.var())
    np.testing.assert_allclose(t(x).sum(axis=1).data, x.sum(1))
    np.testing.assert_allclose(t(x).mean(axis=(0, 1)).data, x.mean())
    with pytest.raises(OpError, match="sum: got both dim=0 and its alias axis=1"):
        autograd.sum(t(x), 0, axis=1)


def test_sum_dtype_and_integer_promotion():
    assert autograd.sum(autograd.tensor([1, 2], dtype=np.uint8)).dtype == np.int64
    assert autograd.tensor([True, True]).sum().item() == 2
    assert autograd.sum(t([1.5, 2.0]), dtype=np.float32).dtype == np.float32


def test_vector_norm_orders_and_zero_vector_gradient():
    x = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    vn = autograd.linalg.vector_norm
    np.testing.assert_allclose(vn(t(x), dim=1).data, [5, 3])
    np.testing.assert_allclose(vn(t(x), 1, dim=1).data, [7, 5])
    np.testing.assert_allclose(vn(t(x), np.inf, dim=1).data, [4, 2])
    np.testing.assert_allclose(vn(t(x), -np.inf, dim=1).data, [0, 1])
    np.testing.assert_allclose(vn(t(x), 0, dim=1).data, [2, 3])
    np.testing.assert_allclose(vn(t(x), 3).data, np.sum(np.abs(x) ** 3) ** (1 / 3))
    assert autograd.norm(t(x)).item() == pytest.approx(np.sqrt((x ** 2).sum()))
    np.testing.assert_array_equal(grad_of(lambda a: vn(a, dim=1), [[0.0, 0.0], [3.0, 4.0]]), [[0, 0], [0.6, 0.8]])
    with pytest.raises(OpError, match="norm: p='nuc' is not supported"):
        autograd.norm(t(x), "nuc")


def test_any_all_count_nonzero_aminmax_over_dims():
    x = t([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    assert x.any(1).tolist() == [True, True] and x.all(0).tolist() == [False, False, True]
    assert autograd.any(x, (0, 1), keepdim=True).shape == (1, 1)
    assert x.all().item() is False
    assert autograd.count_nonzero(x).item() == 3 and autograd.count_nonzero(x, 0).tolist() == [0, 1, 2]
    low, high = autograd.aminmax(x, dim=1)
    assert low.tolist() == [0, 0] and high.tolist() == [2, 3]
    assert autograd.aminmax(x).max.item() == 3


# ----------------------------------------------------------------------------- sorting and selection
def test_sort_is_stable_in_both_directions_and_puts_nan_last():
    x = t([3.0, 1.0, 3.0, 2.0, 3.0])
    values, indices = autograd.sort(x)
    assert values.tolist() == [1, 2, 3, 3, 3] and indices.tolist() == [1, 3, 0, 2, 4]
    values, indices = x.sort(descending=True)
    assert values.tolist() == [3, 3, 3, 2, 1] and indices.tolist() == [0, 2, 4, 3, 1]
    assert autograd.argsort(t([2.0, np.nan, 1.0])).tolist() == [2, 0, 1]
    assert autograd.argsort(autograd.tensor([2, 0, 1], dtype=np.uint8), descending=True).tolist() == [0, 2, 1]
    assert autograd.sort(t(5.0)).indices.item() == 0


def test_sort_gradient_goes_back_to_each_source():
    weights = t([1.0, 10.0, 100.0])
    x = t([2.0, 0.0, 1.0], requires_grad=True)
    (autograd.sort(x).values * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [100, 1, 10])


def test_topk_kthvalue_median():
    x = t([[1.0, 5.0, 3.0, 4.0], [8.0, 6.0, 7.0, 9.0]])
    values, indices = autograd.topk(x, 2)
    assert values.tolist() == [[5, 4], [9, 8]] and indices.tolist() == [[1, 3], [3, 0]]
    assert autograd.topk(x, 1, dim=0, largest=False).values.tolist() == [[1, 5, 3, 4]]
    assert autograd.topk(x, 0).values.shape == (2, 0)
    values, indices = autograd.kthvalue(x, 3, 1, keepdim=True)
    assert values.tolist() == [[4], [8]] and indices.tolist() == [[3], [0]]
    assert autograd.median(x).item() == 5  # the lower of the two middle values of 8
    values, indices = autograd.median(x, 1)
    assert values.tolist() == [3, 7] and indices.tolist() == [2, 2]
    values, indices = autograd.median(t([3.0, np.nan, 2.0]), 0)
    assert np.isnan(values.item()) and indices.item() == 1
    with pytest.raises(OpError, match=r"topk: k=5 is out of range for dimension 1 of size 4"):
        autograd.topk(x, 5)
    with pytest.raises(OpError, match=r"kthvalue: k=0 is out of range"):
        autograd.kthvalue(x, 0)


def test_mode_prefers_the_smallest_value_and_its_last_index():
    x = t([[1.0, 3.0, 3.0, 2.0, 1.0, 1.0], [2.0, 2.0, 5.0, 5.0, 0.0, 0.0]])
    values, indices = autograd.mode(x, 1)
    assert values.tolist() == [1, 0] and indices.tolist() == [5, 5]
    values, indices = autograd.mode(t([[4.0, 4.0], [1.0, 2.0]]), 0, keepdim=True)
    assert values.tolist() == [[1, 2]] and indices.tolist() == [[1, 1]]
    np.testing.assert_array_equal(grad_of(lambda a: a.mode().values, [2.0, 7.0, 2.0]), [0, 0, 1])


def test_nonzero_and_unique():
    x = t([[0.0, 2.0], [3.0, 0.0]])
    assert autograd.nonzero(x).tolist() == [[0, 1], [1, 0]]
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert autograd.nonzero(autograd.zeros(2, 3)).shape == (0, 2)
    values, inverse, counts = autograd.unique(t([[2.0, 1.0], [2.0, 3.0]]), return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3] and inverse.tolist() == [[1, 0], [1, 2]] and counts.tolist() == [1, 2, 1]
    rows = autograd.unique(t([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0]]), dim=0)
    assert rows.tolist() == [[0, 1], [1, 2]]


# ----------------------------------------------------------------------------- masked ops
def test_masked_fill_select_scatter():
    x = t([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mask = autograd.tensor([True, False])
    assert autograd.masked_fill(x, mask, -1.0).tolist() == [[-1, 2], [-1, 4]]
    assert x.masked_select(mask).tolist() == [1, 3]
    assert x.masked_scatter(mask, t([9.0, 8.0, 7.0])).tolist() == [[9, 2], [8, 4]]
    value = t(5.0, requires_grad=True)
    x.masked_fill(mask, value).sum().backward()
    assert value.grad.item() == 2 and x.grad.tolist() == [[0, 1], [0, 1]]
    with pytest.raises(OpError, match="masked_fill: mask must be a bool tensor, got dtype int64"):
        x.masked_fill(autograd.tensor([1, 0]), 0.0)
    with pytest.raises(OpError, match=r"masked_fill: mask of shape \(3,\) does not broadcast to the input's \(2, 2\)"):
        x.masked_fill(autograd.tensor([True, False, True]), 0.0)
    with pytest.raises(OpError, match="masked_scatter: source has 1 elements, fewer than the mask's 2"):
        x.masked_scatter(mask, t([1.0]))


# ----------------------------------------------------------------------------- gather, scatter and index ops
def test_gather_accepts_an_index_smaller_than_the_input():
    x = t(np.arange(12.0).reshape(3, 4))
    assert autograd.gather(x, 1, autograd.tensor([[3, 0], [1, 1]])).tolist() == [[3, 0], [5, 5]]
    np.testing.assert_array_equal(grad_of(lambda a: a.gather(1, np.array([[3, 0], [1, 1]])), x.data),
                                  [[1, 0, 0, 1], [0, 2, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(OpError, match=r"gather: index of shape \(4, 1\) is larger than the input's \(3, 4\)"):
        autograd.gather(x, 1, np.zeros((4, 1), np.int64))
    with pytest.raises(IndexError, match="gather: index 4 is out of bounds for dimension 1 with size 4"):
        autograd.gather(x, 1, np.array([[4]]))
    with pytest.raises(OpError, match="gather: index must be an integer tensor, got dtype float64"):
        autograd.gather(x, 1, np.array([[1.0]]))


def test_take_along_dim_broadcasts_and_flattens():
    x = t(np.arange(6.0).reshape(2, 3))
    order = autograd.argsort(-x, 1)
    assert autograd.take_along_dim(x, order, 1).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert autograd.take_along_dim(x, autograd.tensor([[0], [2]]), 1).tolist() == [[0], [5]]
    assert autograd.take_along_dim(x, autograd.tensor([[1, 0]]), 1).tolist() == [[1, 0], [4, 3]]
    assert autograd.take_along_dim(x, autograd.tensor([5, 0])).tolist() == [5, 0]


def test_scatter_family_values():
    x = t(np.zeros((2, 4)))
    index = autograd.tensor([[0, 3], [2, 2]])
    src = t([[1.0, 2.0, 99.0], [3.0, 4.0, 99.0]])
    assert autograd.scatter(x, 1, index, src).tolist() == [[1, 0, 0, 2], [0, 0, 4, 0]]  # last write wins
    assert x.scatter(1, index, value=7.0).tolist() == [[7, 0, 0, 7], [0, 0, 7, 0]]
    assert autograd.scatter_add(x, 1, index, src).tolist() == [[1, 0, 0, 2], [0, 0, 7, 0]]
    assert x.scatter(1, index, src, reduce="add").tolist() == [[1, 0, 0, 2], [0, 0, 7, 0]]
    base = t([[1.0, 1.0, 1.0, 5.0], [2.0, 2.0, 2.0, 2.0]])
    assert base.scatter_reduce(1, index, src, "amax").tolist() == [[1, 1, 1, 5], [2, 2, 4, 2]]
    assert base.scatter_reduce(1, index, src, "amax", include_self=False).tolist() == [[1, 1, 1, 2], [2, 2, 4, 2]]
    assert base.scatter_reduce(1, index, src, "amin").tolist() == [[1, 1, 1, 2], [2, 2, 2, 2]]
    assert base.scatter_reduce(1, index, src, "prod").tolist() == [[1, 1, 1, 10], [2, 2, 24, 2]]
    assert base.scatter_reduce(1, index, src, "mean").tolist() == [[1, 1, 1, 3.5], [2, 2, 3, 2]]
    assert base.scatter_reduce(1, index, src, "mean", include_self=False).tolist() == [[1, 1, 1, 2], [2, 2, 3.5, 2]]
    ints = autograd.tensor([[1, 1, 1, 1]])
    assert ints.scatter_reduce(1, autograd.tensor([[0, 0]]), autograd.tensor([[2, 4]]), "mean").tolist() == [
        [2, 1, 1, 1]]


def test_scatter_gradients():
    index = np.array([[0, 0, 3]])
    x = t([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    src = t([[5.0, 6.0, 7.0]], requires_grad=True)
    (autograd.scatter(x, 1, index, src) * t([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    assert x.grad.tolist() == [[0, 10, 100, 0]]
    assert src.grad.tolist() == [[1, 1, 1000]]  # every write gets the gradient, as in PyTorch
    # amax ties share the gradient equally: self (5) and two src values tie at position 0.
    x = t([[5.0, 0.0]], requires_grad=True)
    src = t([[5.0, 5.0, 1.0]], requires_grad=True)
    autograd.scatter_reduce(x, 1, np.array([[0, 0, 1]]), src, "amax").sum().backward()
    np.testing.assert_allclose(x.grad.data, [[1 / 3, 0]])
    np.testing.assert_allclose(src.grad.data, [[1 / 3, 1 / 3, 1]])


def test_scatter_errors_name_the_op_and_shapes():
    x = t(np.zeros((2, 3)))
    with pytest.raises(OpError, match=r"scatter_add: index of shape \(2, 2\) is larger than src of shape \(2, 1\)"):
        autograd.scatter_add(x, 1, np.zeros((2, 2), np.int64), t(np.zeros((2, 1))))
    with pytest.raises(OpError, match="scatter_reduce: reduce must be one of"):
        autograd.scatter_reduce(x, 1, np.zeros((2, 1), np.int64), t(np.zeros((2, 1))), "max")
    with pytest.raises(OpError, match="scatter: give exactly one of src and value"):
        autograd.scatter(x, 1, np.zeros((2, 1), np.int64))
    with pytest.raises(IndexError, match="scatter: index 3 is out of bounds for dimension 1 with size 3"):
        autograd.scatter(x, 1, np.full((2, 1), 3), value=1.0)


def test_index_select_add_copy():
    x = t(np.arange(6.0).reshape(2, 3))
    assert autograd.index_select(x, 1, autograd.tensor([2, 0, 2])).tolist() == [[2, 0, 2], [5, 3, 5]]
    np.testing.assert_array_equal(grad_of(lambda a: a.index_select(1, np.array([2, 0, 2])), x.data),
                                  [[1, 0, 2], [1, 0, 2]])
    ones = t(np.ones((2, 2)))
    assert x.index_add(1, autograd.tensor([0, 0]), ones, alpha=2).tolist() == [[4, 1, 2], [7, 4, 5]]
    source = t([[10.0, 20.0], [30.0, 40.0]])
    assert x.index_copy(1, autograd.tensor([2, 0]), source).tolist() == [[20, 1, 10], [40, 4, 30]]
    assert x.index_copy(1, autograd.tensor([1, 1]), source).tolist() == [[0, 20, 2], [3, 40, 5]]
    with pytest.raises(OpError, match=r"index_add: source of shape \(2, 2\) does not match input \(2, 3\) with 3"):
        x.index_add(1, autograd.tensor([0, 1, 2]), ones)
    with pytest.raises(OpError, match=r"index_select: index must be 0-d or 1-d, got shape \(1, 1\)"):
        x.index_select(0, autograd.tensor([[0]]))
    with pytest.raises(IndexError, match="index_select: index 2 is out of bounds for dimension 0 with size 2"):
        x.index_select(0, autograd.tensor([2]))


def test_repeat_interleave():
    x = t([[1.0, 2.0], [3.0, 4.0]])
    assert autograd.repeat_interleave(x, 2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert x.repeat_interleave(autograd.tensor([1, 2]), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert x.repeat_interleave(autograd.tensor([0, 3]), dim=1).tolist() == [[2, 2, 2], [4, 4, 4]]
    np.testing.assert_array_equal(grad_of(lambda a: a.repeat_interleave(np.array([0, 3]), dim=1), x.data),
                                  [[0, 3], [0, 3]])
    with pytest.raises(OpError, match="repeat_interleave: repeats must be a non-negative int"):
        x.repeat_interleave(autograd.tensor([1, 2, 3]), dim=0)
