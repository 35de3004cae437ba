"""One training step of ResNet-20 (CIFAR layout): batch 64 of 3x32x32 float32 images, forward, cross-entropy,
backward and an SGD step (momentum 0.9, weight decay 5e-4), gradlab next to the same network in torch.nn. With
``--model resnet18``, of ResNet-18 (torchvision's layout, 1000 classes) on a batch of 16 3x64x64 images instead.

Reports:
- the median milliseconds per step of each library and the ratio gradlab / PyTorch; the two run in the
  same process and alternate every ``--chunk`` steps, so that load from other processes hits both;
- each library's peak memory during training above its idle process (model and data built): peak RSS
  of a fresh process per library running a few steps, measured the same way for both;
- whether gradlab's memory stays flat over the run: resident memory sampled after every step, and each
  step's graph checked to be freed (by reference counting alone) once its loss is dropped.

Both libraries run with glibc's malloc set to keep freed memory (``gradlab/allocator.py``) and OpenBLAS's idle
threads sent to sleep at once (``gradlab/openblas.py``), as ``gradlab train`` does.

With ``--nproc N`` it compares data-parallel training instead, the global batch staying the same: gradlab in one
process (BLAS on every core), gradlab on N ranks under mpiexec (``DistributedDataParallel``, cores / N threads
each), PyTorch in one process, and PyTorch's DDP on N gloo ranks (started by the same mpiexec, cores / N threads
each). Each configuration runs in a fresh process or job, one after the other, and reports its minimum and median
step on rank 0; for gradlab's ranks also the time a step spends starting allreduces and waiting for them (the
communication backward did not hide), and a bare allreduce of the gradients' size.

    python benchmarks/train_step.py [--model resnet18] [--steps 200] [--chunk 10] [--threads N]
    python benchmarks/train_step.py --nproc 2 [--model resnet18] [--steps 100]
"""

from __future__ import annotations

from gradlab.openblas import sleep_when_idle

sleep_when_idle()  # before numpy is imported, as gradlab's command line does (gradlab/openblas.py says why)

import argparse
import gc
import importlib.util
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import weakref
from typing import Any, Callable, NamedTuple

import numpy as np

import autograd
import nn
import optim
from autograd import distributed
from gradlab.allocator import keep_freed_memory
from gradlab.launcher import mpiexec_command
from nn.parallel import DistributedDataParallel


class Workload(NamedTuple):
    """A model and the batch it trains on: ``batch`` images of 3 x ``size`` x ``size``, labels below ``classes``."""

    batch: int
    size: int
    classes: int

    def images(self) -> str:
        return f"{self.batch}x3x{self.size}x{self.size} float32"


WORKLOADS = {"resnet20": Workload(64, 32, 10), "resnet18": Workload(16, 64, 1000)}


def batch(rng: np.random.Generator, model: str = "resnet20") -> tuple[np.ndarray, np.ndarray]:
    workload = WORKLOADS[model]
    images = rng.standard_normal((workload.batch, 3, workload.size, workload.size)).astype(np.float32)
    return images, rng.integers(0, workload.classes, workload.batch)


