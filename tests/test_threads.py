"""Several threads using gradlab at once: grad mode, graph recording and gradient accumulation are per thread.

Each test runs real threads that interleave (a barrier starts them together, and numpy releases the GIL in
its kernels) and checks every thread's results against values computed alone.
"""

import multiprocessing
import os
import threading

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import optim
from autograd.audit import record_inputs

ROUNDS = 200


def _run_together(*targets) -> None:
    """Run each target in its own thread, started together; re-raise the first failure."""
    barrier = threading.Barrier(len(targets))
    failures = []

    def run(target):
        barrier.wait()
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread did not finish"
    if failures:
        raise failures[0]


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    weight = autograd.tensor(np.linspace(-1, 1, 50), requires_grad=True)
    # Large enough that numpy releases the GIL inside no_grad, so the training thread runs meanwhile.
    batch = autograd.tensor(np.linspace(-1, 1, 200_000))

    def train():
        for _ in range(ROUNDS):
            loss = (weight * weight).tanh().sum()
            assert loss.requires_grad and loss.grad_fn is not None
            (gradient,) = autograd.grad(loss, weight)
            np.testing.assert_allclose(gradient.data, 2 * weight.data / np.cosh(weight.data ** 2) ** 2)

    def evaluate():
        for _ in range(ROUNDS):
            with autograd.no_grad():
                assert not autograd.is_grad_enabled()
                assert not (batch * weight[0]).exp().sum().requires_grad

    _run_together(train, evaluate, evaluate)
    assert autograd.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled_and_leaves_the_caller_alone():
    seen = []
    with autograd.no_grad():
        worker = threading.Thread(target=lambda: seen.append(autograd.is_grad_enabled()))
        worker.start()
        worker.join()
        assert not autograd.is_grad_enabled()
    assert seen == [True]

    def switch_off_for_good():
        autograd.set_grad_enabled(False)

    worker = threading.Thread(target=switch_off_for_good)
    worker.start()
    worker.join()
    assert autograd.is_grad_enabled()


def test_one_no_grad_object_shared_by_threads_restores_each_threads_mode():
    shared = autograd.no_grad()
    modes = {}

    def use(name, outer):
        with autograd.set_grad_enabled(outer):
            for _ in range(ROUNDS):
                with shared:
                    assert not autograd.is_grad_enabled()
                assert autograd.is_grad_enabled() == outer
            modes[name] = autograd.is_grad_enabled()

    _run_together(lambda: use("on", True), lambda: use("off", False))
    assert modes == {"on": True, "off": False}


def test_threads_training_and_evaluating_models_at_once():
    # Two threads train their own small CNN, a third evaluates one of them under no_grad all the while; each
    # trained model must end exactly where the same training alone ends.
    def make_model(seed):
        autograd.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 8 * 8, 3))

    images = autograd.tensor(np.random.default_rng(0).standard_normal((16, 1, 8, 8)).astype(np.float32))
    labels = autograd.tensor(np.arange(16) % 3)

    def train(model, steps=15):
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(steps):
            optimizer.zero_grad()
            F.cross_entropy(model(images), labels).backward()
            optimizer.step()

    alone = [make_model(seed) for seed in (1, 2)]
    for model in alone:
        train(model)
    together = [make_model(seed) for seed in (1, 2)]
    watched = make_model(3)
    watched.eval()
    stop = threading.Event()

    def evaluate():
        while not stop.is_set():
            with autograd.no_grad():
                assert not watched(images).requires_grad

    evaluator = threading.Thread(target=evaluate)
    evaluator.start()
    try:
        _run_together(*[lambda model=model: train(model) for model in together])
    finally:
        stop.set()
        evaluator.join(timeout=60)
    for expected, actual in zip(alone, together):
        for (name, value), (_, other) in zip(expected.state_dict().items(), actual.state_dict().items()):
            np.testing.assert_allclose(other.data, value.data, rtol=1e-5, atol=1e-6, err_msg=name)


def test_backward_from_several_threads_into_shared_parameters_adds_every_gradient():
    weight = autograd.zeros(1000, dtype=autograd.float64, requires_grad=True)
    inputs = autograd.tensor(np.arange(1000.0))

    def accumulate():
        for _ in range(ROUNDS):
            (weight * inputs).sum().backward()

    _run_together(accumulate, accumulate, accumulate)
    np.testing.assert_array_equal(weight.grad.data, 3 * ROUNDS * inputs.data)


def test_record_inputs_keeps_only_the_calling_threads_ops():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    started, done = threading.Event(), threading.Event()

    def other_thread():
        started.wait()
        for _ in range(ROUNDS):
            (x * 2).sum()
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with record_inputs() as nodes:
        started.set()
        y = (x + 1).exp()
        done.wait(timeout=60)
    worker.join()
    assert [node.name() for node in nodes] == ["Add", "Exp"]
    assert y.grad_fn is nodes[-1]


@pytest.mark.parametrize("mode", [True, False])
def test_grad_mode_decorators_apply_in_the_thread_that_calls(mode):
    @autograd.set_grad_enabled(mode)
    def inside():
        return autograd.is_grad_enabled()

    results = []
    with autograd.set_grad_enabled(not mode):
        worker = threading.Thread(target=lambda: results.append((inside(), autograd.is_grad_enabled())))
        worker.start()
        worker.join()
        assert autograd.is_grad_enabled() == (not mode)
    assert results == [(mode, True)]


def _backward_in_child():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    return x.grad.data.tolist()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_a_gradient_is_being_accumulated_can_accumulate():
    # As if another thread were adding into a .grad at the moment a data-loader worker is forked: the child
    # inherits the accumulation lock held, by a thread it does not have.
    from autograd import engine

    with engine._accumulating:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            result = pool.apply_async(_backward_in_child).get(timeout=60)
    assert result == [2.0, 4.0]
