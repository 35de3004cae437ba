"""The optimizers and schedulers added for PyTorch parity: hand-computed steps, step-by-step trajectories
against torch.optim, state layouts, parameter groups, L-BFGS on Rosenbrock, and schedulers' sequences."""

import math

import numpy as np
import pytest

import autograd
import optim
from optim import lr_scheduler

# f(w, v) = 0.5 w^T A w + b^T w + the same in v, with a matrix and a vector parameter.
A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, -0.3], [0.0, -0.3, 1.0]])
B = np.array([0.3, -1.0, 0.5])
START_W = np.array([[1.0, -2.0, 0.5], [0.2, 0.7, -1.5]])
START_V = np.array([0.4, -0.6, 1.2])

CONFIGS = [
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),  # beta2 = 0.9: rectified from step 6 on
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.6), weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.7, 0.9), eps=1e-4, weight_decay=0.1, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=3, weight_decay=0.1, maximize=True)),  # averaging from step 4
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
]


def trajectory(module, make, steps, **kwargs):
    """The parameters after each of ``steps`` steps on the quadratic, with ``module`` gradlab or torch."""
    tensor = autograd.tensor if module is autograd else module.tensor
    w, v = tensor(START_W, requires_grad=True), tensor(START_V, requires_grad=True)
    a, b = tensor(A), tensor(B)
    optimizer = make([w, v], **kwargs)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 0.5 * ((w @ a) * w).sum() + (w * b).sum() + 0.5 * ((v @ a) * v).sum() + (v * b).sum()
        loss.backward()
        optimizer.step()
        history.append(np.concatenate([w.detach().numpy().ravel(), v.detach().numpy().ravel()])
                       if module is not autograd else np.concatenate([w.data.ravel(), v.data.ravel()]))
    return np.array(history), optimizer


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)])
def test_every_step_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours, optimizer = trajectory(autograd, getattr(optim, name), 10, **kwargs)
    # torch keeps scalar state (NAdam's mu_product, ASGD's eta and mu) in the default dtype; gradlab in float64.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        theirs, reference = trajectory(torch, getattr(torch.optim, name), 10, **kwargs)
    finally:
        torch.set_default_dtype(previous)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # The same state entries and group options as PyTorch's (minus its device/compile flags).
    assert set(optimizer.state_dict()["state"][0]) == set(reference.state_dict()["state"][0])
    flags = {"foreach", "capturable", "differentiable", "fused"}
    assert set(optimizer.param_groups[0]) == set(reference.param_groups[0]) - flags


def one_step(make, grad, param, **kwargs):
    p = autograd.tensor(param, requires_grad=True)
    p.grad = autograd.tensor(grad)
    optimizer = make([p], **kwargs)
    optimizer.step()
    return p.data, optimizer.state[p]


P = np.array([1.0, -2.0, 0.5])
G = np.array([0.5, -4.0, 0.25])


def test_nadam_first_step_hand_computed():
    mu1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96 ** 0.008)
    # After one step m = 0.1 g and sqrt(v / (1 - beta2)) = |g|.
    denominator = np.abs(G) + 1e-8
    expected = P - 2e-3 * (1 - mu1) / (1 - mu1) * G / denominator - 2e-3 * mu2 / (1 - mu1 * mu2) * 0.1 * G / denominator
    param, state = one_step(optim.NAdam, G, P)
    np.testing.assert_allclose(param, expected, rtol=1e-12)
    assert state["step"] == 1 and state["mu_product"] == pytest.approx(mu1)


def test_radam_is_momentum_sgd_until_rectified():
    # rho_t <= 5 at the first steps: the update is lr times the bias-corrected average, which is g itself.
    param, _ = one_step(optim.RAdam, G, P, lr=0.1)
    np.testing.assert_allclose(param, P - 0.1 * G, rtol=1e-12)


