"""The backward engine: graph shapes, accumulation, retain_graph, hooks, grad modes, anomaly, custom Functions."""

import gc
import math

import numpy as np
import pytest

import autograd
import nn
from autograd import Function, Tensor
from autograd import engine
from squares import BrokenSquare, Square


def scalar(value: float) -> Tensor:
    return autograd.tensor(value, dtype=autograd.float64, requires_grad=True)


def test_micrograd_classic_expression():
    # micrograd's README example, with its published values.
    a, b = autograd.tensor(-4.0, requires_grad=True), autograd.tensor(2.0, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    assert g.item() == pytest.approx(24.7041, abs=1e-4)
    assert a.grad.item() == pytest.approx(138.8338, abs=1e-4)
    assert b.grad.item() == pytest.approx(645.5773, abs=1e-4)


def test_value_used_twice_gets_both_contributions():
    x = scalar(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad.item() == 7.0


def test_diamond_graph_sums_paths():
    x = scalar(2.0)
    a, b = x.exp(), x.sin()
    (a * b).backward()
    expected = math.exp(2) * math.sin(2) + math.exp(2) * math.cos(2)
    assert x.grad.item() == pytest.approx(expected)


def test_gradients_accumulate_across_backward_calls():
    x = scalar(1.5)
    (x * 2).backward()
    (x * 3).backward()
    assert x.grad.item() == 5.0
    x.grad = None
    (x * 4).backward()
    assert x.grad.item() == 4.0


def test_leaf_grad_is_owned_and_writeable():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = autograd.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()  # Add hands the same gradient object to both inputs
    x.grad.mul_(10)
    assert y.grad.tolist() == [1.0, 1.0]
    assert x.grad.data.flags.writeable


class _Doubled(autograd.Function):
    """y = 2x, whose backward keeps the gradient array it returns in ``returned``."""

    returned: list = []

    @staticmethod
    def forward(ctx, x):
        return x.data * 2

    @staticmethod
    def backward(ctx, grad):
        result = grad * 2
        _Doubled.returned.append(result.data)
        return result


def test_a_leaf_may_adopt_only_gradients_nobody_outside_the_engine_holds():
    x = autograd.tensor([0.0, 0.0], requires_grad=True)
    accumulator = autograd.graph.get_gradient_edge(x).node
    buffers, owned = {}, {}
    first, second = autograd.ones(2), autograd.ones(2)
    engine._deliver(buffers, owned, accumulator, 0, first, False, False)
    assert buffers[accumulator] == [first] and not owned  # a user's backward may hold it
    engine._deliver(buffers, owned, accumulator, 0, second, False, False)
    engine._deliver(buffers, owned, accumulator, 0, second, False, False)
    total = buffers[accumulator][0]
    assert owned == {accumulator: total} and total.tolist() == [3.0, 3.0]  # a sum made here
    assert first.tolist() == [1.0, 1.0] and second.tolist() == [1.0, 1.0]


def test_only_new_arrays_from_gradlabs_own_ops_count_as_new():
    assert engine._makes_new_gradients(autograd.ops.elementwise.Mul)
    assert not engine._makes_new_gradients(_Doubled)
    grad = autograd.ones(3)
    made = autograd.ones(3)
    assert engine._is_new(made, [grad], (made, None))
    assert not engine._is_new(grad, [grad], (grad, grad))  # Add passes its gradient on to both inputs
    assert not engine._is_new(made, [grad], (made, made))  # one array for two inputs
    assert not engine._is_new(autograd.Tensor(made.data[1:]), [grad], (made,))  # a view of another array


def test_gradients_passed_on_unchanged_are_copied_into_grad():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    user_gradient = autograd.tensor([3.0, 4.0])
    x.clone().backward(user_gradient)  # Clone passes the caller's gradient on
    x.grad.mul_(2.0)
    assert user_gradient.tolist() == [3.0, 4.0]


def test_a_scalar_used_twice_gets_a_0d_array_as_grad():
    x = autograd.tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.data.shape == () and x.grad.item() == 4.0
    x.grad.add_(1.0)
    assert x.grad.item() == 5.0


def test_a_gradient_held_elsewhere_is_copied_into_grad(monkeypatch):
    monkeypatch.setattr(_Doubled, "returned", [])
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    _Doubled.apply(x).sum().backward()
    assert not np.shares_memory(x.grad.data, _Doubled.returned[0])  # the list still holds it
    user_gradient = autograd.tensor([3.0, 4.0])
    for root in (x, x + 0):  # a leaf root takes the caller's gradient; Add passes it on unchanged
        x.grad = None
        root.backward(user_gradient)
        x.grad.mul_(2)
        assert user_gradient.tolist() == [3.0, 4.0]


def test_deep_chain_of_a_million_ops_backprops_without_recursion():
    x = autograd.tensor(1.0, dtype=autograd.float64, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y + 1e-6
    y.backward()
    assert x.grad.item() == 1.0
    del y
    gc.collect()


def test_backward_requires_gradient_for_non_scalar_outputs():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient"):
        y.backward()
    y.backward(autograd.tensor([1.0, -1.0]))
    assert x.grad.tolist() == [2.0, -2.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.tensor(1.0).backward()


def test_second_backward_through_freed_graph_says_retain_graph():
    x = scalar(2.0)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_saved_tensors_are_freed_after_backward():
    x = autograd.tensor(np.ones(3), requires_grad=True)
    y = (x * x).sum()
    mul_node = y.grad_fn.next_functions[0][0]
    assert mul_node._saved
    y.backward()
    assert mul_node._saved is None


def test_inputs_that_need_no_gradient_cost_no_work():
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.data * b.data

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return (grad * 2 if ctx.needs_input_grad[0] else None), (grad * 3 if ctx.needs_input_grad[1] else None)

    a = autograd.tensor([1.0], requires_grad=True)
    Spy.apply(a, autograd.tensor([5.0])).sum().backward()
    assert seen == [(True, False)]


def test_autograd_grad_does_not_touch_dot_grad_and_supports_higher_order():
    x = scalar(3.0)
    y = x ** 3
    (first,) = autograd.grad(y, x, create_graph=True)
    assert first.item() == 27.0 and x.grad is None
    (second,) = autograd.grad(first, x, create_graph=True)
    assert second.item() == 18.0
    (third,) = autograd.grad(second, x)
    assert third.item() == 6.0


def test_autograd_grad_allow_unused_and_intermediate_inputs():
    x, z = scalar(1.0), scalar(2.0)
    h = x * 4
    y = h * h
    with pytest.raises(RuntimeError, match="allow_unused"):
        autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.item() == 32.0 and gz is None
    (gh,) = autograd.grad(y, h)
    assert gh.item() == 8.0


def test_hooks_on_leaves_and_intermediates():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    handle = x.register_hook(lambda g: g * 10)
    h.sum().backward()
    assert seen == [[1.0, 1.0]]
    assert x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_a_hook_that_changes_the_gradient_shape_is_an_error_naming_both_shapes():
    def summed(grad):
        return grad.sum()

    leaf = autograd.tensor([1.0, 2.0], requires_grad=True)
    leaf.register_hook(summed)
    with pytest.raises(RuntimeError, match=r"hook 'summed' registered on a leaf of shape \(2,\) changed the shape of "
                                           r"its gradient from \(2,\) to \(\)"):
        (leaf * 3).sum().backward()
    assert leaf.grad is None  # nothing was broadcast into .grad

    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    middle = x * 3
    middle.register_hook(lambda grad: grad.reshape(2, 1))
    with pytest.raises(RuntimeError, match=r"output 0 of Mul changed the shape of its gradient from \(2,\) to "
                                           r"\(2, 1\)"):
        middle.sum().backward()


def test_a_hook_must_return_none_or_a_tensor():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda grad: grad.data * 2)
    with pytest.raises(TypeError, match="returned a ndarray"):
        (x * 3).sum().backward()


def test_retain_grad_keeps_intermediate_gradient():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    (h * 3).sum().backward()
    assert h.grad.tolist() == [3.0, 3.0]
    assert x.grad.tolist() == [6.0, 12.0]


def test_no_grad_enable_grad_set_grad_enabled():
    x = autograd.tensor([1.0], requires_grad=True)
    with autograd.no_grad():
        assert not (x * 2).requires_grad
        with autograd.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @autograd.no_grad()
    def evaluate(t):
        return t * 2

    assert not evaluate(x).requires_grad and autograd.is_grad_enabled()
    with autograd.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert autograd.is_grad_enabled()
    autograd.set_grad_enabled(False)
    assert not autograd.is_grad_enabled()
    autograd.set_grad_enabled(True)


def test_detect_anomaly_names_the_op_and_where_it_was_created():
    x = autograd.tensor([0.0, 1.0], requires_grad=True)
    with autograd.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()  # d sqrt(x) / dx is inf at 0
        with pytest.raises(RuntimeError, match=r"(?s)'Sqrt'.*test_engine.py.*x\.sqrt\(\)"):
            y.sum().backward()


def test_custom_function_with_correct_backward_passes_gradcheck():
    x = autograd.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    assert autograd.gradcheck(Square.apply, (x,))
    assert autograd.gradgradcheck(Square.apply, (x,))


def test_custom_function_with_wrong_backward_is_caught_by_gradcheck():
    x = autograd.tensor(np.array([0.5, 1.5]), requires_grad=True)
    with pytest.raises(autograd.GradcheckError, match=r"(?s)input 0.*numerical:\s+3\n.*analytical:\s+3\.3"):
        autograd.gradcheck(BrokenSquare.apply, (x,))
    assert not autograd.gradcheck(BrokenSquare.apply, (x,), raise_exception=False)
    assert not autograd.gradcheck(BrokenSquare.apply, (x,), raise_exception=False, fast_mode=True)


def test_custom_function_returning_wrong_shape_is_reported():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.data.sum()

        @staticmethod
        def backward(ctx, grad):
            return grad  # should be expanded to x's shape

    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(\) for input 0.*\(2,\)"):
        BadShape.apply(x).backward()


def test_multi_output_function_and_non_differentiable_outputs():
    class SortValues(Function):
        @staticmethod
        def forward(ctx, x):
            order = np.argsort(x.data)
            ctx.order = order
            ctx.mark_non_differentiable(order)
            return x.data[order], order

        @staticmethod
        def backward(ctx, grad_values, grad_order):
            result = np.zeros_like(grad_values.data)
            result[ctx.order] = grad_values.data
            return autograd.tensor(result)

    x = autograd.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, order = SortValues.apply(x)
    assert values.requires_grad and not order.requires_grad
    (values * autograd.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_unused_output_of_multi_output_function_gets_zero_gradient():
    class Pair(Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2, x.data * 3

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            assert grad_b.tolist() == [0.0]
            return grad_a * 2 + grad_b * 3

    x = autograd.tensor([1.0], requires_grad=True)
    first, _ = Pair.apply(x)
    first.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_next_functions_expose_the_graph():
    w = autograd.tensor([1.0], requires_grad=True)
    y = (w * 2).relu()
    (mul_node, _), = y.grad_fn.next_functions
    assert mul_node.name() == "Mul"
    (accumulate, index), (nothing, _) = mul_node.next_functions
    assert accumulate.variable is w and index == 0 and nothing is None


def test_gradient_dtype_follows_the_input():
    w = autograd.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = (w * autograd.tensor([1.0, 1.0], dtype=autograd.float64)).sum()
    assert y.dtype == np.float64
    y.backward()
    assert w.grad.dtype == np.float32


def test_a_linear_layers_weight_gradient_is_c_contiguous():
    layer = nn.Linear(5, 3)
    layer(autograd.randn(4, 5)).sum().backward()  # the weight's gradient arrives as a transposed view
    assert layer.weight.grad.data.flags.c_contiguous and layer.weight.grad.data.flags.owndata


def test_grad_made_with_create_graph_is_a_copy_that_later_backwards_add_into():
    # The first .grad a create_graph backward gives a leaf is a copy, as in PyTorch: add sends one gradient to
    # both inputs, sum's is a read-only broadcast view, and the caller's gradient is the caller's.
    a, b = autograd.tensor([1.0, 2.0], requires_grad=True), autograd.tensor([3.0, 4.0], requires_grad=True)
    (a + b).backward(autograd.ones(2), create_graph=True)
    (a * 3).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [4.0, 4.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    c = autograd.tensor([1.0, 2.0], requires_grad=True)
    c.sum().backward(create_graph=True)
    (c * 3).sum().backward()
    np.testing.assert_array_equal(c.grad.data, [4.0, 4.0])
    x, given = autograd.tensor([1.0, 2.0], requires_grad=True), autograd.ones(2)
    x.backward(given, create_graph=True)
    (x * 5).sum().backward()
    x.grad.data[...] = 0  # as zero_grad(set_to_none=False) does
    np.testing.assert_array_equal(given.data, [1.0, 1.0])


def test_retained_grads_are_copies():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y1, y2 = x * 2, x * 3
    for y in (y1, y2):
        y.retain_grad()
    given = autograd.ones(2)
    (y1 + y2).backward(given)
    y1.grad.data *= 10
    np.testing.assert_array_equal(y2.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(given.data, [1.0, 1.0])
