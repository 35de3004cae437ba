"""``viz.HealthMonitor``: the statistics it records per module and step, each warning rule on a run that trips it
and on one that does not, its files, ``gradlab train --health``, and a training script with three mistakes."""

import csv
import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import optim
import viz
from gradlab.cli import main

BATCH = 16
RNG = np.random.default_rng(0)
IMAGES = autograd.tensor(RNG.standard_normal((BATCH, 1, 6, 6)).astype(np.float32))
LABELS = autograd.tensor(np.arange(BATCH) % 3)


def cnn() -> nn.Module:
    autograd.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def train(model, optimizer, steps, zero_grad=True, set_to_none=True):
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad(set_to_none=set_to_none)
        F.cross_entropy(model(IMAGES), LABELS).backward()
        optimizer.step()


def run(model=None, lr=0.01, steps=3, **options) -> viz.HealthMonitor:
    model = model if model is not None else cnn()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    monitor = viz.HealthMonitor(model, optimizer, log=None)
    train(model, optimizer, steps, **options)
    return monitor


def rules(monitor):
    return {warning.rule for warning in monitor.warnings}


def test_the_update_ratio_of_plain_sgd_is_lr_times_grad_over_weight():
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    monitor = viz.HealthMonitor(model, optimizer, log=None)
    weight = model[0].weight.data.copy()
    train(model, optimizer, 1)
    (row,) = [row for row in monitor.rows if row["module"] == "0"]
    grad = model[0].weight.grad.data
    np.testing.assert_allclose(row["grad_norm"], np.linalg.norm(grad), rtol=1e-5)
    np.testing.assert_allclose(row["update_ratio"], 0.01 * np.linalg.norm(grad) / np.linalg.norm(weight), rtol=1e-4)
    np.testing.assert_allclose(row["weight_norm"], np.linalg.norm(model[0].weight.data), rtol=1e-5)
    assert monitor.modules() == ["0", "1", "5"] and monitor.matrix("update_ratio").shape == (3, 1)


def test_activation_statistics_dead_units_and_running_statistic_drift():
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    monitor = viz.HealthMonitor(model, optimizer, log=None, sample=8)
    mean, var = model[1].running_mean.data.astype(np.float64), model[1].running_var.data.astype(np.float64)
    seen = {}
    model[2].register_forward_hook(lambda module, args, output: seen.update(relu=output.data[:8].copy()))
    train(model, optimizer, 1)
    rows = {row["module"]: row for row in monitor.rows}
    np.testing.assert_allclose(rows["2"]["act_mean"], seen["relu"].mean(), rtol=1e-5)
    np.testing.assert_allclose(rows["2"]["act_std"], seen["relu"].std(), rtol=1e-5)
    assert rows["2"]["dead_relu"] == np.mean(~np.any(seen["relu"] > 0, axis=(0, 2, 3)))
    new_mean, new_var = model[1].running_mean.data, model[1].running_var.data
    expected = np.sqrt(np.mean((new_mean - mean) ** 2 / (var + 1e-5)))
    np.testing.assert_allclose(rows["1"]["bn_mean_drift"], expected, rtol=1e-5)
    np.testing.assert_allclose(rows["1"]["bn_var_drift"],
                               np.sqrt(np.mean(np.log((new_var + 1e-5) / (var + 1e-5)) ** 2)), rtol=1e-4)
    assert rows["0"]["dead_relu"] is None and rows["0"]["bn_mean_drift"] is None


def test_a_learning_rate_far_too_high_trips_the_update_ratio_and_says_so(capsys):
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=5.0)
    viz.HealthMonitor(model, optimizer)  # log=print
    train(model, optimizer, 12)
    out = capsys.readouterr().out
    assert "health warning at step 10 [update-ratio] in " in out and "learning rate probably too high" in out
    assert "update-ratio" not in rules(run(lr=1e-3, steps=12))


