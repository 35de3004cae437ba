"""The scalar path: ops on 0-d float tensors computed on numpy scalars (``Function.scalar_forward``), results held as
``ScalarTensor``, and backward passes run on numbers (``Function.scalar_backward``). Everything here is checked
against the array path, which the rest of the suite covers."""

import gc

import numpy as np
import pytest

import autograd
from autograd.tensor import ScalarTensor, Tensor

UNARY = [
    ("neg", lambda x: -x, 0.7),
    ("exp", lambda x: x.exp(), 0.7),
    ("log", lambda x: x.log(), 0.7),
    ("tanh", lambda x: x.tanh(), 0.7),
    ("relu+", lambda x: x.relu(), 0.7),
    ("relu-", lambda x: x.relu(), -0.7),
]
BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a ** b),
    ("number", lambda a, b: (2.5 - a) * 3 + b / 2),
]


def leaves(dtype, *values, shape=()):
    return [autograd.tensor(np.full(shape, value, dtype), requires_grad=True) for value in values]


def value_and_grads(op, dtype, values, shape=()):
    """``op``'s result (and whether it was a ScalarTensor, before anything read its array) and its gradients."""
    inputs = leaves(dtype, *values, shape=shape)
    out = op(*inputs)
    scalar = type(out) is ScalarTensor
    (out if out.ndim == 0 else out.sum()).backward()
    return out, scalar, [x.grad.data.reshape(()) for x in inputs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, op, value", UNARY)
def test_unary_ops_match_the_array_path(dtype, name, op, value):
    out, scalar, grads = value_and_grads(op, dtype, [value])
    reference, _, reference_grads = value_and_grads(op, dtype, [value], shape=(1,))
    assert scalar and out.grad_fn is not None
    assert out.dtype == dtype and out.data.dtype == dtype and out.data.shape == ()
    assert out.data == reference.data[0]
    assert grads[0].dtype == dtype and grads[0] == reference_grads[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, op", BINARY)
def test_binary_ops_match_the_array_path(dtype, name, op):
    out, scalar, grads = value_and_grads(op, dtype, [0.6, 1.3])
    reference, _, reference_grads = value_and_grads(op, dtype, [0.6, 1.3], shape=(1,))
    assert scalar and out.dtype == dtype
    np.testing.assert_allclose(out.data, reference.data[0], rtol=1e-6)
    for grad, expected in zip(grads, reference_grads):
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, expected, rtol=1e-6)


def test_a_hand_computed_graph_with_a_value_used_twice():
    x, w = leaves(np.float64, 0.5, -2.0)
    y = (x * w + x).tanh()  # dy/dx = (1 - y^2)(w + 1), dy/dw = (1 - y^2) x
    y.backward()
    t = np.tanh(0.5 * -2.0 + 0.5)
    assert x.grad.item() == pytest.approx((1 - t * t) * -1.0)
    assert w.grad.item() == pytest.approx((1 - t * t) * 0.5)
    assert type(x.grad) is Tensor and x.grad.data.shape == () and x.grad.dtype == np.float64


def test_reading_data_makes_an_array_and_a_plain_tensor():
    x, = leaves(np.float32, 1.5)
    y = x * 2
    assert type(y) is ScalarTensor
    array = y.data
    assert type(array) is np.ndarray and array.shape == () and array.dtype == np.float32
    assert type(y) is Tensor and y.data is array  # for good: later reads are the same array
    y.backward()
    assert x.grad.item() == 2.0


def test_an_in_place_change_of_a_saved_scalar_is_caught():
    x, = leaves(np.float32, 1.5)
    y = x * 3
    z = y * y  # saves y, a ScalarTensor
    with autograd.no_grad():
        y.add_(1.0)  # makes y's array, then counts the change
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_second_derivatives_of_a_scalar_graph():
    x, = leaves(np.float64, 0.3)
    y = (x * x * x).tanh()
    (first,) = autograd.grad(y, x, create_graph=True)
    (second,) = autograd.grad(first, x)
    t = np.tanh(0.027)
    d1 = (1 - t * t) * 3 * 0.09
    d2 = -2 * t * (1 - t * t) * (3 * 0.09) ** 2 + (1 - t * t) * 6 * 0.3
    assert first.item() == pytest.approx(d1)
    assert second.item() == pytest.approx(d2)


def test_hooks_see_tensors_and_may_replace_the_gradient():
    x, = leaves(np.float32, 2.0)
    y = x * 3
    seen = []
    y.register_hook(lambda grad: seen.append(grad) or grad * 10)
    (y * 2).backward()
    assert isinstance(seen[0], Tensor) and seen[0].item() == 2.0
    assert x.grad.item() == 60.0


def test_retain_graph_and_a_second_backward_through_a_freed_graph():
    x, = leaves(np.float32, 2.0)
    y = (x * x).relu()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_relu_keeps_nan_and_sends_no_gradient_through_it():
    x, = leaves(np.float32, np.nan)
    y = x.relu()
    assert np.isnan(y.item())
    y.backward()
    assert x.grad.item() == 0.0


@pytest.mark.parametrize("make_other", [lambda: autograd.tensor(np.float64(2.0)), lambda: np.ones(1, np.float32),
                                        lambda: autograd.tensor(np.array(2, np.int64))])
def test_other_operands_take_the_array_path(make_other):
    x, = leaves(np.float32, 1.5)
    other = make_other()
    out = x * other
    assert type(out) is Tensor  # promotion and broadcasting stay the array path's
    out.sum().backward()
    assert x.grad.item() == 2.0 or x.grad.item() == 1.0


def test_the_graph_api_reads_a_scalar_node():
    x, w = leaves(np.float32, 1.0, 2.0)
    y = x * w
    assert y.grad_fn.name() == "Mul"
    assert [edge.shape for edge in y.grad_fn.next_edges] == [(), ()]
    assert y.shape == () and y.dtype == np.float32 and y.ndim == 0 and y.item() == 2.0


def test_few_objects_for_the_garbage_collector_per_op():
    x, a, b = leaves(np.float32, 0.5, 0.9, 0.1)
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        y = x
        for _ in range(500):
            y = (y * a + b).relu()
        per_op = (gc.get_count()[0] - before) / 1500
    finally:
        gc.enable()
    assert per_op <= 5.5
    y.backward()
    assert a.grad is not None
