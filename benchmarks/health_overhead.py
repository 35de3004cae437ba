"""What ``viz.HealthMonitor`` costs on a ResNet-20 training step (CIFAR layout: batch 64 of 3x32x32 float32 images,
forward, cross-entropy, backward, SGD with momentum 0.9 and weight decay 5e-4).

The process is pinned to one core with BLAS at one thread before numpy loads, so the CPU time of a step is the
single-thread cost, which load from other processes on a shared machine barely moves (wall time would). Steps with
and without the monitor alternate in chunks of ``--chunk``, so that whatever drift there is hits both; the monitor
is attached for its chunks and closed (hooks removed) for the others. Reports the minimum and median CPU time per
step of each, the overhead of the monitor on both, the CPU time spent inside its hooks (``cpu_seconds``, which
the noise of a shared machine cannot hide), and the CPU model.

    python benchmarks/health_overhead.py [--steps 40] [--chunk 5] [--batch 64] [--sample 16]
"""

from __future__ import annotations

import os

# Before numpy is imported: BLAS reads these once.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})

import argparse  # noqa: E402  (the thread settings above must come first)
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
import optim  # noqa: E402
import viz  # noqa: E402
from gradlab.allocator import keep_freed_memory  # noqa: E402


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (what ``lscpu`` shows), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps of each kind")
    parser.add_argument("--chunk", type=int, default=5, help="steps of one kind before switching")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--sample", type=int, default=16, help="the monitor's activation sample (images)")
    args = parser.parse_args()
    keep_freed_memory()
    autograd.manual_seed(0)
    rng = np.random.default_rng(0)
    images = autograd.tensor(rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32))
    labels = autograd.tensor(rng.integers(0, 10, args.batch))
    model = nn.models.resnet20(10, 3)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step() -> float:
        start = time.process_time()
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
        return time.process_time() - start

    for _ in range(3):  # warm-up: workspaces, optimizer state, allocator
        step()
    times: dict[str, list[float]] = {"without": [], "with": []}
    monitor = None
    own = 0.0  # CPU time inside the monitor's hooks (HealthMonitor.cpu_seconds)
    while len(times["with"]) < args.steps:
        for kind in ("without", "with"):
            if kind == "with":
                monitor = viz.HealthMonitor(model, optimizer, log=None, sample=args.sample)
            times[kind] += [step() for _ in range(args.chunk)]
            if monitor is not None:
                own += monitor.cpu_seconds
                monitor.close()
                monitor = None
    print(f"ResNet-20 training step, batch {args.batch} of 3x32x32, one thread on {cpu_model()}")
    print(f"CPU time per step over {len(times['with'])} steps of each (chunks of {args.chunk}):")
    for kind, values in times.items():
        print(f"  {kind:>7} HealthMonitor: min {min(values) * 1e3:7.1f} ms  "
              f"median {statistics.median(values) * 1e3:7.1f} ms")
    for name, pick in (("min", min), ("median", statistics.median)):
        overhead = pick(times["with"]) / pick(times["without"]) - 1
        print(f"  overhead on the {name}: {overhead:+.1%}")
    per_step = own / len(times["with"])
    print(f"  inside the monitor's hooks: {per_step * 1e3:.1f} ms per step, {per_step / min(times['without']):.1%} of "
          f"the fastest step without it")


if __name__ == "__main__":
    main()
