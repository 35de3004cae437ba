"""Shape ops, PyTorch's indexing semantics, einsum and the batched products, fold/unfold, pad's cropping, factories:
hand-computed and numpy values, edge cases and errors (gradients: the op registry, autograd/opinfo/selection.py)."""

import numpy as np
import pytest

import autograd
import nn.functional as F
from autograd import OpError, Tensor


def t(values, requires_grad=False):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_tril_triu_diag_diagonal_diag_embed():
    x = t(np.arange(1.0, 10.0).reshape(3, 3))
    assert autograd.tril(x).tolist() == [[1, 0, 0], [4, 5, 0], [7, 8, 9]]
    assert x.triu(1).tolist() == [[0, 2, 3], [0, 0, 6], [0, 0, 0]]
    assert autograd.diag(x).tolist() == [1, 5, 9] and x.diag(-1).tolist() == [4, 8]
    assert autograd.diag(t([1.0, 2.0]), 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    y = t(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(autograd.diagonal(y, 1, 1, 2).data, np.diagonal(y.data, 1, 1, 2))
    assert autograd.diagonal(y, 5, 1, 2).shape == (2, 0)
    embedded = autograd.diag_embed(t([[1.0, 2.0], [3.0, 4.0]]))
    assert embedded.shape == (2, 2, 2) and embedded.tolist()[1] == [[3, 0], [0, 4]]
    with pytest.raises(OpError, match=r"tril: input must have at least 2 dimensions, got shape \(3,\)"):
        autograd.tril(t([1.0, 2.0, 3.0]))
    with pytest.raises(OpError, match="diagonal: dim1 and dim2 are the same dimension"):
        autograd.diagonal(y, 0, 1, -2)
    with pytest.raises(OpError, match=r"diag: input must be 1-d or 2-d, got shape \(2, 3, 4\)"):
        autograd.diag(y)


def test_roll_rot90_movedim_narrow_unbind():
    x = t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert autograd.roll(x, 1, 1).tolist() == [[3, 1, 2], [6, 4, 5]]
    assert x.roll(1).tolist() == [[6, 1, 2], [3, 4, 5]]
    assert x.roll((1, -1), (0, 1)).tolist() == [[5, 6, 4], [2, 3, 1]]
    assert autograd.rot90(x).tolist() == [[3, 6], [2, 5], [1, 4]]
    assert x.rot90(-1).tolist() == [[4, 1], [5, 2], [6, 3]]
    assert x.rot90(4).tolist() == x.tolist()
    y = autograd.zeros(2, 3, 4)
    assert autograd.movedim(y, 0, -1).shape == (3, 4, 2) and y.moveaxis((0, 1), (2, 0)).shape == (3, 4, 2)
    assert autograd.narrow(x, 1, 1, 2).tolist() == [[2, 3], [5, 6]] and x.narrow(0, -1, 1).tolist() == [[4, 5, 6]]
    first, second = autograd.unbind(x)
    assert first.tolist() == [1, 2, 3] and len(x.unbind(1)) == 3
    with pytest.raises(OpError, match=r"narrow: start 2 and length 2 are out of range for dimension 1 of size 3"):
        x.narrow(1, 2, 2)
    with pytest.raises(OpError, match="roll: got 2 shifts for 1 dims"):
        x.roll((1, 2), 0)


def test_tensor_unfold_windows_and_gradient():
    x = t(np.arange(7.0), requires_grad=True)
    windows = x.unfold(0, 3, 2)
    assert windows.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    windows.sum().backward()
    assert x.grad.tolist() == [1, 1, 2, 1, 2, 1, 1]  # elements shared by two windows get both gradients
    assert autograd.zeros(2, 5, 3).unfold(1, 2, 1).shape == (2, 4, 3, 2)
    with pytest.raises(OpError, match=r"unfold: size 8 must be in \[1, 7\]"):
        x.unfold(0, 8, 1)


def test_meshgrid_repeat_interleave_outer():
    a, b = t([1.0, 2.0, 3.0]), t([10.0, 20.0])
    rows, cols = autograd.meshgrid(a, b)
    assert rows.shape == (3, 2) and rows.tolist()[2] == [3, 3] and cols.tolist()[0] == [10, 20]
    xs, ys = autograd.meshgrid(a, b, indexing="xy")
    np.testing.assert_array_equal(xs.data, np.meshgrid(a.data, b.data)[0])
    np.testing.assert_array_equal(ys.data, np.meshgrid(a.data, b.data)[1])
    assert autograd.outer(a, b).tolist() == [[10, 20], [20, 40], [30, 60]]


def test_einsum_values_against_numpy():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(autograd.einsum("ij,jk->ik", t(a), t(b)).data, a @ b)
    np.testing.assert_allclose(autograd.einsum("ij,jk", [t(a), t(b)]).data, a @ b)
    np.testing.assert_allclose(autograd.einsum("ii", t(c)).data, np.trace(c))
    np.testing.assert_allclose(autograd.einsum("ji", t(a)).data, a.T)  # implicit output: sorted letters
    batch = rng.normal(size=(5, 2, 3))
    np.testing.assert_allclose(autograd.einsum("...ij,jk->...ik", t(batch), t(b)).data, batch @ b)
    x = t(c, requires_grad=True)
    autograd.einsum("ii->", x).backward()
    np.testing.assert_array_equal(x.grad.data, np.eye(3))
    with pytest.raises(OpError, match="einsum: equation 'ij,jk' names 2 operands, got 1"):
        autograd.einsum("ij,jk", t(a))
    with pytest.raises(OpError, match=r"einsum: subscripts 'ijk' name 3 dimensions of an operand of shape \(2, 3\)"):
        autograd.einsum("ijk", t(a))


def test_bmm_baddbmm_addmm():
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 5)), rng.normal(size=(3, 5))
    np.testing.assert_allclose(autograd.bmm(t(a), t(b)).data, a @ b)
    np.testing.assert_allclose(autograd.baddbmm(t(c), t(a), t(b), beta=0.5, alpha=2).data, 0.5 * c + 2 * (a @ b))
    np.testing.assert_allclose(autograd.addmm(t(c), t(a[0]), t(b[0])).data, c + a[0] @ b[0])
    nan = t(np.full((3, 5), np.nan))
    assert np.isfinite(autograd.addmm(nan, t(a[0]), t(b[0]), beta=0).data).all()  # beta=0 ignores input
    with pytest.raises(OpError, match=r"bmm: expected 3-d tensors, got shapes \(3, 4\) and \(2, 4, 5\)"):
        autograd.bmm(t(a[0]), t(b))
    with pytest.raises(OpError, match=r"bmm: shapes \(2, 3, 4\) and \(2, 5, 4\) cannot be multiplied"):
        autograd.bmm(t(a), t(b.transpose(0, 2, 1)))


