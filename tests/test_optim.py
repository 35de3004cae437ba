"""Optimizers: hand-computed steps, PyTorch trajectories, groups, state round trips and in-place updates."""

import tracemalloc

import numpy as np
import pytest

import autograd
import optim

# f(p) = 0.5 p^T A p + b^T p for two parameters (a matrix and a vector): gradients differ in size and sign.
A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, -0.3], [0.0, -0.3, 1.0]])
B = np.array([0.3, -1.0, 0.5])
START_W = np.array([[1.0, -2.0, 0.5], [0.2, 0.7, -1.5]])
START_V = np.array([0.4, -0.6, 1.2])


def quadratic(w, v, a=None, b=None):
    """The test objective; torch tensors need the constants ``a`` and ``b`` as torch tensors."""
    a = autograd.tensor(A) if a is None else a
    b = autograd.tensor(B) if b is None else b
    return 0.5 * ((w @ a) * w).sum() + (w * b).sum() + 0.5 * ((v @ a) * v).sum() + (v * b).sum()


def run_gradlab(make, steps, **kwargs):
    w = autograd.tensor(START_W, requires_grad=True)
    v = autograd.tensor(START_V, requires_grad=True)
    optimizer = make([w, v], **kwargs)
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic(w, v).backward()
        optimizer.step()
    return w.data, v.data


def run_torch(torch, make, steps, **kwargs):
    w = torch.tensor(START_W, requires_grad=True)
    v = torch.tensor(START_V, requires_grad=True)
    optimizer = make([w, v], **kwargs)
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic(w, v, torch.tensor(A), torch.tensor(B)).backward()
        optimizer.step()
    return w.detach().numpy(), v.detach().numpy()


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True, eps=1e-6)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6)),
]


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = run_gradlab(getattr(optim, name), 8, **kwargs)
    theirs = run_torch(torch, getattr(torch.optim, name), 8, **kwargs)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)


def one_step(make, grad, param, **kwargs):
    p = autograd.tensor(param, requires_grad=True)
    p.grad = autograd.tensor(grad)
    make([p], **kwargs).step()
    return p.data


def test_sgd_hand_computed():
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 4.0])
    np.testing.assert_allclose(one_step(optim.SGD, g, p, lr=0.1), [0.95, -2.4])
    # Weight decay adds wd * p to the gradient; maximize flips the gradient.
    np.testing.assert_allclose(one_step(optim.SGD, g, p, lr=0.1, weight_decay=0.5), [0.9, -2.3])
    np.testing.assert_allclose(one_step(optim.SGD, g, p, lr=0.1, maximize=True), [1.05, -1.6])


def test_sgd_momentum_two_steps_hand_computed():
    p = autograd.tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    p.grad = autograd.tensor([2.0])
    optimizer.step()  # first step: buffer = g = 2 (no dampening), p = 1 - 0.2
    p.grad = autograd.tensor([1.0])
    optimizer.step()  # buffer = 0.9 * 2 + 0.5 * 1 = 2.3, p = 0.8 - 0.23
    np.testing.assert_allclose(p.data, [0.57])
    np.testing.assert_allclose(optimizer.state[p]["momentum_buffer"].data, [2.3])


def test_adaptive_first_steps_hand_computed():
    p = np.array([1.0, -2.0, 0.5])
    g = np.array([0.5, -4.0, 0.0])
    # Adam's bias-corrected first step moves every coordinate by lr * g / (|g| + eps).
    np.testing.assert_allclose(one_step(optim.Adam, g, p, lr=0.1), p - 0.1 * g / (np.abs(g) + 1e-8))
    np.testing.assert_allclose(one_step(optim.Adagrad, g, p, lr=0.1), p - 0.1 * g / (np.abs(g) + 1e-10))
    expected = p - 0.01 * g / (np.sqrt(0.01) * np.abs(g) + 1e-8)
    np.testing.assert_allclose(one_step(optim.RMSprop, g, p), expected)
    # AdamW shrinks the parameters first, independently of the gradient.
    np.testing.assert_allclose(one_step(optim.AdamW, np.zeros(3), p, lr=0.1, weight_decay=0.5), p * 0.95)


