"""One ``optim.SGD`` step (momentum 0.9, weight decay 5e-4) on ResNet-18's 11.7M float32 parameters, gradlab next to
``torch.optim.SGD`` on the same parameters and gradients, taking turns in one process.

Reports the minimum and median milliseconds per step of each and their ratios. The step is memory-bound (the
parameters, gradients and momentum buffers are 140 MB), so it measures how the update streams through memory and
spreads over the cores.

    python benchmarks/optimizer_step.py [--steps 30] [--threads N]
"""

from __future__ import annotations

from gradlab.openblas import sleep_when_idle

sleep_when_idle()  # before numpy is imported, as gradlab's command line does (gradlab/openblas.py says why)

import argparse
import importlib.util
import os
import statistics
import time
from typing import Callable

import numpy as np

import nn
import optim
from autograd import tensor
from gradlab.allocator import keep_freed_memory


def gradlab_step(arrays: list[np.ndarray], grads: list[np.ndarray]) -> Callable[[], None]:
    params = [tensor(array.copy(), requires_grad=True) for array in arrays]
    for param, grad in zip(params, grads):
        param.grad = tensor(grad)
    return optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4).step


def torch_step(arrays: list[np.ndarray], grads: list[np.ndarray]) -> Callable[[], None]:
    import torch

    params = [torch.tensor(array, requires_grad=True) for array in arrays]
    for param, grad in zip(params, grads):
        param.grad = torch.from_numpy(grad)
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4).step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per library, in turns of 5")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads (match the BLAS)")
    args = parser.parse_args()
    keep_freed_memory()  # for both libraries, as gradlab's command line does
    rng = np.random.default_rng(0)
    arrays = [param.data for param in nn.models.resnet18().parameters()]
    grads = [rng.standard_normal(array.shape).astype(np.float32) for array in arrays]
    steps = {"gradlab": gradlab_step(arrays, grads)}
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(args.threads)
        steps["torch"] = torch_step(arrays, grads)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(-(-args.steps // 5)):
        for name, step in steps.items():
            step()  # untimed: the other library's threads may still be spinning
            for _ in range(5):
                start = time.perf_counter()
                step()
                times[name].append((time.perf_counter() - start) * 1e3)
    print(f"SGD step on ResNet-18's {sum(array.size for array in arrays):,} parameters, wall clock, "
          f"{len(times['gradlab'])} steps each, torch threads {args.threads}")
    for name, samples in times.items():
        print(f"{name:<8} min {min(samples):6.2f} ms, median {statistics.median(samples):6.2f} ms")
    if "torch" in times:
        ours, theirs = times["gradlab"], times["torch"]
        print(f"ratio gradlab / PyTorch: {min(ours) / min(theirs):.2f}x (minima), "
              f"{statistics.median(ours) / statistics.median(theirs):.2f}x (medians)")


if __name__ == "__main__":
    main()
