"""Forward + backward of the CNN ops on ResNet-20 (CIFAR-10) shapes, gradlab next to PyTorch CPU; with
``--resnet18-layers``, of each distinct convolution of ResNet-18 on 3x64x64 images instead.

Each case runs the op on float32 inputs that require grad and backpropagates a fixed output gradient
(or, for losses, the scalar loss). Reports the median milliseconds over the repeats and, when PyTorch is
installed, PyTorch's median measured in the same run with the same number of threads, and the ratio
gradlab / PyTorch, plus the ratio of the fastest runs. The two libraries take turns in two rounds, so that
load from other processes hits both alike. Both run with glibc's malloc set to keep freed memory
(``gradlab/allocator.py``), as ``gradlab train`` does: otherwise whether a case faults its memory in afresh
depends on what ran before it, which moved single cases by up to 2x.

On a machine shared with other work, wall-clock times swing by 2x or more; ``--clock cpu`` measures the
process's CPU time instead, which is stable when both libraries run single-threaded:

    python benchmarks/ops.py [--repeats 10] [--threads 2] [--only conv2d] [--resnet18-layers]
    OPENBLAS_NUM_THREADS=1 python benchmarks/ops.py --threads 1 --clock cpu
"""

from __future__ import annotations

from gradlab.openblas import sleep_when_idle

# OpenBLAS's idle workers go to sleep at once, as in gradlab's command line: by default they spin for a long while
# after each matrix product, stealing the cores gradlab's threads and PyTorch are being timed on in the same
# process. Before numpy is imported, hence before the imports below. (PyTorch's OpenMP workers are left spinning as
# they do by default: making them passive halves its speed here.)
sleep_when_idle()

import argparse
import importlib.util
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import autograd
import nn.functional as F
from gradlab.allocator import keep_freed_memory


@dataclass
class Case:
    """One benchmark: ``inputs(rng)`` makes the float32 arrays; ``run(F, *tensors)`` is the forward pass."""

    name: str
    inputs: Callable[[np.random.Generator], list[np.ndarray]]
    run: Callable
    differentiable: int  # how many leading inputs require grad


def _normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def conv_case(n: int, c: int, size: int, out: int, kernel: int, stride: int, name: str = "conv2d") -> Case:
    padding = kernel // 2

    def inputs(rng):
        return [_normal(rng, n, c, size, size), _normal(rng, out, c, kernel, kernel, scale=0.1), _normal(rng, out)]

    return Case(f"{name} {n}x{c}x{size}x{size} -> {out}, {kernel}x{kernel} stride {stride}", inputs,
                lambda F, x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), 3)


def resnet18_stem(n: int, size: int) -> Case:
    """The 7x7 stride-2 stem of ResNet-18: no bias, and its input (the images) needs no gradient."""
    def inputs(rng):
        return [_normal(rng, 64, 3, 7, 7, scale=0.1), _normal(rng, n, 3, size, size)]

    return Case(f"conv1 {n}x3x{size}x{size} -> 64, 7x7 stride 2", inputs,
                lambda F, w, x: F.conv2d(x, w, stride=2, padding=3), 1)


CASES = [
    conv_case(64, 16, 32, 16, 3, 1),
    conv_case(64, 16, 32, 32, 3, 2),
    conv_case(64, 16, 32, 32, 1, 2),
    conv_case(64, 32, 16, 32, 3, 1),
    conv_case(64, 32, 16, 64, 3, 2),
    conv_case(64, 32, 16, 64, 1, 2),
    conv_case(64, 64, 8, 64, 3, 1),
    conv_case(64, 64, 8, 64, 1, 1),
    Case("max_pool2d 64x16x32x32, 2x2 stride 2", lambda rng: [_normal(rng, 64, 16, 32, 32)],
         lambda F, x: F.max_pool2d(x, 2), 1),
    Case("max_pool2d 64x16x32x32, 3x3 stride 2 pad 1", lambda rng: [_normal(rng, 64, 16, 32, 32)],
         lambda F, x: F.max_pool2d(x, 3, 2, 1), 1),
    Case("avg_pool2d 64x16x32x32, 2x2 stride 2", lambda rng: [_normal(rng, 64, 16, 32, 32)],
         lambda F, x: F.avg_pool2d(x, 2), 1),
    Case("adaptive_avg_pool2d 64x64x8x8 -> 1x1", lambda rng: [_normal(rng, 64, 64, 8, 8)],
         lambda F, x: F.adaptive_avg_pool2d(x, 1), 1),
    Case("batch_norm 64x16x32x32, training",
         lambda rng: [_normal(rng, 64, 16, 32, 32), np.ones(16, np.float32), np.zeros(16, np.float32),
                      np.zeros(16, np.float32), np.ones(16, np.float32)],
         lambda F, x, weight, bias, mean, var: F.batch_norm(x, mean, var, weight, bias, training=True), 3),
    Case("cross_entropy 64x10", lambda rng: [_normal(rng, 64, 10), rng.integers(0, 10, 64)],
         lambda F, logits, target: F.cross_entropy(logits, target), 1),
]