@pytest.mark.parametrize("make, kwargs, message", [
    (optim.SGD, dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (optim.SGD, dict(momentum=-0.1), "Invalid momentum value: -0.1"),
    (optim.SGD, dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (optim.Adam, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (optim.Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (optim.AdamW, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    (optim.Adagrad, dict(lr_decay=-1), "Invalid lr_decay value: -1"),
])
def test_bad_hyperparameters_raise(make, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make([autograd.zeros(2, requires_grad=True)], **kwargs)


def test_bad_params_raise():
    w = autograd.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2])


def test_param_groups_use_their_own_options():
    a = autograd.ones(2, requires_grad=True)
    b = autograd.ones(2, requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert optimizer.param_groups[1]["momentum"] == 0.9
    a.grad = autograd.ones(2)
    b.grad = autograd.ones(2)
    optimizer.step()
    np.testing.assert_allclose(a.data, [0.9, 0.9])
    np.testing.assert_allclose(b.data, [0.5, 0.5])
    c = autograd.ones(1, requires_grad=True)
    optimizer.add_param_group({"params": [c], "lr": 1.0})
    assert optimizer.param_groups[2]["lr"] == 1.0 and optimizer.param_groups[2]["momentum"] == 0.9


def test_zero_grad_and_parameters_without_grad():
    a = autograd.ones(2, requires_grad=True)
    b = autograd.ones(2, requires_grad=True)
    optimizer = optim.Adam([a, b])
    a.grad = autograd.ones(2)
    optimizer.step()
    assert b not in optimizer.state and np.all(b.data == 1)
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])
    optimizer.zero_grad()
    assert a.grad is None


def test_parameter_sets_are_refused_because_their_order_changes_between_runs():
    a, b = autograd.ones(2, requires_grad=True), autograd.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({a, b}, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a, b}}], lr=0.1)


def test_zero_grad_in_place_detaches_a_gradient_built_with_create_graph():
    p = autograd.tensor([1.0, 2.0], requires_grad=True)
    (p.grad,) = autograd.grad((p * p).sum(), [p], create_graph=True)
    assert p.grad.grad_fn is not None
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad.grad_fn is None and not p.grad.requires_grad
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])


def test_step_is_in_place_builds_no_graph_and_bumps_version():
    p = autograd.tensor([1.0, 2.0], requires_grad=True)
    array, version = p.data, p._version[0]
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    loss = optimizer.step(lambda: (p * p).sum().backward() or (p * p).sum())
    assert loss.requires_grad
    assert p.data is array and p.grad_fn is None and p.requires_grad
    assert p._version[0] == version + 1
    # A graph that saved p before the update refuses to run backward with the new values.
    y = (p * p).sum()
    optimizer.step()
    with pytest.raises(RuntimeError, match="version"):
        y.backward()


@pytest.mark.parametrize("make, kwargs", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.Adam, dict(amsgrad=True, weight_decay=0.1)),
    (optim.AdamW, dict()),
    (optim.RMSprop, dict(momentum=0.9, centered=True)),
    (optim.Adagrad, dict(weight_decay=0.1)),
])
def test_step_allocates_nothing_once_state_exists(make, kwargs):
    p = autograd.zeros(20_000, requires_grad=True)
    p.grad = autograd.ones(20_000)
    optimizer = make([p], **kwargs)
    optimizer.step()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        optimizer.step()
        optimizer.step()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes / 4, f"{make.__name__}.step allocated {peak} bytes"


def make_trained(make, steps, **kwargs):
    w = autograd.tensor(START_W, requires_grad=True)
    v = autograd.tensor(START_V, requires_grad=True)
    optimizer = make([{"params": [w]}, {"params": [v], "lr": 0.02}], **kwargs)
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic(w, v).backward()
        optimizer.step()
    return (w, v), optimizer


@pytest.mark.parametrize("make, kwargs", [
    (optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.Adam, dict(lr=0.05, amsgrad=True)),
    (optim.RMSprop, dict(centered=True, momentum=0.5)),
    (optim.Adagrad, dict(lr=0.1)),
])
def test_state_dict_round_trip_continues_the_same_trajectory(make, kwargs, tmp_path):
    (w, v), optimizer = make_trained(make, 3, **kwargs)
    state = optimizer.state_dict()
    assert sorted(state["state"]) == [0, 1] and state["param_groups"][1]["params"] == [1]
    if hasattr(autograd, "save"):
        autograd.save(state, tmp_path / "optimizer.pt")
        state = autograd.load(tmp_path / "optimizer.pt")
    copies = [autograd.tensor(w.data, requires_grad=True), autograd.tensor(v.data, requires_grad=True)]
    restored = make([{"params": [copies[0]]}, {"params": [copies[1]]}], **kwargs)
    restored.load_state_dict(state)
    assert restored.param_groups[1]["lr"] == 0.02
    for params, opt in (((w, v), optimizer), (copies, restored)):
        for _ in range(3):
            opt.zero_grad()
            quadratic(*params).backward()
            opt.step()
    np.testing.assert_array_equal(copies[0].data, w.data)
    np.testing.assert_array_equal(copies[1].data, v.data)


def test_load_state_dict_rejects_a_different_layout():
    _, optimizer = make_trained(optim.SGD, 1, lr=0.1)
    other = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        other.load_state_dict(optimizer.state_dict())


