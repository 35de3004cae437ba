"""Per-op overhead: a chain of 4,000 tiny ops (0-d and 10-element tensors), forward and backward.

The chain cycles through mul, add, tanh and sub with weights that require grad, so every node
has one or two inputs to send gradients to. Reports microseconds per op (median of several
repeats) for gradlab and, when it is installed, PyTorch on the CPU in the same run, plus the ratio.

    python benchmarks/overhead.py [--ops 4000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import autograd


def chain(x, weights, ops: int):
    """Build the chain and reduce it to a scalar (gradlab and torch tensors share these operators)."""
    a, b, c = weights
    y = x
    for _ in range(ops // 4):
        y = y * a
        y = y + b
        y = y.tanh()
        y = y - c
    return y.sum()


def measure(make_inputs, ops: int, repeats: int) -> tuple[float, float]:
    """Median microseconds per op for the forward chain and for its backward."""
    forward_times, backward_times = [], []
    for _ in range(repeats):
        x, weights = make_inputs()
        start = time.perf_counter()
        loss = chain(x, weights, ops)
        middle = time.perf_counter()
        loss.backward()
        end = time.perf_counter()
        forward_times.append((middle - start) / ops * 1e6)
        backward_times.append((end - middle) / ops * 1e6)
    return statistics.median(forward_times), statistics.median(backward_times)


def gradlab_inputs(size: int):
    def make():
        shape = () if size == 0 else (size,)
        x = autograd.tensor(np.full(shape, 0.5, np.float32), requires_grad=True)
        weights = [autograd.tensor(np.full(shape, value, np.float32), requires_grad=True) for value in (0.9, 0.1, 0.05)]
        return x, weights
    return make


def torch_inputs(torch, size: int):
    def make():
        shape = () if size == 0 else (size,)
        x = torch.full(shape, 0.5, requires_grad=True)
        weights = [torch.full(shape, value, requires_grad=True) for value in (0.9, 0.1, 0.05)]
        return x, weights
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None

    print(f"{'tensor':<10} {'framework':<9} {'forward us/op':>14} {'backward us/op':>15} {'total':>8} {'ratio':>7}")
    for size, label in ((0, "0-d"), (10, "10 elems")):
        ours = measure(gradlab_inputs(size), args.ops, args.repeats)
        reference = measure(torch_inputs(torch, size), args.ops, args.repeats) if torch else None
        ours_total = sum(ours)
        ratio = f"{ours_total / sum(reference):.2f}x" if reference else "-"
        print(f"{label:<10} {'gradlab':<9} {ours[0]:>14.2f} {ours[1]:>15.2f} {ours_total:>8.2f} {ratio:>7}")
        if reference:
            print(f"{label:<10} {'torch':<9} {reference[0]:>14.2f} {reference[1]:>15.2f} {sum(reference):>8.2f}")
    print("ratio = gradlab total / torch total, measured side by side in this run")


if __name__ == "__main__":
    main()
