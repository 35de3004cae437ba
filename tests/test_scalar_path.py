"""The scalar path: ops on 0-d float tensors computed on numpy scalars (``Function.scalar_forward``), results held as
``ScalarTensor``, and backward passes run on numbers (``Function.scalar_backward``). Everything here is checked
against the array path, which the rest of the suite covers."""

import contextlib
import gc
import sys
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import autograd
from autograd.function import Function
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


def test_a_scalar_made_without_a_graph_may_become_a_leaf():
    x, = leaves(np.float32, 1.5)
    with autograd.no_grad():
        y = x * 2
    assert type(y) is ScalarTensor and y.grad_fn is None
    y.requires_grad = True  # set directly, as PyTorch allows on a leaf
    (y * y).backward()
    assert y.grad.item() == 6.0


def test_copies_and_pickles_are_plain_tensors():
    import copy
    import pickle

    x, = leaves(np.float32, 1.5)
    with autograd.no_grad():
        y = x * 2
    for clone in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert type(clone) is Tensor and clone.item() == 3.0 and clone.data.dtype == np.float32


# ----------------------------------------------------------------------------- random graphs against the array path
def _subclasses(cls: type):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@contextlib.contextmanager
def array_path():
    """Every op on its array path, as if none had a ``scalar_forward``: no ScalarTensor, no backward on numbers."""
    patched = {cls: cls.__dict__["scalar_forward"] for cls in set(_subclasses(Function))
               if cls.__dict__.get("scalar_forward") is not None}
    for cls in patched:
        cls.scalar_forward = None
    try:
        yield
    finally:
        for cls, original in patched.items():
            cls.scalar_forward = original


FLOATS = st.one_of(st.floats(-3, 3, width=32), st.sampled_from([0.0, 1.0, -1.0, 2.0, np.nan, np.inf, -np.inf]))
# Operands that are not a node: Python and numpy numbers, and 0-d tensors of other dtypes (no gradient).
CONSTANTS = st.one_of(
    st.tuples(st.just("int"), st.integers(-3, 3)),
    st.tuples(st.just("float"), FLOATS),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.sampled_from(["np32", "np64", "npbool", "i64", "f16", "f32", "f64"]), FLOATS),
)
UNARY = ["neg", "exp", "log", "tanh", "relu", "sigmoid", "sin", "clamp", "reshape", "peek", "retain", "hook"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "where"]


def constant(kind: str, value):
    if kind in ("int", "float", "bool"):
        return {"int": int, "float": float, "bool": bool}[kind](value)
    if kind in ("np32", "np64", "npbool"):
        return {"np32": np.float32, "np64": np.float64, "npbool": np.bool_}[kind](value)
    if kind == "i64":
        return autograd.tensor(np.array(int(value) if np.isfinite(value) else 0, np.int64))
    return autograd.tensor(np.array(value, {"f16": np.float16, "f32": np.float32, "f64": np.float64}[kind]))


@st.composite
def programs(draw):
    """Leaves (mostly float32/float64, some float16), a 1-d leaf, and steps over the nodes made so far: a node may be
    used many times (shared subexpressions), ``peek`` reads a node's ``.data`` in the middle of the graph."""
    leaves = draw(st.lists(st.tuples(st.sampled_from([np.float32, np.float64, np.float16, np.float32, np.float64]),
                                     FLOATS, st.booleans()), min_size=1, max_size=3))
    vector = draw(st.tuples(st.sampled_from([np.float32, np.float64]), st.lists(FLOATS, min_size=3, max_size=3)))
    steps = []
    count = len(leaves) + 2  # the leaves, then vector[index] and vector.sum()
    for _ in range(draw(st.integers(1, 10))):
        node = st.integers(0, count - 1)
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UNARY)), draw(node)))
            if steps[-1][0] in ("peek", "retain", "hook"):
                continue  # no new node
        else:
            op = draw(st.sampled_from(BINARY))
            other = draw(node) if op in ("maximum", "where") or draw(st.booleans()) else draw(CONSTANTS)
            steps.append((op, draw(node), other, draw(st.booleans())))
        count += 1
    return leaves, vector, draw(st.integers(0, 2)), steps, draw(st.integers(1, 3))


def leaf(dtype, value, made: bool) -> Tensor:
    """A leaf that requires grad; ``made``: a ScalarTensor an op made without a graph (float32/float64 only)."""
    if not made:
        return autograd.tensor(np.array(value, dtype), requires_grad=True)
    with autograd.no_grad():
        tensor = autograd.tensor(np.array(value, dtype)) * 1
    tensor.requires_grad = True  # set directly: requires_grad_() would make its array
    return tensor