@pytest.mark.parametrize("entry, message", [
    (np.zeros(4), r"state\[1\]\['momentum_buffer'\] has shape \(4,\), but its parameter has shape \(3,\)"),
    (np.array(["a", "b", "c"]), r"state\[1\]\['momentum_buffer'\] cannot be restored as <U1: its dtype <U1 is not"),
    (np.full(3, 1j), r"state\[1\]\['momentum_buffer'\] cannot be restored as float64: it holds complex values"),
])
def test_a_bad_last_state_entry_leaves_the_optimizer_unchanged_and_is_named(entry, message):
    (w, v), optimizer = make_trained(optim.SGD, 2, lr=0.1, momentum=0.9)
    buffers = {param: state["momentum_buffer"] for param, state in optimizer.state.items()}
    values = {param: buffer.data.copy() for param, buffer in buffers.items()}
    state = optimizer.state_dict()
    state["param_groups"] = [{**group, "lr": 0.5} for group in state["param_groups"]]
    state["state"] = {0: {"momentum_buffer": np.full((2, 3), 9.0)}, 1: {"momentum_buffer": entry}}
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(state)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.02]
    for param, buffer in buffers.items():
        assert optimizer.state[param]["momentum_buffer"] is buffer
        np.testing.assert_array_equal(buffer.data, values[param])


def test_state_for_a_parameter_no_group_lists_is_refused_before_anything_changes():
    (w, v), optimizer = make_trained(optim.SGD, 1, lr=0.1, momentum=0.9)
    state = optimizer.state_dict()
    state["state"] = {0: {"momentum_buffer": np.zeros((2, 3))}, 7: {"momentum_buffer": np.zeros(3)}}
    with pytest.raises(ValueError, match="state for parameter 7, which none of its parameter groups lists"):
        optimizer.load_state_dict(state)
    assert np.any(optimizer.state[w]["momentum_buffer"].data)


def test_trains_float32_parameters_in_float32():
    p = autograd.randn(5, requires_grad=True)
    optimizer = optim.Adam([p], lr=0.1)
    for _ in range(50):
        optimizer.zero_grad()
        ((p - 3.0) * (p - 3.0)).sum().backward()
        optimizer.step()
    assert p.dtype == np.float32 and optimizer.state[p]["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(p.data, 3.0, atol=0.2)


def test_sgd_updates_parameters_that_share_memory_one_after_the_other(monkeypatch):
    # Tied weights (two Parameters over one array): PyTorch subtracts both steps. Spread over threads, the blocks of
    # the two would subtract from the same elements at once, and one of the updates could be lost.
    from autograd.kernels import optimizers, parallel

    sections = []
    shared = parallel.in_batch_chunks
    monkeypatch.setattr(parallel, "in_batch_chunks", lambda work, batch, *sizes: sections.append(batch)
                        or shared(work, batch, *sizes))
    size = 3 * optimizers.SHARED_BLOCK
    memory = np.zeros(size, np.float32)
    tied = [autograd.zeros(size, requires_grad=True) for _ in range(2)]
    for p in tied:
        p.data = memory
        p.grad = autograd.ones(size)
    optim.SGD(tied, lr=1.0).step()
    np.testing.assert_array_equal(memory, np.full(size, -2.0, np.float32))
    assert sections == []  # in the calling thread
    apart = [autograd.zeros(size, requires_grad=True) for _ in range(2)]
    for p in apart:
        p.grad = autograd.ones(size)
    optim.SGD(apart, lr=1.0).step()
    assert len(sections) == 1  # parameters of their own memory go to the helper threads together
    assert not optimizers._overlapping([memory[:size // 2], memory[size // 2:]])  # disjoint views of one array
    assert optimizers._overlapping([memory[1:], memory[:-1]])


def test_a_gradient_of_the_wrong_shape_stops_the_step_before_any_update():
    first, second = (autograd.zeros(4, requires_grad=True) for _ in range(2))
    optimizer = optim.SGD([{"params": [first]}, {"params": [second]}], lr=0.1, momentum=0.9)
    first.grad, second.grad = autograd.ones(4), autograd.ones(3)
    with pytest.raises(RuntimeError, match=r"SGD.step: a parameter of shape \(4,\) has a gradient of shape \(3,\)"):
        optimizer.step()
    np.testing.assert_array_equal(first.data, np.zeros(4))
    assert not optimizer.state.get(first)  # no momentum buffer that holds nothing
    second.grad = autograd.ones(4)
    optimizer.step()  # a first step: the buffers start as the gradient (torch: p = -0.1)
    np.testing.assert_allclose(first.data, np.full(4, -0.1))
    np.testing.assert_allclose(second.data, np.full(4, -0.1))


def test_sgd_starts_a_momentum_buffer_saved_as_none():
    # PyTorch's SGD saves momentum_buffer None for steps without momentum; with momentum the next step starts it.
    p = autograd.zeros(3, requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    state = optimizer.state_dict()
    state["state"] = {0: {"momentum_buffer": None}}
    optimizer.load_state_dict(state)
    p.grad = autograd.ones(3)
    optimizer.step()
    np.testing.assert_allclose(p.data, np.full(3, -0.1))
    np.testing.assert_allclose(optimizer.state[p]["momentum_buffer"].data, np.ones(3))
