"""Per-op overhead: graphs of scalars and of tiny tensors, forward and backward, side by side with PyTorch and
micrograd.

Two workloads, each timed for every framework that is installed, the frameworks taking turns repeat by repeat in one
run (so load from other processes hits all of them):

- chain: 4,000 ops cycling through mul, add, relu and sub, with weights that require grad, so every node has one or
  two inputs to send gradients to; on 0-d tensors (micrograd: its scalar ``Value``) and on 10-element tensors.
  Reported in microseconds per op, forward and backward.
- moons: micrograd's own demo, an MLP 2-16-16-1 built from scalars (every weight a 0-d tensor) trained on 100 points
  of two interleaved half-moons with a max-margin loss and L2 regularisation; milliseconds per SGD step. The model
  and data are written here for all three frameworks alike (micrograd's ``Value`` supports the same operators).

It also counts the objects the garbage collector tracks that each recorded 0-d op leaves alive. Each figure is the
minimum and the median over the repeats, of wall-clock time and of this process's CPU time. The
garbage collector stays on, as in a user's program; gradlab's moons step is also timed with it off, to show what
the collector costs. Every timed run starts from a collected heap, so that no framework pays for collecting
another's garbage (micrograd's graph is made of reference cycles, which only the collector frees: left in the heap,
they made the next framework's step 60% slower); a moons step's time includes the full collection after it, which
frees the garbage that step left.

    pip install micrograd==0.1.0 torch==2.13.0    # optional: whichever are installed are compared
    python benchmarks/overhead.py [--ops 4000] [--repeats 7] [--steps 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np

import autograd


def chain(x: Any, weights: tuple, ops: int) -> Any:
    """Build the chain (gradlab and torch tensors and micrograd's values share these operators)."""
    a, b, c = weights
    y = x
    for _ in range(ops // 4):
        y = y * a
        y = y + b
        y = y.relu()
        y = y - c
    return y


def moons(count: int = 100, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaved half circles with Gaussian noise (sd 0.1), as Python floats; labels -1 and 1."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0, np.pi, count)
    upper = rng.random(count) < 0.5
    x = np.where(upper, np.cos(angles), 1 - np.cos(angles))
    y = np.where(upper, np.sin(angles), 0.5 - np.sin(angles))
    points = np.stack([x, y], axis=1) + rng.normal(0, 0.1, (count, 2))
    return points.tolist(), np.where(upper, 1.0, -1.0).tolist()


def mlp(scalar: Callable[[float], Any], sizes: tuple[int, ...] = (2, 16, 16, 1), seed: int = 1) -> list[list]:
    """An MLP's layers as lists of neurons ``[weights..., bias]``, each number made by ``scalar``."""
    rng = np.random.default_rng(seed)
    return [[[scalar(w) for w in rng.uniform(-1, 1, fan_in)] + [scalar(0.0)] for _ in range(fan_out)]
            for fan_in, fan_out in zip(sizes, sizes[1:])]


def score(layers: list[list], inputs: list) -> Any:
    """The MLP's output for one point: ReLU after every layer but the last."""
    for depth, layer in enumerate(layers):
        outputs = []
        for *weights, bias in layer:
            total = bias
            for w, x in zip(weights, inputs):
                total = total + w * x
            outputs.append(total if depth == len(layers) - 1 else total.relu())
        inputs = outputs
    return inputs[0]


def moons_step(layers: list[list], points: list, labels: list, update: Callable[[Any], None]) -> None:
    """One SGD step of micrograd's demo: max-margin loss over all points plus 1e-4 times the L2 norm."""
    params = [p for layer in layers for neuron in layer for p in neuron]
    losses = [(1 + -label * score(layers, point)).relu() for point, label in zip(points, labels)]
    data_loss = sum(losses[1:], losses[0]) * (1.0 / len(losses))
    regularisation = sum((p * p for p in params[1:]), params[0] * params[0]) * 1e-4
    (data_loss + regularisation).backward()
    for p in params:
        update(p)


class Framework:
    """How one framework makes a trainable scalar or small tensor, takes an SGD step on one (lr 0.05, gradient
    reset) and turns a chain's end into what ``backward`` starts from."""

    def __init__(self, name: str, make: Callable[[float, int], Any], update: Callable[[Any], None],
                 finish: Callable[[Any], Any]) -> None:
        self.name, self.make, self.update, self.finish = name, make, update, finish


def frameworks() -> list[Framework]:
    """gradlab, and PyTorch and micrograd where installed."""
    def gradlab_make(value: float, size: int) -> Any:
        return autograd.tensor(np.full((size,) if size else (), value, np.float32), requires_grad=True)

    def gradlab_update(p: Any) -> None:
        with autograd.no_grad():
            p.sub_(p.grad * 0.05)
        p.grad = None

    found = [Framework("gradlab", gradlab_make, gradlab_update, lambda y: y.sum())]
    try:
        import torch
        torch.set_num_threads(1)

        def torch_update(p: Any) -> None:
            with torch.no_grad():
                p.sub_(p.grad * 0.05)
            p.grad = None

        found.append(Framework("torch", lambda value, size: torch.full((size,) if size else (), value,
                                                                      requires_grad=True), torch_update,
                               lambda y: y.sum()))
    except ImportError:
        pass
    try:
        from micrograd.engine import Value

        def micrograd_make(value: float, size: int) -> Any:
            if size:
                raise ValueError("micrograd has scalars only")
            return Value(value)

        def micrograd_update(p: Any) -> None:
            p.data -= p.grad * 0.05
            p.grad = 0.0

        # micrograd sorts the graph recursively: a 4,000-op chain needs a deeper stack than Python's default.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))
        found.append(Framework("micrograd", micrograd_make, micrograd_update, lambda y: y))
    except ImportError:
        pass
    return found


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds of ``work()``, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def summary(values: list[float]) -> str:
    return f"{min(values):8.2f} {statistics.median(values):8.2f}"


def run_chains(found: list[Framework], ops: int, repeats: int) -> None:
    print(f"chain of {ops} ops (mul, add, relu, sub): microseconds per op, min and median of {repeats}")
    print(f"{'tensor':<9} {'framework':<10} {'forward wall':>17} {'backward wall':>17} {'total cpu':>17}  ratio")
    for size, label in ((0, "0-d"), (10, "10 elems")):
        runners = [framework for framework in found if size == 0 or framework.name != "micrograd"]
        times: dict[str, list] = {framework.name: [] for framework in runners}
        for _ in range(repeats):
            for framework in runners:
                gc.collect()
                x = framework.make(0.5, size)
                weights = tuple(framework.make(value, size) for value in (0.9, 0.1, 0.05))
                forward, forward_cpu, y = timed(lambda: framework.finish(chain(x, weights, ops)))
                backward, backward_cpu, _ = timed(y.backward)
                times[framework.name].append((forward / ops * 1e6, backward / ops * 1e6,
                                              (forward_cpu + backward_cpu) / ops * 1e6))
        reference = statistics.median(t[2] for t in times["gradlab"])
        for name, rows in times.items():
            forward, backward, total = (list(column) for column in zip(*rows))
            ratio = reference / statistics.median(total)
            print(f"{label:<9} {name:<10} {summary(forward)} {summary(backward)} {summary(total)}  "
                  f"{'' if name == 'gradlab' else f'gradlab is {ratio:.2f}x'}")


def tracked_per_op(found: list[Framework], ops: int) -> None:
    """Objects the garbage collector tracks, left alive per recorded op of the 0-d chain: what it traverses."""
    counts = []
    for framework in found:
        x = framework.make(0.5, 0)
        weights = tuple(framework.make(value, 0) for value in (0.9, 0.1, 0.05))
        gc.collect()
        gc.disable()
        try:
            before = gc.get_count()[0]  # allocations less deallocations of tracked objects since the collection
            y = chain(x, weights, ops)
            counts.append(f"{framework.name} {(gc.get_count()[0] - before) / ops:.1f}")
        finally:
            gc.enable()
        del y
    print("garbage-collected objects per recorded 0-d op: " + ", ".join(counts))


def run_moons(found: list[Framework], steps: int) -> None:
    points, labels = moons()
    print(f"\nmoons: MLP 2-16-16-1 of scalars on 100 points, milliseconds per SGD step, min and median of {steps}")
    print(f"{'framework':<22} {'wall':>17} {'cpu':>17}  ratio")
    runs = [(framework, True) for framework in found] + [(found[0], False)]
    models = {(framework.name, collect): mlp(lambda value, f=framework: f.make(value, 0)) for framework, collect in runs}
    times: dict[tuple, list] = {key: [] for key in models}
    for _ in range(steps):
        for framework, collect in runs:
            layers = models[(framework.name, collect)]
            gc.collect()
            if not collect:
                gc.disable()
            try:
                wall, cpu, _ = timed(lambda: (moons_step(layers, points, labels, framework.update),
                                              gc.collect() if collect else None))
            finally:
                gc.enable()
            times[(framework.name, collect)].append((wall * 1e3, cpu * 1e3))
    reference = statistics.median(t[1] for t in times[("gradlab", True)])
    for (name, collect), rows in times.items():
        wall, cpu = (list(column) for column in zip(*rows))
        label = name if collect else f"{name} (gc off)"
        ratio = reference / statistics.median(cpu)
        print(f"{label:<22} {summary(wall)} {summary(cpu)}  "
              f"{'' if (name, collect) == ('gradlab', True) else f'gradlab is {ratio:.2f}x'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=4000, help="ops per chain")
    parser.add_argument("--repeats", type=int, default=7, help="timed chains per framework")
    parser.add_argument("--steps", type=int, default=5, help="timed moons steps per framework")
    args = parser.parse_args()
    found = frameworks()
    print("frameworks: " + ", ".join(framework.name for framework in found))
    run_chains(found, args.ops, args.repeats)
    tracked_per_op(found, args.ops)
    run_moons(found, args.steps)
    print("ratio: gradlab's median CPU time over the other's, measured side by side in this run")


if __name__ == "__main__":
    main()