def gradlab_trainer(images: np.ndarray, labels: np.ndarray, data_parallel: bool = False,
                    device: str = "cpu", model: str = "resnet20") -> tuple[Callable[[], Any], int]:
    """A closure doing one training step of gradlab's ``nn.models.<model>`` (returns the loss), and the parameter
    count; ``data_parallel``: through ``DistributedDataParallel`` (``distributed.init()`` called); ``device``: where
    the model and the batch live (``benchmarks/gpu_check.py`` passes "cuda")."""
    autograd.manual_seed(0)
    network = getattr(nn.models, model)().to(device)
    trained = DistributedDataParallel(network) if data_parallel else network
    optimizer = optim.SGD(network.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x, y = autograd.tensor(images, device=device), autograd.tensor(labels, device=device)

    def step() -> Any:
        optimizer.zero_grad()
        loss = loss_fn(trained(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step, sum(p.numel() for p in network.parameters())


def torch_trainer(images: np.ndarray, labels: np.ndarray, data_parallel: bool = False,
                  device: str = "cpu", model: str = "resnet20") -> tuple[Callable[[], Any], int]:
    """The same step for the same network written with torch.nn: BasicBlocks with 1x1 conv + BN projection
    shortcuts, exactly gradlab's ``nn.models.resnet20`` or ``resnet18`` (torchvision's, which is not installed
    here); ``data_parallel``: through torch's DDP (process group initialised)."""
    import torch
    from torch import nn as tnn

    class BasicBlock(tnn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = tnn.Sequential(tnn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + identity)

    class ResNet(tnn.Module):
        def __init__(self, stem: tnn.Module, widths: tuple[int, ...], blocks_per_stage: int, classes: int) -> None:
            super().__init__()
            self.stem = stem
            blocks, inplanes = [], widths[0]
            for stage, planes in enumerate(widths):
                for index in range(blocks_per_stage):
                    blocks.append(BasicBlock(inplanes, planes, 2 if stage and index == 0 else 1))
                    inplanes = planes
            self.layers = tnn.Sequential(*blocks)
            self.fc = tnn.Linear(widths[-1], classes)

        def forward(self, x):
            return self.fc(self.layers(self.stem(x)).mean(dim=(2, 3)))

    def stem(kernel: int, stride: int, width: int, *pooling: tnn.Module) -> tnn.Module:
        return tnn.Sequential(tnn.Conv2d(3, width, kernel, stride, kernel // 2, bias=False), tnn.BatchNorm2d(width),
                              tnn.ReLU(), *pooling)

    torch.manual_seed(0)
    networks = {"resnet20": lambda: ResNet(stem(3, 1, 16), (16, 32, 64), 3, 10),
                "resnet18": lambda: ResNet(stem(7, 2, 64, tnn.MaxPool2d(3, 2, 1)), (64, 128, 256, 512), 2, 1000)}
    network = networks[model]().to(device)
    trained = tnn.parallel.DistributedDataParallel(network) if data_parallel else network
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loss_fn = tnn.CrossEntropyLoss()
    x, y = torch.from_numpy(images).to(device), torch.from_numpy(labels).to(device)

    def step() -> Any:
        optimizer.zero_grad()
        loss = loss_fn(trained(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step, sum(p.numel() for p in network.parameters())


TRAINERS = {"gradlab": gradlab_trainer, "torch": torch_trainer}


def rss_mib() -> float:
    """Current resident memory of this process in MiB (Linux /proc; NaN elsewhere)."""
    try:
        with open("/proc/self/statm") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    Linux's VmHWM belongs to the process image, whereas ``ru_maxrss`` also counts the parent's memory
    inherited through fork before exec; elsewhere ``ru_maxrss`` (bytes on macOS) is the best available.
    """
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def measure_memory(library: str, steps: int, threads: int, model: str) -> dict[str, float]:
    """In this (fresh) process: idle memory with model and data built, then peak memory over ``steps`` steps."""
    if library == "torch":
        import torch
        torch.set_num_threads(threads)
    step, _ = TRAINERS[library](*batch(np.random.default_rng(0), model), model=model)
    gc.collect()
    idle = rss_mib()
    for _ in range(steps):
        step()
    return {"idle_mib": idle, "peak_mib": peak_rss_mib(), "training_mib": peak_rss_mib() - idle}


def memory_in_subprocess(library: str, threads: int, model: str) -> dict[str, float] | None:
    """Run ``measure_memory`` in a fresh interpreter so that each library's peak is its own."""
    command = [sys.executable, __file__, "--memory-worker", library, "--threads", str(threads), "--model", model]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"memory measurement for {library} failed:\n{result.stderr}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


class CommunicationClock:
    """Time spent in ``distributed.all_reduce`` (starting a bucket's allreduce) and in ``Work.wait``: what the
    gradient reductions cost a step beyond what backward hid. Installed around both for the benchmark only."""

    def __init__(self) -> None:
        self.seconds = 0.0
        for owner, name in ((distributed, "all_reduce"), (distributed.Work, "wait")):
            setattr(owner, name, self.timed(getattr(owner, name)))

    def timed(self, function: Callable) -> Callable:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return run


def step_times(step: Callable[[], Any], steps: int, clock: CommunicationClock | None = None) -> dict[str, list]:
    """Milliseconds of each of ``steps`` steps (after 3 warm-up steps), and of communication in each."""
    for _ in range(3):
        step()
    times, communication = [], []
    for _ in range(steps):
        before = clock.seconds if clock else 0.0
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
        communication.append(((clock.seconds if clock else 0.0) - before) * 1e3)
    return {"times": times, "communication": communication}


def data_parallel_worker(library: str, steps: int, threads: int, port: int, model: str) -> None:
    """One rank of a data-parallel job under mpiexec: its share of the batch; rank 0 prints the times as JSON."""
    distributed.init()
    rank, world = distributed.get_rank(), distributed.get_world_size()
    images, labels = batch(np.random.default_rng(0), model)
    share = slice(rank * len(images) // world, (rank + 1) * len(images) // world)
    clock = None
    if library == "torch":
        import torch
        torch.set_num_threads(threads)
        torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                             world_size=world)
        step, _ = torch_trainer(images[share], labels[share], data_parallel=True, model=model)
    else:
        clock = CommunicationClock()
        step, parameters = gradlab_trainer(images[share], labels[share], data_parallel=True, model=model)
    result = step_times(step, steps, clock)
    if library == "gradlab":
        gradients = np.ones(parameters, np.float32)
        bare = [time_call(lambda: distributed.all_reduce(autograd.from_numpy(gradients))) for _ in range(50)]
        result["bare_allreduce"] = bare
    if rank == 0:
        print(json.dumps(result))


def time_call(function: Callable[[], Any]) -> float:
    """Milliseconds that ``function()`` takes."""
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1e3


def single_process_worker(library: str, steps: int, threads: int, model: str) -> None:
    """One configuration in this (fresh) process: print its step times as JSON."""
    if library == "torch":
        import torch
        torch.set_num_threads(threads)
    step, _ = TRAINERS[library](*batch(np.random.default_rng(0), model), model=model)
    print(json.dumps(step_times(step, steps)))


# The configurations take turns this many times, each for a share of the steps, so that load from other
# processes on a shared machine hits them alike.
ROUNDS = 3


def data_parallel_command(library: str, ranks: int, steps: int, model: str) -> tuple[list[str], dict[str, str], str]:
    """The command line and environment of one run of a configuration, and its name in the table."""
    threads = max(1, (os.cpu_count() or 1) // ranks)
    worker = [sys.executable, __file__, "--steps", str(steps), "--threads", str(threads), "--model", model]
    name = {"gradlab": "gradlab", "torch": "PyTorch"}[library]
    plural = "s" if threads > 1 else ""
    if ranks == 1:
        return worker + ["--worker", library], dict(os.environ), f"{name} 1 process x {threads} thread{plural}"
    with socket.socket() as probe:  # a free port for gloo's rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line, environment = mpiexec_command(ranks, worker + ["--rank-worker", library, "--port", str(port)])
    kind = "gloo DDP" if library == "torch" else "DDP"
    return line, environment, f"{name} {ranks} ranks ({kind}) x {threads} thread{plural}"


def compare_data_parallel(nproc: int, steps: int, model: str) -> None:
    """Run the configurations in turns, each run a fresh process or mpiexec job; print the table."""
    configurations = [(library, ranks) for library in ("gradlab", "torch") for ranks in (1, nproc)
                      if library == "gradlab" or importlib.util.find_spec("torch") is not None]
    results: dict[tuple[str, int], dict[str, list]] = {}
    labels = {}
    for _ in range(ROUNDS):
        for configuration in configurations:
            line, environment, labels[configuration] = data_parallel_command(*configuration, steps // ROUNDS, model)
            run = subprocess.run(line, env=environment, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                raise SystemExit(f"{labels[configuration]} failed:\n{run.stderr}")
            for key, values in json.loads(run.stdout.strip().splitlines()[-1]).items():
                results.setdefault(configuration, {}).setdefault(key, []).extend(values)
    print(f"{model}, global batch {WORKLOADS[model].images()}, {steps // ROUNDS * ROUNDS} timed steps per "
          f"configuration in {ROUNDS} turns, {os.cpu_count()} cores")
    print(f"{'configuration':<40} {'min ms':>8} {'median ms':>10}   / PyTorch 1 process: min, median")
    reference = results.get(("torch", 1))
    for configuration, result in results.items():
        times = result["times"]
        line = f"{labels[configuration]:<40} {min(times):>8.1f} {statistics.median(times):>10.1f}"
        if reference:
            line += (f"   {min(times) / min(reference['times']):.2f}x, "
                     f"{statistics.median(times) / statistics.median(reference['times']):.2f}x")
        print(line)
    one, many = results[("gradlab", 1)]["times"], results[("gradlab", nproc)]
    communication = statistics.median(many["communication"])
    print(f"gradlab 1 -> {nproc} ranks: {statistics.median(one) / statistics.median(many['times']):.2f}x faster "
          f"(medians), {min(one) / min(many['times']):.2f}x (minima)")
    print(f"gradlab {nproc} ranks, time a step spends starting allreduces and waiting for them on rank 0: median "
          f"{communication:.2f} ms, {communication / statistics.median(many['times']):.1%} of the step; a bare "
          f"allreduce of the gradients (float32, {nproc} ranks): median "
          f"{statistics.median(many['bare_allreduce']):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(WORKLOADS), default="resnet20", help="the network and its batch")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per library (after 3 warm-up steps)")
    parser.add_argument("--chunk", type=int, default=10, help="steps per library before switching to the other")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads (match the BLAS)")
    parser.add_argument("--nproc", type=int, help="compare data-parallel training on this many ranks instead")
    parser.add_argument("--memory-worker", choices=sorted(TRAINERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=sorted(TRAINERS), help=argparse.SUPPRESS)
    parser.add_argument("--rank-worker", choices=sorted(TRAINERS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    keep_freed_memory()  # for both libraries, as gradlab's command line does
    if args.memory_worker:
        print(json.dumps(measure_memory(args.memory_worker, 5, args.threads, args.model)))
        return
    if args.worker:
        single_process_worker(args.worker, args.steps, args.threads, args.model)
        return
    if args.rank_worker:
        data_parallel_worker(args.rank_worker, args.steps, args.threads, args.port, args.model)
        return
    if args.nproc:
        compare_data_parallel(args.nproc, args.steps, args.model)
        return

    libraries = ["gradlab"]
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(args.threads)
        libraries.append("torch")
    images, labels = batch(np.random.default_rng(0), args.model)
    trainers = {}
    for library in libraries:
        step, parameters = TRAINERS[library](images, labels, model=args.model)
        for _ in range(3):
            step()
        trainers[library] = step
        print(f"{library:<8} {args.model}: {parameters:,} parameters")

    times: dict[str, list[float]] = {library: [] for library in libraries}
    cpu_times: dict[str, list[float]] = {library: [] for library in libraries}
    rss: list[float] = []
    leaked_graphs = 0
    losses = []
    done = 0
    while done < args.steps:
        count = min(args.chunk, args.steps - done)
        for library in libraries:
            step = trainers[library]
            for _ in range(count):
                start, cpu_start = time.perf_counter(), time.process_time()
                loss = step()
                times[library].append((time.perf_counter() - start) * 1e3)
                cpu_times[library].append((time.process_time() - cpu_start) * 1e3)
                if library == "gradlab":
                    node = weakref.ref(loss.grad_fn)
                    losses.append(loss.item())
                    del loss
                    leaked_graphs += node() is not None
                    rss.append(rss_mib())
        done += count

    print(f"\n{args.steps} steps each, batch {WORKLOADS[args.model].images()}, alternating every {args.chunk} "
          f"steps, torch threads {args.threads}")
    for clock, samples in (("wall-clock", times), ("CPU time (all threads)", cpu_times)):
        line = f"{clock} per step, min / median: gradlab {min(samples['gradlab']):.1f} / " \
               f"{statistics.median(samples['gradlab']):.1f} ms"
        if "torch" in samples:
            ours, theirs = samples["gradlab"], samples["torch"]
            line += (f", PyTorch {min(theirs):.1f} / {statistics.median(theirs):.1f} ms, ratio "
                     f"{min(ours) / min(theirs):.2f}x / {statistics.median(ours) / statistics.median(theirs):.2f}x")
        print(line)
    print(f"gradlab loss: {losses[0]:.4f} at the first timed step, {losses[-1]:.4f} at the last")

    memory = {library: memory_in_subprocess(library, args.threads, args.model) for library in libraries}
    for library, values in memory.items():
        if values:
            print(f"peak memory of training above the idle process ({library}): {values['training_mib']:.0f} MiB "
                  f"(idle {values['idle_mib']:.0f} MiB, peak {values['peak_mib']:.0f} MiB)")
    if memory.get("torch") and memory.get("gradlab"):
        ratio = memory["gradlab"]["training_mib"] / memory["torch"]["training_mib"]
        print(f"memory ratio gradlab / PyTorch: {ratio:.2f}x")

    settled = rss[min(10, len(rss) - 1)]
    drift = max(rss) - settled
    print(f"gradlab resident memory: {settled:.0f} MiB after 10 steps, {rss[-1]:.0f} MiB after {len(rss)}, "
          f"max {max(rss):.0f} MiB (drift {drift:+.0f} MiB); graphs still alive after their step: {leaked_graphs}")
    flat = leaked_graphs == 0 and rss[-1] - settled < 0.1 * settled
    print("memory is flat: no graph kept alive between steps" if flat else "MEMORY GROWS between steps")


if __name__ == "__main__":
    main()