def test_fold_is_the_adjoint_of_unfold():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 5, 6))
    settings = {"kernel_size": (2, 3), "stride": 2, "padding": 1, "dilation": (2, 1)}
    columns = F.unfold(t(x), **settings)
    windows = rng.normal(size=columns.shape)
    # <unfold(x), w> = <x, fold(w)>
    folded = F.fold(t(windows), (5, 6), **settings)
    assert np.sum(columns.data * windows) == pytest.approx(np.sum(x * folded.data))
    ones = F.fold(F.unfold(t(np.ones((1, 1, 3, 3))), 2), (3, 3), 2)
    assert ones.tolist() == [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]]  # how many 2x2 windows cover each pixel
    with pytest.raises(OpError, match=r"fold: expected an input of shape \(N, C \* 4, 4\)"):
        F.fold(t(np.ones((1, 4, 5))), (3, 3), 2)
    with pytest.raises(OpError, match="unfold: expected a 3-d or 4-d input"):
        F.unfold(t(np.ones((3, 3))), 2)


def test_torch_style_advanced_indexing_with_ints_and_a_slice():
    x = t(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    picked = x[0, :, [1, 2]]
    assert picked.shape == (3, 2)  # numpy would give (2, 3)
    np.testing.assert_array_equal(picked.data, x.data[0][:, [1, 2]])
    assert x[:, 0, [1, 2]].shape == (2, 2) and x[[0, 1], :, [1, 2]].shape == (2, 3)
    assert x[0, None, :, [1, 1]].shape == (1, 3, 2)
    picked.sum().backward()
    assert x.grad.data[0, :, 1:3].sum() == 6 and x.grad.data.sum() == 6
    y = autograd.zeros(2, 3, 4)
    y[0, :, [1, 2]] = autograd.tensor(np.arange(6.0).reshape(3, 2), dtype=np.float32)
    assert y[0, 2].tolist() == [0, 4, 5, 0]


def test_pad_crops_with_negative_widths_and_replicates_beyond_the_input():
    x = t([[[1.0, 2.0, 3.0, 4.0]]])
    assert F.pad(x, (-1, -2)).tolist() == [[[2]]]
    assert F.pad(x, (-1, 2), value=9.0).tolist() == [[[2, 3, 4, 9, 9]]]
    assert F.pad(x, (-2, 2), mode="circular").tolist() == [[[3, 4, 3, 4]]]
    assert F.pad(t([[[1.0, 2.0]]]), (5, 3), mode="replicate").tolist() == [[[1] * 6 + [2] * 4]]
    with pytest.raises(OpError, match=r"pad: negative widths \(-3, -2\) crop more than the input"):
        F.pad(x, (-3, -2))


def test_linspace_truncates_integers_and_squeeze_of_0d():
    assert autograd.linspace(0, 10, 4, dtype=np.int64).tolist() == [0, 3, 6, 10]
    assert autograd.linspace(-10, 0, 4, dtype=np.int64).tolist() == [-10, -6, -3, 0]
    scalar = autograd.tensor(3.0)
    assert scalar.squeeze(0).shape == () and scalar.squeeze(-1).shape == ()
    assert autograd.zeros(1, 2, 1).squeeze((0, 2)).shape == (2,)
    assert autograd.zeros(1, 2, 1).squeeze((0, 1)).shape == (2, 1)
    with pytest.raises(IndexError):
        scalar.squeeze(1)


def test_new_and_like_factories_and_as_tensor():
    x = autograd.zeros(2, dtype=np.float64)
    assert x.new_zeros(3).dtype == np.float64 and x.new_ones((2, 2)).tolist() == [[1, 1], [1, 1]]
    assert x.new_full((2,), 7).tolist() == [7, 7] and x.new_empty(4).shape == (4,)
    assert x.new_zeros(2, dtype=np.int64).dtype == np.int64
    assert autograd.full_like(x, 2.5).tolist() == [2.5, 2.5] and autograd.empty_like(x).dtype == np.float64
    autograd.manual_seed(0)
    sample = autograd.rand_like(autograd.zeros(1000))
    assert sample.dtype == np.float32 and 0 <= sample.data.min() and sample.data.max() < 1
    array = np.zeros(3)
    assert autograd.as_tensor(array).data is array and autograd.as_tensor(x) is x
    assert autograd.as_tensor([1, 2]).dtype == np.int64
    clone = autograd.clone(x)
    assert clone.data is not x.data and clone.tolist() == x.tolist()