# Each distinct convolution of ResNet-18 (``nn.models.resnet18``, torchvision's layout) on 3x64x64 images, batch 16:
# the stem, the first (stride 2) and the other 3x3 convs of each stage, and the 1x1 stride-2 downsamples.
# (``--resnet18-layers``; the biases cost little next to the products.)
RESNET18_LAYERS = [
    resnet18_stem(16, 64),
    conv_case(16, 64, 16, 64, 3, 1, "layer1 conv"),
    conv_case(16, 64, 16, 128, 3, 2, "layer2.0.conv1"),
    conv_case(16, 128, 8, 128, 3, 1, "layer2 conv"),
    conv_case(16, 64, 16, 128, 1, 2, "layer2.0.downsample"),
    conv_case(16, 128, 8, 256, 3, 2, "layer3.0.conv1"),
    conv_case(16, 256, 4, 256, 3, 1, "layer3 conv"),
    conv_case(16, 128, 8, 256, 1, 2, "layer3.0.downsample"),
    conv_case(16, 256, 4, 512, 3, 2, "layer4.0.conv1"),
    conv_case(16, 512, 2, 512, 3, 1, "layer4 conv"),
    conv_case(16, 256, 4, 512, 1, 2, "layer4.0.downsample"),
]


def step(functional, make_tensor: Callable, arrays: list[np.ndarray], case: Case) -> Callable[[], None]:
    """A closure running one forward + backward with fresh leaves."""
    def run():
        tensors = [make_tensor(a, i < case.differentiable) for i, a in enumerate(arrays)]
        out = case.run(functional, *tensors)
        if out.ndim == 0:
            out.backward()
        else:
            out.backward(make_tensor(np.ones(out.shape, np.float32), False))
    return run


def timed(run: Callable[[], None], clock: Callable[[], float]) -> float:
    """Milliseconds of one call of ``run``."""
    start = clock()
    run()
    return (clock() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per library and case")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads (match the BLAS)")
    parser.add_argument("--only", default="", help="run the cases whose name contains this string")
    parser.add_argument("--resnet18-layers", action="store_true",
                        help="the convolutions of ResNet-18 on 3x64x64, batch 16, instead of the ResNet-20 cases")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall-clock time, or CPU time of the process (all threads)")
    args = parser.parse_args()
    keep_freed_memory()  # for both libraries, as gradlab's command line does
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    torch = None
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(args.threads)

    def gradlab_tensor(array, requires_grad):
        return autograd.Tensor(array, requires_grad=requires_grad)

    def torch_tensor(array, requires_grad):
        return torch.from_numpy(array).requires_grad_(requires_grad)

    rng = np.random.default_rng(0)
    print(f"{args.clock} time, median of {2 * max(args.repeats // 2, 1)} runs, {args.threads} PyTorch thread(s)")
    print(f"{'case':<54} {'gradlab ms':>11} {'torch ms':>9} {'ratio':>6} {'best-of ratio':>14}")
    for case in RESNET18_LAYERS if args.resnet18_layers else CASES:
        if args.only not in case.name:
            continue
        arrays = case.inputs(rng)
        runs = [step(F, gradlab_tensor, arrays, case)]
        if torch is not None:
            runs.append(step(torch.nn.functional, torch_tensor, arrays, case))
        times: list[list[float]] = [[] for _ in runs]
        # Two rounds, so that a burst of load elsewhere does not land on one library only. Each round of a library
        # starts with an untimed run: the other library's idle OpenMP workers spin for a while and would slow
        # it down. Alternating run by run would put every timed run in that shadow.
        for _ in range(2):
            for run, samples in zip(runs, times):
                run()
                samples += [timed(run, clock) for _ in range(max(args.repeats // 2, 1))]
        ours, theirs = times[0], times[-1]
        ours_ms = statistics.median(ours)
        if torch is None:
            print(f"{case.name:<54} {ours_ms:>11.2f} {'-':>9} {'-':>6} {'-':>14}")
        else:
            theirs_ms = statistics.median(theirs)
            # The ratio of the fastest runs is the one least disturbed by other processes.
            print(f"{case.name:<54} {ours_ms:>11.2f} {theirs_ms:>9.2f} {ours_ms / theirs_ms:>6.2f} "
                  f"{min(ours) / min(theirs):>14.2f}")


if __name__ == "__main__":
    main()
