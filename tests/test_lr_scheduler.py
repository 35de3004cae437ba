"""Learning-rate schedulers: sequences against their closed forms and against PyTorch."""

import math

import numpy as np
import pytest

import autograd
import optim
from optim import lr_scheduler


def make_optimizer(make=optim.SGD, lr=0.1, **kwargs):
    return make([autograd.zeros(2, requires_grad=True)], lr=lr, **kwargs)


def sequence(scheduler, epochs):
    """Learning rates seen by epochs 0..epochs-1 (the value after construction, then after each step)."""
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs - 1):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return np.array(lrs)


def test_step_lr_formula():
    lrs = sequence(lr_scheduler.StepLR(make_optimizer(), step_size=3, gamma=0.5), 10)
    np.testing.assert_allclose(lrs, [0.1 * 0.5 ** (epoch // 3) for epoch in range(10)], rtol=1e-14)


def test_multistep_lr_formula_with_repeated_milestone():
    lrs = sequence(lr_scheduler.MultiStepLR(make_optimizer(), milestones=[5, 2, 5], gamma=0.1), 8)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4, 1e-4], rtol=1e-12)


def test_exponential_lr_formula():
    lrs = sequence(lr_scheduler.ExponentialLR(make_optimizer(), gamma=0.9), 12)
    np.testing.assert_allclose(lrs, 0.1 * 0.9 ** np.arange(12), rtol=1e-12)


def test_cosine_annealing_formula_over_more_than_a_period():
    T_max, eta_min = 7, 0.01
    lrs = sequence(lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=T_max, eta_min=eta_min), 20)
    expected = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2 for t in range(20)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-10)


def test_linear_lr_formula():
    lrs = sequence(lr_scheduler.LinearLR(make_optimizer(), start_factor=0.25, end_factor=0.75, total_iters=4), 8)
    factors = [0.25 + 0.5 * min(t, 4) / 4 for t in range(8)]
    np.testing.assert_allclose(lrs, 0.1 * np.array(factors), rtol=1e-12)


def test_lambda_lr_uses_one_rule_per_group():
    a, b = autograd.zeros(1, requires_grad=True), autograd.zeros(1, requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    scheduler = lr_scheduler.LambdaLR(optimizer, [lambda t: 1 / (t + 1), lambda t: 0.5 ** t])
    for _ in range(3):
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.1 / 4, 0.125])
    assert "lr_lambdas" not in scheduler.state_dict()


def test_one_cycle_formula_and_momentum():
    optimizer = make_optimizer(momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, pct_start=0.3)
    lrs, momenta = [], []
    for _ in range(10):
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        if len(lrs) < 10:
            scheduler.step()
    # Warm-up from max_lr / 25 to max_lr over steps 0..2, then cosine down to max_lr / 25 / 1e4 at step 9.
    def cosine(start, end, fraction):
        return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2
    expected = [cosine(0.04, 1.0, t / 2) for t in range(3)] + [cosine(1.0, 4e-6, (t - 2) / 7) for t in range(3, 10)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert momenta[0] == pytest.approx(0.95) and momenta[2] == pytest.approx(0.85) and momenta[9] == pytest.approx(0.95)
    scheduler.step()  # PyTorch tolerates one step past the end
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        scheduler.step()


def test_sequential_lr_warmup_then_cosine():
    optimizer = make_optimizer()
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3)
    cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
    lrs = sequence(lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[3]), 9)
    expected = ([0.1 * (0.1 + 0.9 * t / 3) for t in range(3)]
                + [0.05 * (1 + math.cos(math.pi * t / 5)) for t in range(6)])
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


def test_reduce_on_plateau():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1, cooldown=1, min_lr=0.02)
    lrs = []
    for loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8]:
        scheduler.step(loss)
        lrs.append(scheduler.get_last_lr()[0])
    # Two bad epochs reduce; the cooldown epoch after a reduction doesn't count; min_lr caps the decay.
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025])
    scheduler.step(0.8)
    scheduler.step(0.8)
    assert scheduler.get_last_lr() == pytest.approx([0.02])
    with pytest.raises(ValueError, match="Factor|factor"):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.5)


@pytest.mark.parametrize("name", ["CosineAnnealingLR", "MultiStepLR", "OneCycleLR", "SequentialLR"])
def test_state_dict_round_trips_through_a_checkpoint(name, tmp_path):
    build = BUILDERS[name]
    optimizer = make_optimizer(momentum=0.9)
    scheduler = build(lr_scheduler, optimizer)
    for _ in range(6):
        scheduler.step()
    autograd.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "state")
    state = autograd.load(tmp_path / "state")
    assert "optimizer" not in state["scheduler"]
    restored_optimizer = make_optimizer(momentum=0.9)
    restored = build(lr_scheduler, restored_optimizer)
    restored_optimizer.load_state_dict(state["optimizer"])
    restored.load_state_dict(state["scheduler"])
    for _ in range(10):
        scheduler.step()
        restored.step()
        assert restored.get_last_lr() == scheduler.get_last_lr()
    assert restored_optimizer.param_groups[0]["momentum"] == optimizer.param_groups[0]["momentum"]


def torch_sequence(torch, build, epochs):
    param = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = build(torch.optim.lr_scheduler, optimizer)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(epochs - 1):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return np.array(lrs)


BUILDERS = {
    "StepLR": lambda module, opt: module.StepLR(opt, step_size=4, gamma=0.3),
    "MultiStepLR": lambda module, opt: module.MultiStepLR(opt, milestones=[3, 7, 7], gamma=0.5),
    "ExponentialLR": lambda module, opt: module.ExponentialLR(opt, gamma=0.8),
    "CosineAnnealingLR": lambda module, opt: module.CosineAnnealingLR(opt, T_max=6, eta_min=0.001),
    "LinearLR": lambda module, opt: module.LinearLR(opt, start_factor=0.2, end_factor=0.9, total_iters=6),
    "LambdaLR": lambda module, opt: module.LambdaLR(opt, lambda epoch: 0.95 ** epoch + 0.1),
    "OneCycleLR": lambda module, opt: module.OneCycleLR(opt, max_lr=0.5, total_steps=30, three_phase=True),
    "SequentialLR": lambda module, opt: module.SequentialLR(
        opt, [module.LinearLR(opt, start_factor=0.5, total_iters=4), module.ExponentialLR(opt, gamma=0.9),
              module.CosineAnnealingLR(opt, T_max=5)], milestones=[5, 12]),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_sequence_matches_torch(name):
    torch = pytest.importorskip("torch")
    optimizer = optim.SGD([autograd.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    ours = sequence(BUILDERS[name](lr_scheduler, optimizer), 30)
    np.testing.assert_allclose(ours, torch_sequence(torch, BUILDERS[name], 30), rtol=1e-12, atol=1e-16)