def build(program):
    """The program's graph: the leaves, every node, and the sum of the last few nodes (``retain`` and ``hook`` steps
    call retain_grad and register a hook doubling the gradient on a node)."""
    leaf_specs, (vector_dtype, vector_values), index, steps, outputs = program
    leaves = [leaf(dtype, value, made) for dtype, value, made in leaf_specs]
    vector = autograd.tensor(np.array(vector_values, vector_dtype), requires_grad=True)
    nodes = leaves + [vector[index], vector.sum()]
    for step in steps:
        op, a = step[0], nodes[step[1]]
        if op == "peek":
            a.data
            continue
        if op in ("retain", "hook"):
            if differentiable(a) and a.grad_fn is not None:
                a.retain_grad() if op == "retain" else a.register_hook(lambda grad: grad * 2)
            continue
        if len(step) == 2:
            out = {"neg": lambda: -a, "exp": a.exp, "log": a.log, "tanh": a.tanh, "relu": a.relu,
                   "sigmoid": a.sigmoid, "sin": a.sin, "clamp": lambda: a.clamp(-1.0, 1.5),
                   "reshape": lambda: a.reshape((1,)).reshape(())}[op]()
        else:
            _, _, other, swap = step
            b = nodes[other] if type(other) is int else constant(*other)
            if op == "maximum":
                out = autograd.maximum(a, b)
            elif op == "where":
                out = autograd.where(a > b, a, b)
            else:
                x, y = (b, a) if swap else (a, b)  # a number first takes the reflected operator
                out = {"add": lambda: x + y, "sub": lambda: x - y, "mul": lambda: x * y, "div": lambda: x / y,
                       "pow": lambda: x ** y}[op]()
        nodes.append(out)
    total = nodes[-1]
    for node in nodes[-outputs:-1]:
        total = total + node
    return leaves + [vector], nodes, total


def snapshot(tensor):
    """What must agree: the array's type, dtype, shape and values (nan where nan)."""
    return None if tensor is None else (type(tensor.data), tensor.data.dtype, tensor.data.shape, tensor.data.copy())


def differentiable(value) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def values_and_gradients(program) -> dict:
    """Values; gradients by backward, by autograd.grad and with create_graph; second derivatives. Each on a new
    graph, as backward frees it."""
    results = {}
    inputs, nodes, total = build(program)
    results["scalar nodes"] = sum(type(node) is ScalarTensor for node in nodes)
    results["values"] = [snapshot(node) for node in nodes if isinstance(node, Tensor)] + [snapshot(total)]
    if not differentiable(total):
        return results
    total.backward()
    results["backward"] = [snapshot(x.grad) for x in inputs + nodes]  # retain_grad's too
    inputs, nodes, total = build(program)
    results["grad"] = [snapshot(g) for g in autograd.grad(total, inputs, allow_unused=True)]
    inputs, nodes, total = build(program)
    firsts = autograd.grad(total, inputs, create_graph=True, allow_unused=True)
    results["first"] = [snapshot(g) for g in firsts]
    firsts = [g if g.ndim == 0 else g.sum() for g in firsts if differentiable(g)]
    if firsts:
        results["second"] = [snapshot(g) for g in autograd.grad(sum(firsts[1:], firsts[0]), inputs,
                                                                allow_unused=True)]
    return results


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_graphs_match_the_array_path_exactly(program):
    note(repr(program))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # log of negatives, overflow: the same nan and inf on both paths
        fast = values_and_gradients(program)
        with array_path():
            slow = values_and_gradients(program)
    assert slow["scalar nodes"] == 0
    assert fast.keys() == slow.keys()
    for key in fast.keys() - {"scalar nodes"}:
        assert len(fast[key]) == len(slow[key])
        for index, (got, expected) in enumerate(zip(fast[key], slow[key])):
            if got is None or expected is None:
                assert got is expected, (key, index)
            else:
                assert got[:3] == expected[:3], (key, index, got, expected)
                assert np.array_equal(got[3], expected[3], equal_nan=True), (key, index, got, expected)


def test_the_random_graphs_cover_every_op_with_a_scalar_forward():
    # ReluGrad through relu's second derivatives: a new scalar_forward must join UNARY or BINARY (and this set).
    covered = {"Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Tanh", "Relu", "ReluGrad"}
    assert {cls.__name__ for cls in _subclasses(Function) if cls.__dict__.get("scalar_forward")} <= covered


def test_the_random_graphs_reach_the_scalar_path():
    program = ([(np.float32, 0.5, False)], (np.float32, [1.0, 2.0, 3.0]), 0, [("mul", 0, 0, False), ("tanh", 3)], 1)
    assert values_and_gradients(program)["scalar nodes"] == 2