def test_an_update_ratio_just_above_the_limit_prints_as_above_it():
    lines = []
    monitor = viz.HealthMonitor(cnn(), log=lines.append)
    for _ in range(viz.health.UPDATE_WINDOW):
        monitor.check_update("0", {"grad_norm": 1.0, "update_ratio": 1.01 * viz.health.UPDATE_RATIO_LIMIT})
    monitor.flush(monitor.steps)
    (line,) = lines
    assert "update ratio 1.01e-02 above 1e-02" in line


def test_a_missing_zero_grad_is_named_and_zeroing_either_way_is_not():
    monitor = run(steps=3, zero_grad=False)
    (warning,) = [warning for warning in monitor.warnings if warning.rule == "missing-zero-grad"]
    assert warning.step == 2 and "previous step's gradient" in warning.message
    assert "missing-zero-grad" not in rules(run(steps=3))
    assert "missing-zero-grad" not in rules(run(steps=3, set_to_none=False))


def test_gradient_accumulation_over_several_backward_passes_is_not_a_missing_zero_grad():
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    monitor = viz.HealthMonitor(model, optimizer, log=None)
    for _ in range(3):
        optimizer.zero_grad()
        for half in (slice(0, 8), slice(8, 16)):
            F.cross_entropy(model(IMAGES[half]), LABELS[half]).backward()
        optimizer.step()
    assert monitor.warnings == []


def test_batch_norm_in_eval_mode_during_training_and_in_train_mode_during_evaluation():
    model = cnn()
    model[1].eval()
    assert rules(run(model)) == {"eval-mode-in-training"}
    model = cnn()
    monitor = run(model)
    with autograd.no_grad():
        model(IMAGES)  # evaluation without model.eval()
    assert rules(monitor) == {"train-mode-in-evaluation"} and monitor.warnings[0].module == "1"
    model = cnn()
    monitor = run(model)
    model.eval()
    with autograd.no_grad():
        model(IMAGES)
    assert monitor.warnings == []


def test_dead_relus_are_warned_about():
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(), nn.Linear(16, 3))
    nn.init.constant_(model[1].bias, -30.0)
    monitor = run(model)
    assert rules(monitor) == {"dead-relu"} and monitor.warnings[0].module == "2"


def test_a_nan_gradient_is_warned_about():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(36, 3)

        def forward(self, x):
            return self.fc(x.flatten(1)) * float("nan")

    with np.errstate(invalid="ignore"):
        monitor = run(Broken(), steps=1)
    assert rules(monitor) == {"non-finite"} and monitor.warnings[0].module == "fc"


def test_vanishing_gradients_with_depth_are_warned_about():
    layers = [nn.Flatten()]
    for width in [36] + [16] * 11:
        layers += [nn.Linear(width, 16), nn.Sigmoid()]
    monitor = run(nn.Sequential(*layers, nn.Linear(16, 3)), steps=1)
    assert rules(monitor) == {"gradient-depth"} and monitor.warnings[0].module == "1"


def test_a_rule_tripping_in_several_modules_prints_one_line_naming_the_worst():
    lines = []
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=5.0)
    monitor = viz.HealthMonitor(model, optimizer, log=lines.append)
    train(model, optimizer, 14)
    tripped = [warning for warning in monitor.warnings if warning.step == 10]
    assert len(tripped) >= 2 and len(lines) == 1
    worst = max(tripped, key=lambda warning: float(warning.message.split()[2]))
    assert f" in {worst.module} (and {len(tripped) - 1} more module" in lines[0]


def test_save_writes_csv_json_and_the_heat_maps(tmp_path):
    pytest.importorskip("matplotlib")
    monitor = run(steps=4, zero_grad=False)
    written = monitor.save(tmp_path)
    assert [path.name for path in written] == ["health.csv", "health.json", "health.png"]
    with open(tmp_path / "health.csv") as file:
        rows = list(csv.DictReader(file))
    assert rows[0].keys() == {"step", "module", *viz.health.METRICS}
    assert len([row for row in rows if row["module"] == "0"]) == 4
    document = json.loads((tmp_path / "health.json").read_text())
    assert document["steps"] == 4 and document["modules"] == ["0", "1", "5"]
    assert {warning["rule"] for warning in document["warnings"]} == {"missing-zero-grad"}
    assert document["warnings"][0]["fix"].startswith("call optimizer.zero_grad()")
    assert (tmp_path / "health.png").stat().st_size > 10_000


