"""Tensor creation, dtypes, attributes, conversions, in-place ops and printing."""

import copy
import pickle

import numpy as np
import pytest

import autograd
from autograd import Tensor


def test_dtype_rules_follow_pytorch():
    assert autograd.tensor(1.5).dtype == np.float32
    assert autograd.tensor([1.0, 2.0]).dtype == np.float32
    assert autograd.tensor([1, 2]).dtype == np.int64
    assert autograd.tensor([True, False]).dtype == np.bool_
    assert autograd.tensor(np.zeros(3, np.float64)).dtype == np.float64
    assert autograd.tensor([1, 2], dtype=autograd.float64).dtype == np.float64
    assert autograd.zeros(2, 3).dtype == np.float32
    assert autograd.arange(5).dtype == np.int64
    assert autograd.arange(0.0, 1.0, 0.25).dtype == np.float32


def test_tensor_copies_but_from_numpy_shares():
    array = np.arange(3.0)
    copied, shared = autograd.tensor(array), autograd.from_numpy(array)
    array[0] = 10.0
    assert copied.data[0] == 0.0 and shared.data[0] == 10.0


@pytest.mark.parametrize("factory, expected", [
    (lambda: autograd.zeros(2, 3), np.zeros((2, 3))),
    (lambda: autograd.ones((2, 3)), np.ones((2, 3))),
    (lambda: autograd.full((2,), 7.0), np.full(2, 7.0)),
    (lambda: autograd.eye(3), np.eye(3)),
    (lambda: autograd.linspace(0, 1, 5), np.linspace(0, 1, 5)),
    (lambda: autograd.zeros_like(autograd.ones(2, 2)), np.zeros((2, 2))),
    (lambda: autograd.ones_like(autograd.zeros(4)), np.ones(4)),
])
def test_factories(factory, expected):
    np.testing.assert_allclose(factory().data, expected)


def test_manual_seed_makes_random_ops_reproducible():
    autograd.manual_seed(3)
    first = [autograd.rand(3).data, autograd.randn(2, 2).data, autograd.randint(0, 10, (4,)).data,
             autograd.empty(3).uniform_(-1, 1).data.copy(), autograd.empty(3).normal_().data.copy()]
    autograd.manual_seed(3)
    second = [autograd.rand(3).data, autograd.randn(2, 2).data, autograd.randint(0, 10, (4,)).data,
              autograd.empty(3).uniform_(-1, 1).data.copy(), autograd.empty(3).normal_().data.copy()]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert autograd.randn_like(autograd.zeros(2, dtype=autograd.float64)).dtype == np.float64
    assert autograd.randint(5, size=(100,)).data.max() < 5


def test_attributes_and_conversions():
    t = autograd.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6
    assert len(t) == 2 and t.is_leaf and t.grad_fn is None and t.grad is None
    assert t.T.shape == (3, 2)
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert t[1, 2].item() == 6.0
    assert np.asarray(t).shape == (2, 3)
    assert t.double().dtype == np.float64 and t.double().float().dtype == np.float32
    assert t.to(autograd.float64).grad_fn is not None
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    assert t.detach().numpy() is t.data
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    with pytest.raises(TypeError):
        len(autograd.tensor(1.0))


def test_detach_and_clone():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.data is y.data
    c = x.clone()
    assert c.data is not x.data and c.grad_fn is not None
    c.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        autograd.tensor([1, 2], requires_grad=True)
    x = autograd.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).requires_grad_(False)
    assert autograd.tensor([1.0]).requires_grad_().requires_grad


def test_inplace_ops_values():
    t = autograd.zeros(3)
    t.add_(autograd.ones(3), alpha=2).sub_(1).mul_(3).div_(2)
    np.testing.assert_allclose(t.data, [1.5, 1.5, 1.5])
    t.fill_(4.0)
    np.testing.assert_allclose(t.data, 4.0)
    t.copy_([1.0, 2.0, 3.0])
    t.clamp_(max=2.0)
    np.testing.assert_allclose(t.data, [1.0, 2.0, 2.0])
    t.zero_()
    assert not t.data.any()
    t[1] = 5.0
    np.testing.assert_allclose(t.data, [0.0, 5.0, 0.0])
    with pytest.raises(ValueError, match="copy_"):
        t.copy_(np.ones(4))


def test_inplace_on_leaf_requiring_grad_is_an_error_outside_no_grad():
    w = autograd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.add_(1.0)
    with autograd.no_grad():
        w.sub_(0.5)
    np.testing.assert_allclose(w.data, [0.5, 1.5])


def test_inplace_on_saved_tensor_is_detected_in_backward():
    w = autograd.tensor([1.0, 2.0], requires_grad=True)
    a = autograd.tensor([3.0, 4.0])
    y = (w * a).sum()
    a.mul_(2)
    with pytest.raises(RuntimeError, match=r"Mul.*version 1.*expected version 0"):
        y.backward()


def test_inplace_through_a_detached_alias_is_detected():
    w = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with autograd.no_grad():
        w.detach().mul_(3)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_repr_looks_like_pytorch():
    assert repr(autograd.tensor([1.0, 2.5])) == "tensor([1.0, 2.5])"
    assert repr(autograd.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"
    x = autograd.tensor(2.0, requires_grad=True)
    assert repr(x) == "tensor(2., requires_grad=True)"
    assert repr(x * 3) == "tensor(6., grad_fn=<Mul>)"
    assert "dtype=float64" in repr(autograd.zeros(2, dtype=autograd.float64))


def test_comparisons_give_bool_tensors_without_grad():
    x = autograd.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert (x == 2.0).tolist() == [False, True, False]
    assert ((x >= 2) & (x < 3)).tolist() == [False, True, False]
    assert {x: 1}[x] == 1  # tensors hash by identity


def test_tensor_iteration_and_bool():
    x = autograd.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert [row.tolist() for row in x] == [[1.0, 2.0], [3.0, 4.0]]
    assert bool(autograd.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)


def test_numpy_scalars_on_the_left_return_tensors():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = np.float32(2.0) * x
    assert isinstance(y, Tensor) and y.grad_fn is not None
    z = np.ones(2, np.float32) + x
    assert isinstance(z, Tensor)


def test_augmented_assignment_is_in_place_unless_recording():
    buffer = autograd.zeros(2)
    alias = buffer
    buffer += 1.0
    assert alias.tolist() == [1.0, 1.0] and buffer is alias and buffer._version[0] == 1
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h += x  # records an Add and rebinds h, so the gradient is right
    h.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_deepcopy_and_pickle_make_independent_leaves():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    keep_graph_alive = x * 3
    for clone in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert clone.requires_grad and clone.grad.tolist() == [2.0, 4.0] and clone.data is not x.data
        (clone * 5).sum().backward()
        assert clone.grad.tolist() == [7.0, 9.0]
    assert x.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="only leaf"):
        copy.deepcopy(keep_graph_alive)