def test_pow_rounds_as_the_array_path():
    # numpy's scalar ** rounds differently from np.power (1 ulp for about a fifth of float32 powers).
    bases = np.linspace(0.05, 5, 200, dtype=np.float32)
    for base in bases:
        x = autograd.tensor(base)
        out = x ** np.float32(1.7)
        assert type(out) is ScalarTensor
        assert out.item() == np.power(np.asarray(base), np.float32(1.7))


def test_the_sum_of_two_0d_gradients_is_an_array():
    # float16 takes the array path: 0-d arrays summed are a numpy scalar, which .data must never be.
    x = autograd.tensor(np.array(1.5, np.float16), requires_grad=True)
    (gradient,) = autograd.grad(x * x, [x])
    assert type(gradient.data) is np.ndarray and gradient.item() == 3.0


# ----------------------------------------------------------------------------- threads
@pytest.fixture
def switch_often():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave inside a few bytecodes
    yield
    sys.setswitchinterval(interval)


def test_a_reader_thread_loses_no_in_place_write(switch_often):
    for _ in range(300):
        x = autograd.tensor(np.float32(1.0), requires_grad=True)
        y = x * 3
        z = y * y  # saves y
        barrier = threading.Barrier(3)

        def write():
            barrier.wait()
            with autograd.no_grad():
                y.add_(1)

        def read(arrays):
            barrier.wait()
            arrays.append(y.data)

        arrays = []
        threads = [threading.Thread(target=write), threading.Thread(target=read, args=(arrays,)),
                   threading.Thread(target=read, args=(arrays,))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert arrays[0] is arrays[1] is y.data  # one array, whoever made it
        assert y.item() == 4.0  # the write landed in it
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            z.backward()  # and its version bump was counted


def test_a_backward_on_numbers_leaves_the_graph_to_another_thread(switch_often):
    w = autograd.tensor(np.float64(0.7), requires_grad=True)
    shared = (w * w).tanh() * w  # one retained graph, differentiated by two threads at once
    (first,) = autograd.grad(shared, [w], create_graph=True, retain_graph=True)
    (expected,) = autograd.grad(first, [w], retain_graph=True)
    seconds = []

    def on_numbers():
        for _ in range(3000):
            shared.backward(retain_graph=True)

    def second_derivatives():
        for _ in range(3000):
            (g,) = autograd.grad(shared, [w], create_graph=True, retain_graph=True)
            seconds.append(autograd.grad(g, [w], retain_graph=True)[0].item())

    threads = [threading.Thread(target=on_numbers), threading.Thread(target=second_derivatives)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seconds == [expected.item()] * 3000


IN_PLACE = {
    "add_": lambda y: y.add_(1.0),
    "mul_": lambda y: y.mul_(2.0),
    "copy_": lambda y: y.copy_(autograd.tensor(np.float32(5.0))),
    "zero_": lambda y: y.zero_(),
    "setitem": lambda y: y.__setitem__((), 5.0),
    "data[...] =": lambda y: y.data.__setitem__(..., 5.0),  # untracked, as PyTorch's .data: backward sees 5
    "data =": lambda y: setattr(y, "data", np.array(5.0, np.float32)),
}


def _after_in_place(change, saved_is_leaf: bool):
    """What backward does after ``change`` modified a saved 0-d tensor: the error, or the gradient."""
    x = autograd.tensor(np.float32(1.5), requires_grad=True)
    if saved_is_leaf:
        with autograd.no_grad():
            y = x * 2  # a ScalarTensor leaf (on the scalar path)
        y.requires_grad = True
        kind = type(y)  # (its first use in a graph makes its array: the accumulator's edge reads its shape)
        out, gradient_of = (y * y).tanh() * 3, y
    else:
        y = x * 2
        kind = type(y)
        out, gradient_of = (y * y).tanh() * 3, x
    with autograd.no_grad():
        change(y)
    try:
        out.backward()
    except RuntimeError as error:
        return kind, str(error)
    return kind, gradient_of.grad.item()


@pytest.mark.parametrize("saved_is_leaf", [False, True])
@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_changes_of_a_saved_scalar_tensor_behave_as_on_a_plain_tensor(name, saved_is_leaf):
    kind, fast = _after_in_place(IN_PLACE[name], saved_is_leaf)
    with array_path():
        plain_kind, slow = _after_in_place(IN_PLACE[name], saved_is_leaf)
    assert kind is ScalarTensor and plain_kind is Tensor
    assert fast == slow
    if name.startswith("data"):
        assert isinstance(fast, float)
    else:
        assert "modified by an in-place operation" in fast