def test_save_before_the_first_step_writes_the_tables_only(tmp_path):
    monitor = viz.HealthMonitor(cnn(), log=None)
    assert [path.name for path in monitor.save(tmp_path)] == ["health.csv", "health.json"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["health.csv", "health.json"]


def test_close_removes_every_hook():
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    monitor = viz.HealthMonitor(model, optimizer, log=None)
    monitor.close()
    train(model, optimizer, 2, zero_grad=False)
    assert monitor.steps == 0 and monitor.warnings == []


def test_without_an_optimizer_step_records_by_hand():
    model = cnn()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    monitor = viz.HealthMonitor(model, log=None)
    train(model, optimizer, 2)
    monitor.step()
    assert monitor.steps == 1 and math.isfinite(monitor.rows[0]["update_ratio"])


BROKEN_SCRIPT = """
    import numpy as np
    import autograd, nn, optim, viz
    import nn.functional as F

    autograd.manual_seed(0)
    images = autograd.randn(16, 1, 8, 8)
    labels = autograd.tensor(np.arange(16) % 4)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
                          nn.LogSoftmax(dim=1))                  # mistake 1: cross_entropy applies it again
    model.eval()                                                 # mistake 2: BatchNorm frozen during training
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    print(viz.lint(model, images, lambda logits: F.cross_entropy(logits, labels)))
    monitor = viz.HealthMonitor(model, optimizer)
    for step in range(5):                                        # mistake 3: no optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
"""


def test_a_training_script_with_three_mistakes_gets_all_three_named(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(textwrap.dedent(BROKEN_SCRIPT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == "lint: 2 findings (2 errors, 0 warnings)"
    assert lines[2].split()[:4] == ["error", "softmax-before-loss", "6", "LogSoftmax"]
    assert lines[3].split()[:3] == ["error", "eval-mode-in-training", "1"]
    assert "health warning at step 1 [eval-mode-in-training] in 1: BatchNorm2d in eval mode during a training " \
        "step" in lines
    assert "health warning at step 2 [missing-zero-grad] in the model: .grad of 5 still holds the previous step's " \
        "gradient as backward adds a new one" in lines


def test_gradlab_train_health_writes_the_files_and_prints_warnings(tmp_path, capsys):
    assert main(["train", "--health", "--limit", "64", "--epochs", "1", "--batch-size", "16", "--lr", "5",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    warnings = json.loads((tmp_path / "health.json").read_text())["warnings"]
    assert warnings  # lr 5 kills ReLUs within a few steps
    assert f"health warning at step {warnings[0]['step']} [{warnings[0]['rule']}]" in out
    count = len(warnings)
    assert f"wrote the health of 4 steps ({count} warning{'' if count == 1 else 's'})" in out
    assert (tmp_path / "health.csv").is_file() and (tmp_path / "health.png").stat().st_size > 10_000


def test_the_optimizer_step_hooks_run_before_and_after_the_update_and_can_be_removed():
    weight = nn.Parameter(autograd.tensor([1.0, 2.0]))
    optimizer = optim.SGD([weight], lr=0.5)
    seen = []
    pre = optimizer.register_step_pre_hook(lambda opt, args, kwargs: seen.append(("pre", weight.data.tolist())))
    optimizer.register_step_post_hook(lambda opt, args, kwargs: seen.append(("post", weight.data.tolist(),
                                                                             opt is optimizer, kwargs)))
    (weight * weight).sum().backward()
    optimizer.step()
    assert seen == [("pre", [1.0, 2.0]), ("post", [0.0, 0.0], True, {"closure": None})]
    pre.remove()
    optimizer.step()
    assert [entry[0] for entry in seen] == ["pre", "post", "post"]