def test_adadelta_first_step_hand_computed():
    # v = 0.1 g^2; delta = sqrt(eps) / sqrt(0.1 g^2 + eps) * g.
    expected = P - np.sqrt(1e-6) / np.sqrt(0.1 * G ** 2 + 1e-6) * G
    param, state = one_step(optim.Adadelta, G, P)
    np.testing.assert_allclose(param, expected, rtol=1e-12)
    np.testing.assert_allclose(state["acc_delta"].data, 0.1 * (P - expected) ** 2, rtol=1e-12)


def test_adamax_first_step_hand_computed():
    # m = 0.1 g, u = |g| + eps, and the bias correction divides by 0.1.
    param, state = one_step(optim.Adamax, G, P, lr=0.1)
    np.testing.assert_allclose(param, P - 0.1 * G / (np.abs(G) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(state["exp_inf"].data, np.abs(G) + 1e-8)


def test_asgd_first_steps_hand_computed():
    p = autograd.tensor(P, requires_grad=True)
    optimizer = optim.ASGD([p], lr=0.1, lambd=0.5, alpha=1.0, t0=0)
    p.grad = autograd.tensor(G)
    optimizer.step()
    first = P * (1 - 0.05) - 0.1 * G
    np.testing.assert_allclose(p.data, first, rtol=1e-12)
    np.testing.assert_allclose(optimizer.state[p]["ax"].data, first)  # mu was 1: ax copies p
    eta = 0.1 / (1 + 0.5 * 0.1 * 1)
    assert optimizer.state[p]["eta"] == pytest.approx(eta) and optimizer.state[p]["mu"] == 1.0
    optimizer.step()
    second = first * (1 - 0.5 * eta) - eta * G
    np.testing.assert_allclose(p.data, second, rtol=1e-12)
    assert optimizer.state[p]["mu"] == pytest.approx(0.5)  # 1 / max(1, 2 - t0)


def test_param_groups_take_defaults_and_their_own_options():
    a, b = autograd.tensor(np.ones(3), requires_grad=True), autograd.tensor(np.ones(3), requires_grad=True)
    optimizer = optim.Adamax([{"params": [a]}, {"params": [b], "lr": 0.5, "betas": (0.5, 0.9)}], lr=0.1)
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999) and optimizer.param_groups[1]["eps"] == 1e-8
    a.grad, b.grad = autograd.tensor(G), autograd.tensor(G)
    optimizer.step()
    np.testing.assert_allclose(a.data, 1 - 0.1 * G / (np.abs(G) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(b.data, 1 - 0.5 * G / (np.abs(G) + 1e-8), rtol=1e-12)
    c = autograd.ones(1, requires_grad=True)
    optimizer.add_param_group({"params": c, "weight_decay": 0.3})
    assert optimizer.param_groups[2]["lr"] == 0.1 and optimizer.param_groups[2]["weight_decay"] == 0.3


@pytest.mark.parametrize("make, kwargs, message", [
    (optim.NAdam, dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (optim.RAdam, dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (optim.Adadelta, dict(rho=1.5), "Invalid rho value: 1.5"),
    (optim.Adamax, dict(eps=-1), "Invalid epsilon value: -1"),
    (optim.ASGD, dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (optim.LBFGS, dict(line_search_fn="armijo"), "only 'strong_wolfe'"),
])
def test_bad_hyperparameters_raise(make, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make([autograd.zeros(2, requires_grad=True)], **kwargs)


def test_state_dict_round_trip_continues_the_same_trajectory(tmp_path):
    first, _ = trajectory(autograd, optim.NAdam, 6, lr=0.05)
    w, v = autograd.tensor(START_W, requires_grad=True), autograd.tensor(START_V, requires_grad=True)
    optimizer = optim.NAdam([w, v], lr=0.05)
    for step in range(6):
        if step == 3:  # restart from a checkpoint halfway
            autograd.save(optimizer.state_dict(), tmp_path / "state")
            optimizer = optim.NAdam([w, v], lr=0.05)
            optimizer.load_state_dict(autograd.load(tmp_path / "state"))
        optimizer.zero_grad()
        (0.5 * ((w @ autograd.tensor(A)) * w).sum() + (w * autograd.tensor(B)).sum()
         + 0.5 * ((v @ autograd.tensor(A)) * v).sum() + (v * autograd.tensor(B)).sum()).backward()
        optimizer.step()
    np.testing.assert_allclose(np.concatenate([w.data.ravel(), v.data.ravel()]), first[-1], rtol=1e-12)


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def lbfgs_run(module, line_search_fn, steps=3, **kwargs):
    tensor = autograd.tensor if module is autograd else module.tensor
    x = tensor(np.array([-1.5, 2.0]), requires_grad=True)
    optimizer = (optim if module is autograd else module.optim).LBFGS([x], line_search_fn=line_search_fn, **kwargs)
    evaluations = []

    def closure():
        optimizer.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        evaluations.append(float(loss.detach()))
        return loss

    losses = [float(optimizer.step(closure).detach()) for _ in range(steps)]
    point = x.data if module is autograd else x.detach().numpy()
    return np.array(point), losses, evaluations, optimizer


@pytest.mark.parametrize("line_search_fn, kwargs", [("strong_wolfe", {}), (None, dict(lr=0.05, history_size=4))])
def test_lbfgs_on_rosenbrock_matches_torch(line_search_fn, kwargs):
    torch = pytest.importorskip("torch")
    ours, our_losses, our_evaluations, optimizer = lbfgs_run(autograd, line_search_fn, **kwargs)
    theirs, their_losses, their_evaluations, reference = lbfgs_run(torch, line_search_fn, **kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(our_evaluations, their_evaluations, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-9, atol=1e-12)
    state, their_state = optimizer.state_dict()["state"][0], reference.state_dict()["state"][0]
    assert set(state) <= set(their_state) and state["n_iter"] == their_state["n_iter"]


def test_lbfgs_with_line_search_finds_the_rosenbrock_minimum():
    point, _, evaluations, optimizer = lbfgs_run(autograd, "strong_wolfe", steps=5)
    np.testing.assert_allclose(point, [1.0, 1.0], atol=1e-4)
    assert evaluations[-1] < 1e-9
    assert optimizer.state[optimizer.param_groups[0]["params"][0]]["func_evals"] == len(evaluations)


def test_lbfgs_state_round_trip_continues_the_same_iterations(tmp_path):
    def run(checkpoint_at):
        x = autograd.tensor(np.array([-1.5, 2.0]), requires_grad=True)
        optimizer = optim.LBFGS([x], history_size=5)

        def closure():
            optimizer.zero_grad()
            loss = rosenbrock(x)
            loss.backward()
            return loss

        for step in range(4):
            if step == checkpoint_at:
                autograd.save(optimizer.state_dict(), tmp_path / "lbfgs")
                optimizer = optim.LBFGS([x], history_size=5)
                optimizer.load_state_dict(autograd.load(tmp_path / "lbfgs"))
            optimizer.step(closure)
        return x.data

    np.testing.assert_allclose(run(checkpoint_at=2), run(checkpoint_at=None), rtol=1e-12)


def test_lbfgs_refuses_groups_and_a_missing_closure():
    a, b = autograd.zeros(2, requires_grad=True), autograd.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([a]).step(None)


# ----------------------------------------------------------------- schedulers
def sequence(scheduler, epochs):
    """The learning rates of epochs 0..epochs-1 and, with momentum cycling, the momenta."""
    optimizer = scheduler.optimizer
    lrs, momenta = [scheduler.get_last_lr()[0]], [optimizer.param_groups[0]["momentum"]]
    for _ in range(epochs - 1):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(optimizer.param_groups[0]["momentum"])
    return np.array(lrs), np.array(momenta)


BUILDERS = {
    "MultiplicativeLR": lambda m, opt: m.MultiplicativeLR(opt, lambda epoch: 0.9 if epoch % 2 else 1.05),
    "ConstantLR": lambda m, opt: m.ConstantLR(opt, factor=0.25, total_iters=4),
    "PolynomialLR": lambda m, opt: m.PolynomialLR(opt, total_iters=8, power=2.0),
    "CosineAnnealingWarmRestarts": lambda m, opt: m.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.01),
    "CyclicLR": lambda m, opt: m.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5),
    "CyclicLR-triangular2": lambda m, opt: m.CyclicLR(opt, 0.01, 0.1, step_size_up=2, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, opt: m.CyclicLR(opt, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.9),
    "CyclicLR-scale_fn": lambda m, opt: m.CyclicLR(opt, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.95 ** x,
                                                   scale_mode="iterations", cycle_momentum=False),
    "ChainedScheduler": lambda m, opt: m.ChainedScheduler([m.ConstantLR(opt, factor=0.5, total_iters=3),
                                                           m.ExponentialLR(opt, gamma=0.9),
                                                           m.PolynomialLR(opt, total_iters=20)]),
    "SequentialLR": lambda m, opt: m.SequentialLR(opt, [m.ConstantLR(opt, factor=0.1, total_iters=2),
                                                        m.PolynomialLR(opt, total_iters=6, power=0.5),
                                                        m.CosineAnnealingWarmRestarts(opt, T_0=4)],
                                                  milestones=[3, 9]),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_scheduler_sequence_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours = sequence(BUILDERS[name](lr_scheduler, optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1,
                                                            momentum=0.9)), 25)
    theirs = sequence(BUILDERS[name](torch.optim.lr_scheduler,
                                     torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)), 25)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-16)


def test_scheduler_closed_forms():
    optimizer = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1)
    lrs, _ = sequence(lr_scheduler.PolynomialLR(optimizer, total_iters=4, power=2.0), 7)
    np.testing.assert_allclose(lrs, [0.1 * (1 - min(t, 4) / 4) ** 2 for t in range(7)], atol=1e-16)
    optimizer = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1)
    lrs, _ = sequence(lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2), 7)
    # Cycles of 2 then 4 epochs, each starting again at the base rate.
    t_cur, t_i = [0, 1, 0, 1, 2, 3, 0], [2, 2, 4, 4, 4, 4, 8]
    np.testing.assert_allclose(lrs, [0.05 * (1 + math.cos(math.pi * c / i)) for c, i in zip(t_cur, t_i)])
    optimizer = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    lrs, momenta = sequence(lr_scheduler.CyclicLR(optimizer, 0.0, 0.4, step_size_up=2), 6)
    np.testing.assert_allclose(lrs, [0.0, 0.2, 0.4, 0.2, 0.0, 0.2], atol=1e-15)
    np.testing.assert_allclose(momenta, [0.9, 0.85, 0.8, 0.85, 0.9, 0.85])


def test_cyclic_lr_cycles_adams_beta1_as_torch_does():
    torch = pytest.importorskip("torch")

    def betas(module, optimizer):
        scheduler = module.CyclicLR(optimizer, 0.001, 0.01, step_size_up=2, base_momentum=0.85, max_momentum=0.95)
        values = []
        for _ in range(6):
            values.append((scheduler.get_last_lr()[0], *optimizer.param_groups[0]["betas"]))
            optimizer.step()
            scheduler.step()
        return np.array(values)

    ours = betas(lr_scheduler, optim.Adam([autograd.zeros(2, requires_grad=True)]))
    theirs = betas(torch.optim.lr_scheduler, torch.optim.Adam([torch.zeros(2, requires_grad=True)]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[2, 1] == pytest.approx(0.85) and ours[2, 2] == 0.999  # beta1 is lowest at the peak rate


@pytest.mark.parametrize("name", ["CyclicLR", "ChainedScheduler", "CosineAnnealingWarmRestarts", "MultiplicativeLR"])
def test_scheduler_state_dict_round_trips(name, tmp_path):
    optimizer = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    scheduler = BUILDERS[name](lr_scheduler, optimizer)
    for _ in range(5):
        scheduler.step()
    autograd.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "state")
    saved = autograd.load(tmp_path / "state")
    restored_optimizer = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    restored = BUILDERS[name](lr_scheduler, restored_optimizer)
    restored_optimizer.load_state_dict(saved["optimizer"])
    restored.load_state_dict(saved["scheduler"])
    for _ in range(8):
        scheduler.step()
        restored.step()
        assert restored.get_last_lr() == pytest.approx(scheduler.get_last_lr(), rel=1e-14)
