"""The prepared check for a lent GPU machine (under 5 minutes): gradlab on CuPy against gradlab on numpy.

1. Parity of every op of the registry (``autograd.opinfo``): forward and backward on the device against the CPU,
   float32 within rtol 1e-5, float64 within rtol 1e-10 (``autograd.testing.parity.compare_op``); nothing may come
   back as a host array.
2. One ResNet-20 training step (batch 8, SGD with momentum): its loss and every gradient against the CPU's,
   rtol 1e-4.
3. ResNet-20 step time (forward, cross-entropy, backward, SGD) at batch 64 and 256: gradlab on the device,
   gradlab on numpy, and PyTorch on CUDA when torch sees a GPU; median of ``--steps`` steps after one warm-up,
   each step synchronised (``loss.item()``).

Everything goes to one JSON file (``--out``); a section that fails is recorded with its error and the next one
runs. ``graphviz`` is never imported (the GPU machine lacks it). On a machine without a GPU,
``--device test --quick`` runs the same code on the test device of ``autograd.testing.device_array`` (the CPU-only
smoke test in ``tests/test_device.py``).

    python benchmarks/gpu_check.py [--device cuda] [--out gpu_check.json] [--steps 5] [--budget 270]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import traceback
import warnings
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import autograd  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd import device as _device  # noqa: E402
from autograd.opinfo import all_opinfos, unwrap_samples  # noqa: E402
from autograd.testing.parity import compare_op  # noqa: E402
from train_step import gradlab_trainer, torch_trainer  # noqa: E402


def environment(device: str) -> dict[str, Any]:
    """Versions, and the GPU's name when there is one."""
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__, "device": device}
    if _device.Device(device).type == "cuda":
        cupy = _device.module_for(device)
        info["cupy"] = cupy.__version__
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        info["torch"] = None
    return info


def registry_parity(device: str, deadline: float) -> dict[str, Any]:
    """Every registry sample on ``device`` against the CPU; the failures by name."""
    failures: dict[str, str] = {}
    checked = skipped = 0
    for info in all_opinfos():
        for name, sample in unwrap_samples(info):
            if time.monotonic() > deadline:
                skipped += 1
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                problems = compare_op(info, sample, device)
            checked += 1
            if problems:
                failures[name] = problems[0]
    return {"checked": checked, "passed": checked - len(failures), "skipped_for_time": skipped,
            "failures": failures}


def resnet20_step_parity(device: str, batch: int = 8) -> dict[str, Any]:
    """One training step of ResNet-20 on ``device`` and on the CPU: loss and gradients, rtol 1e-4."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    runs = []
    for where in ("cpu", device):
        autograd.manual_seed(0)
        model = nn.models.resnet20().to(where)
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        loss = nn.CrossEntropyLoss()(model(autograd.tensor(images, device=where)),
                                     autograd.tensor(labels, device=where))
        optimizer.zero_grad()
        loss.backward()
        strays = [name for name, p in model.named_parameters() if not _device.is_on(p.grad.data, where)]
        runs.append((loss.item(), {name: _device.to_device(p.grad.data, "cpu")
                                   for name, p in model.named_parameters()}, strays))
    (cpu_loss, cpu_grads, _), (loss, grads, strays) = runs
    worst = {name: float(np.max(np.abs(grads[name] - cpu_grads[name]) / (np.abs(cpu_grads[name]) + 1e-6)))
             for name in cpu_grads}
    mismatched = [name for name in cpu_grads if not np.allclose(grads[name], cpu_grads[name], rtol=1e-4, atol=1e-6)]
    return {"cpu_loss": cpu_loss, "device_loss": loss, "loss_ok": bool(np.isclose(loss, cpu_loss, rtol=1e-4)),
            "gradients_ok": not mismatched and not strays, "mismatched": mismatched, "host_gradients": strays,
            "worst_relative_error": max(worst.values())}


def _median_ms(step: Callable[[], Any], steps: int) -> float:
    step().item()  # warm-up: CuPy compiles its kernels on first use
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step().item()  # .item() waits for the device
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def step_times(device: str, batches: list[int], steps: int, deadline: float) -> dict[str, Any]:
    """Milliseconds per ResNet-20 step on the device, on numpy, and in PyTorch CUDA if available."""
    try:
        import torch
        torch_device = "cuda" if torch.cuda.is_available() else None
    except ImportError:
        torch_device = None
    results: dict[str, Any] = {}
    for batch in batches:
        rng = np.random.default_rng(0)
        images = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
        labels = rng.integers(0, 10, batch)
        row: dict[str, Any] = {}
        runs = [("gradlab_" + device, lambda: gradlab_trainer(images, labels, device=device)[0]),
                ("gradlab_numpy", lambda: gradlab_trainer(images, labels)[0])]
        if torch_device:
            runs.append(("torch_cuda", lambda: torch_trainer(images, labels, device=torch_device)[0]))
        for name, make in runs:
            if time.monotonic() > deadline:
                row[name] = "skipped for time"
                continue
            try:
                row[name] = round(_median_ms(make(), steps), 2)
            except Exception as error:  # recorded: the other rows still run
                row[name] = f"{type(error).__name__}: {error}"
        if isinstance(row.get("gradlab_" + device), float) and isinstance(row.get("gradlab_numpy"), float):
            row["numpy_over_device"] = round(row["gradlab_numpy"] / row["gradlab_" + device], 2)
        results[f"batch_{batch}"] = row
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help='"cuda", "cuda:1", or "test" for the CPU smoke test')
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per configuration")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--budget", type=float, default=270.0, help="seconds; later sections are skipped past it")
    parser.add_argument("--quick", action="store_true", help="batch 4, one timed step (smoke test)")
    args = parser.parse_args(argv)
    if args.device == "test":
        import autograd.testing.device_array  # noqa: F401  (registers the device)
    if args.quick:
        args.batches, args.steps = [4], 1
    start = time.monotonic()
    deadline = start + args.budget
    report: dict[str, Any] = {}
    sections = [("environment", lambda: environment(args.device)),
                ("registry_parity", lambda: registry_parity(args.device, deadline)),
                ("resnet20_step_parity", lambda: resnet20_step_parity(args.device)),
                ("step_time_ms", lambda: step_times(args.device, args.batches, args.steps, deadline))]
    for name, run in sections:
        began = time.monotonic()
        try:
            report[name] = run()
        except Exception:  # one broken section must not lose the others' numbers
            report[name] = {"error": traceback.format_exc(limit=5)}
        report.setdefault("seconds", {})[name] = round(time.monotonic() - began, 1)
        with open(args.out, "w") as file:  # after every section: a run cut short keeps what it measured
            json.dump(report, file, indent=2)
    print(json.dumps({key: value for key, value in report.items() if key != "registry_parity"}, indent=2))
    parity = report["registry_parity"]
    if "checked" in parity:
        print(f"registry: {parity['passed']}/{parity['checked']} samples agree; failing: {sorted(parity['failures'])}")
    return report


if __name__ == "__main__":
    main()
