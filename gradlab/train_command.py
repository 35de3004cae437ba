"""``gradlab train``: train a CNN end to end and write its checkpoint, metrics, curves and step graph.

With no options it trains the small ResNet of ``nn.models.resnet_digits`` on the bundled 8x8 digits
(a fixed 80/20 train/test split), which needs no download and takes 5-15 s on two CPU cores.

Under ``mpiexec`` (or with ``--nproc N``, which starts N ranks on this machine through ``gradlab.launcher``) it
trains data-parallel: the model is wrapped in ``DistributedDataParallel``, each rank loads its share of every batch
(``DistributedSampler``; ``--batch-size`` is the global batch), evaluation is split across the ranks and its sums
added up, and rank 0 alone takes the folder's lock, prints, and writes the checkpoint, metrics, curves and graph.
A rank that stops with an error ends the whole job (``gradlab.cli``), so that no rank waits for it for ever.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import autograd
import nn
import optim
from autograd import distributed
from autograd import random as _random
from nn.data import CIFAR10, MNIST, DataLoader, DistributedSampler, ImageDataset, load_digits
from nn.data import transforms as T
from nn.parallel import DistributedDataParallel

from .arguments import (INTERRUPTED, MODELS, CommandError, UsageError, add_device_argument, add_model_argument,
                        canonical_model_name, int_at_least, positive_float, usable_device)
from .launcher import mpiexec_command
from .run_lock import RunLock

HELP = "train a CNN (default: a small ResNet on the bundled 8x8 digits) and save checkpoint, metrics and plots"
CHECKPOINT = "checkpoint.safetensors"
# What run folders held before checkpoints moved to safetensors; autograd.load still reads it, and it is
# looked for when a folder holds no CHECKPOINT.
LEGACY_CHECKPOINT = "checkpoint.npz"
METRICS = ("metrics.json", "metrics.csv")
# Everything gradlab writes into a run folder: what --force deletes before a new run starts there.
RUN_FILES = (CHECKPOINT, LEGACY_CHECKPOINT, *METRICS, "curves.png", "graph.svg", "graph.dot", "confusion_matrix.png",
             "model.onnx", "health.csv", "health.json", "health.png")
# What a checkpoint written by run() holds, and the settings in its "config".
RUN_KEYS = ("config", "epoch", "model", "optimizer", "history", "rng")
CONFIG_KEYS = ("dataset", "model", "epochs", "batch_size", "optimizer", "lr", "seed", "limit", "data_dir")
# The digits have no official test set: this seed fixes the held-out 20% whatever the training seed.
DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True)
class DatasetDefaults:
    """What a dataset is trained with unless the command line says otherwise, and how it is normalized."""

    model: str
    epochs: int
    batch_size: int
    lr: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_padding: int
    flip: bool


DATASETS = {
    "digits": DatasetDefaults("resnet_digits", 15, 32, 0.05, (0.305,), (0.376,), crop_padding=1, flip=False),
    "mnist": DatasetDefaults("lenet5", 5, 128, 0.05, (0.1307,), (0.3081,), crop_padding=0, flip=False),
    "cifar10": DatasetDefaults("resnet20", 30, 128, 0.1, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
                               crop_padding=4, flip=True),
}

ADAM_LR = 1e-3
# (channels, height, width) of each dataset's images, to refuse a model that cannot read them.
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}

# Settings a resumed run keeps from its checkpoint.
FIXED_ON_RESUME = ("model", "dataset", "batch_size", "lr", "optimizer", "seed", "limit")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    add_model_argument(parser, None, "architecture (default: " + ", ".join(
        f"{defaults.model} for {name}" for name, defaults in DATASETS.items()) + ")")
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="dataset (default: digits, bundled)")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files or the CIFAR-10 binary batches")
    parser.add_argument("--epochs", type=int_at_least(1), help="number of epochs (on --resume: the new total; "
                        f"default: {per_dataset('epochs')})")
    parser.add_argument("--batch-size", type=int_at_least(1),
                        help=f"training batch size (default: {per_dataset('batch_size')})")
    parser.add_argument("--lr", type=positive_float, help="peak learning rate, cosine-annealed to 0 over the epochs "
                        f"(default with sgd: {per_dataset('lr')}; with adam: {ADAM_LR})")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], help="sgd (Nesterov momentum 0.9, weight decay "
                        "5e-4; the default) or adam")
    parser.add_argument("--seed", type=int_at_least(0),
                        help="random seed for init, shuffling and augmentation (default: 0)")
    parser.add_argument("--out", help="output folder (default: runs/DATASET-MODEL, such as runs/digits-resnet, "
                        "where a model named for its dataset drops that suffix; or the --resume folder); one "
                        "that already holds a run is refused unless --force is given")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (its checkpoint and metrics)")
    start.add_argument("--force", action="store_true", help="replace the run already in --out: its checkpoint, "
                       "metrics and plots are deleted before training starts")
    add_device_argument(parser)
    parser.add_argument("--limit", type=int_at_least(1),
                        help="use only the first N training and N test images (quick checks)")
    parser.add_argument("--nproc", type=int_at_least(1),
                        help="train data-parallel on N processes of this machine (needs gradlab[dist]); the batch "
                        "size stays the global one, split across them. Under mpiexec, leave it out")
    parser.add_argument("--health", action="store_true", help="watch the training's health (viz.HealthMonitor): "
                        "print a warning line when a rule trips, write health.csv, health.json and health.png")


def per_dataset(setting: str) -> str:
    """``15 for digits, 5 for mnist, ...``: a setting's default on each dataset, for ``--help``."""
    return ", ".join(f"{getattr(defaults, setting)} for {name}" for name, defaults in DATASETS.items())


def default_folder(config: dict[str, Any]) -> Path:
    """``runs/DATASET-MODEL``; a model named for its dataset drops the suffix (``runs/digits-resnet``)."""
    return Path("runs", f"{config['dataset']}-{config['model'].removesuffix('_' + config['dataset'])}")


@dataclass
class Position:
    """Where training is, for the message of a run that stops early: the epoch (from 1) and the step in it."""

    epoch: int
    step: int = 0


class Diverged(Exception):
    """The training loss became NaN or infinite; the message is the loss."""


def run(args: argparse.Namespace) -> int:
    """Train, evaluating on the test split after every epoch; return 0 on success, INTERRUPTED (130) on Ctrl-C.

    With ``--nproc N`` outside mpiexec, check the settings, then run this command again as N ranks under mpiexec
    and return its exit status.

    Raises:
        UsageError: options that contradict each other or the resumed run's settings.
        CommandError: a missing or foreign checkpoint, an output folder that holds a run or is in use, a
            training loss that became NaN, or ``--nproc`` without MPI installed.
    """
    try:
        distributed.init()  # a world of this process alone, unless mpiexec started it
    except ImportError as error:  # started by mpiexec, but mpi4py is missing: the message says what to install
        raise CommandError(str(error)) from None
    world = distributed.get_world_size()
    if args.nproc is not None and distributed.is_launched() and args.nproc != world:
        raise UsageError(f"--nproc {args.nproc} given to a rank of an mpiexec job of {world}: under mpiexec, "
                         f"leave --nproc out (mpiexec -n sets the number of processes)")
    processes = args.nproc or world
    checkpoint = resumed = None
    if args.resume:
        given = [f"--{name.replace('_', '-')}" for name in FIXED_ON_RESUME if getattr(args, name) is not None]
        if given:
            raise UsageError(f"--resume continues a run with its saved settings; {', '.join(given)} cannot be "
                             f"changed (only --epochs, --out, --data-dir and --nproc)")
        resumed = find_checkpoint(args.resume)
        checkpoint = load_run(resumed)
        config = dict(checkpoint["config"])
        config["epochs"] = config["epochs"] if args.epochs is None else args.epochs
        config["data_dir"] = args.data_dir or config["data_dir"]
    else:
        config = make_config(args)
    if config["batch_size"] % processes:
        raise UsageError(f"the batch size {config['batch_size']} is split evenly across the {processes} processes: "
                         f"choose one divisible by {processes}")
    if args.out:
        out = Path(args.out)
    elif resumed:
        out = resumed.parent
    else:
        out = default_folder(config)
    if processes > world:
        return launch(processes, args.command_line, out)
    device = usable_device(args.device)
    if distributed.get_rank() != 0:
        return train(config, checkpoint, resumed, out, args.health, device)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"cannot create the output folder {out}: {error.strerror or error}") from None
    with RunLock(out):
        prepare_folder(out, resumed, args.force)
        return train(config, checkpoint, resumed, out, args.health, device)


def launch(nproc: int, command_line: list[str], out: Path) -> int:
    """Run ``gradlab COMMAND_LINE`` as ``nproc`` ranks under mpiexec, writing into ``out``; return their exit status.

    Ctrl-C stops mpiexec, which ends the ranks at once (they run in process groups of their own, so the signal does
    not reach them, and rank 0 cannot report): this process waits for mpiexec, then says what was saved.
    """
    line, environment = mpiexec_command(nproc, [sys.executable, "-m", "gradlab", *command_line])
    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: interrupted.append(number))
    try:
        status = subprocess.run(line, env=environment, stdin=subprocess.DEVNULL, check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
    if not interrupted:
        return 128 - status if status < 0 else status
    # Checkpoints are written whole or not at all, so the one in out is the last epoch that finished.
    checkpoint = out / CHECKPOINT
    if checkpoint.is_file():
        print(f"interrupted: saved epoch {load_run(checkpoint)['epoch']} to {checkpoint}; resume with gradlab train "
              f"--resume {out} --nproc {nproc}", file=sys.stderr)
    else:
        print("interrupted: no epoch had completed, nothing saved", file=sys.stderr)
    return INTERRUPTED


def prepare_folder(out: Path, resumed: Path | None, force: bool) -> None:
    """Refuse to write over a run already in ``out``, unless it is the one being resumed; ``force`` deletes it.

    A run is a checkpoint or a metrics file: an empty folder, or one holding other files, is used as it is.
    """
    found = [name for name in (CHECKPOINT, LEGACY_CHECKPOINT, *METRICS) if (out / name).exists()]
    if not found or (resumed is not None and out.resolve() == resumed.parent.resolve()):
        return
    if force:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        print(f"--force: deleted the run in {out} ({', '.join(found)} and its plots)")
    elif resumed is not None:
        raise CommandError(f"{out} already holds another run ({', '.join(found)}): choose another --out, or "
                           f"continue that run with --resume {out}")
    else:
        raise CommandError(f"{out} already holds a run ({', '.join(found)}): continue it with --resume {out}, or "
                           f"pass --force to replace it")


def train(config: dict[str, Any], checkpoint: dict[str, Any] | None, resumed: Path | None, out: Path,
          health: bool = False, device: autograd.Device | str = "cpu") -> int:
    """The body of ``run`` once ``out`` is locked (by rank 0): ``checkpoint`` is the run read from ``resumed``, or
    None; ``health`` watches it with ``viz.HealthMonitor`` (rank 0). Every rank runs it; rank 0 alone prints and
    writes."""
    main = distributed.get_rank() == 0
    world = distributed.get_world_size()
    report = print if main else _quiet
    # Every rank draws the same augmentation from the same stream (so rank 0's saved state resumes them all); the
    # images differ, the crops and flips at one position of the ranks' batches do not.
    autograd.manual_seed(config["seed"])
    train_set, test_set = load_datasets(config, train_transform=True)
    # On the device before the optimizer and the checkpoint: both then put their state beside the parameters.
    model = MODELS[config["model"]].build(len(classes_of(config["dataset"])), train_set.data.shape[1]).to(device)
    optimizer = make_optimizer(config, model)
    total_epochs, start_epoch = config["epochs"], 0
    history: list[dict[str, float]] = []
    # (epoch, file) of the newest checkpoint of this run, for the message of a run that stops early.
    saved = None
    if checkpoint is not None:
        restore(resumed, checkpoint, model, optimizer)
        start_epoch, history = checkpoint["epoch"], list(checkpoint["history"])
        saved = (start_epoch, resumed)
    if start_epoch >= total_epochs:
        report(f"{out}: already trained for {start_epoch} epochs (pass --epochs N with N > {start_epoch} to continue)")
        return 0
    # Cosine annealing as a function of the epoch, rebuilt at the saved epoch on resume (PyTorch's
    # last_epoch idiom) rather than loaded, so that a larger --epochs stretches the rest of the schedule.
    scheduler = optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: 0.5 * (1 + math.cos(math.pi * epoch / total_epochs)), last_epoch=start_epoch - 1)

    trained: nn.Module = model
    sampler = None
    batch = f"batch {config['batch_size']}"
    if world > 1:
        trained = DistributedDataParallel(model)
        sampler = DistributedSampler(train_set, seed=config["seed"])
        loader = DataLoader(train_set, batch_size=config["batch_size"] // world, sampler=sampler)
        batch += f" ({loader.batch_size} on each of {world} processes)"
    else:
        loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    parameters = sum(p.numel() for p in model.parameters())
    report(f"training {config['model']} ({parameters:,} parameters) on {config['dataset']}: {len(train_set)} train / "
           f"{len(test_set)} test images, epochs {start_epoch + 1}-{total_epochs}, {config['optimizer']} "
           f"lr {config['lr']}, {batch}, seed {config['seed']} -> {out}")
    viz = import_viz() if main else None
    if health and main and viz is None:
        raise CommandError("--health needs the viz package and its graphviz dependency (pip install graphviz)")
    # tqdm.write keeps a warning line from breaking the progress bar.
    monitor = viz.HealthMonitor(model, optimizer, log=tqdm.write) if health and main else None
    graph_note = None
    position = Position(start_epoch + 1)
    try:
        for epoch in range(start_epoch, total_epochs):
            position.epoch, position.step = epoch + 1, 0
            started = time.perf_counter()
            row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
            if sampler is not None:
                sampler.set_epoch(epoch)
            row["train_loss"], row["train_acc"], note = train_epoch(
                trained, loader, optimizer, loss_fn, position, f"epoch {epoch + 1}/{total_epochs}",
                graph=(viz, out, model) if viz is not None and epoch == start_epoch else None)
            graph_note = graph_note or note
            row["images_per_s"] = len(train_set) / (time.perf_counter() - started)
            scheduler.step()
            # Every rank evaluates the model rank 0 saves: each one's last step updated its own running statistics.
            distributed.broadcast_tensors(list(model.buffers()))
            row["test_loss"], row["test_acc"] = evaluate_on_ranks(model, test_set, loss_fn)
            row["seconds"] = time.perf_counter() - started
            history.append(row)
            if not main:
                continue
            # Saved before the epoch's line is printed: a reader that has gone away (a closed pipe) stops the
            # run at that print, with this epoch kept.
            autograd.save({"config": config, "epoch": epoch + 1, "model": model.state_dict(),
                           "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                           "history": history, "rng": _random.generator().bit_generator.state}, out / CHECKPOINT)
            saved = (epoch + 1, out / CHECKPOINT)
            write_metrics(history, config, out)
            print(f"epoch {epoch + 1:>3}/{total_epochs}  train loss {row['train_loss']:.4f} acc "
                  f"{row['train_acc']:.2%}  test loss {row['test_loss']:.4f} acc {row['test_acc']:.2%}  lr "
                  f"{row['lr']:.4g}  {row['images_per_s']:.0f} img/s  {row['seconds']:.1f} s")
    except KeyboardInterrupt:
        # The epoch in progress is dropped: its half-updated weights are never written.
        where = f"interrupted at epoch {position.epoch} step {position.step}"
        if saved is None:
            report(f"{where}: no epoch had completed, nothing saved", file=sys.stderr)
        else:
            report(f"{where}: saved epoch {saved[0]} to {saved[1]}; resume with gradlab train --resume "
                   f"{saved[1].parent}", file=sys.stderr)
        return INTERRUPTED
    except Diverged as loss:
        where = (f"loss became {loss} at epoch {position.epoch}, step {position.step} "
                 f"(lr {optimizer.param_groups[0]['lr']:.4g}): training diverged")
        kept = ("before any epoch completed, nothing saved" if saved is None else
                f"the last good checkpoint, epoch {saved[0]}, is kept in {saved[1]}")
        raise CommandError(f"{where}; {kept}; a smaller --lr may help") from None
    finally:
        if monitor is not None:  # also for a run that diverged or was interrupted: then it matters most
            monitor.close()
            written = monitor.save(out)
            warnings = len(monitor.warnings)
            print(f"wrote the health of {monitor.steps} steps ({warnings} warning{'' if warnings == 1 else 's'}) to "
                  f"{', '.join(str(path) for path in written)}")
    if not main:
        return 0
    print(f"test accuracy {history[-1]['test_acc']:.2%} after {total_epochs} epoch{'' if total_epochs == 1 else 's'} "
          f"({sum(row['seconds'] for row in history[start_epoch:]):.1f} s of training and evaluation)")
    print(f"wrote {out / CHECKPOINT}, {out / 'metrics.json'}, {out / 'metrics.csv'}")
    if viz is not None:
        print(plot_curves(viz, history, out))
    if graph_note:
        print(graph_note)
    return 0


def _quiet(*values: Any, **options: Any) -> None:
    """``print`` for the ranks other than 0, which say nothing."""


def train_epoch(model: nn.Module, loader: DataLoader, optimizer: optim.Optimizer, loss_fn: nn.Module,
                position: Position, description: str,
                graph: tuple[Any, Path, nn.Module] | None = None) -> tuple[float, float, str | None]:
    """One pass over ``loader`` with a progress bar (loss, accuracy, images/s), on rank 0 only, and only when stderr
    is a terminal: in a log file or CI, the epoch's line that ``train`` prints is all.

    Args:
        model: the model, or its ``DistributedDataParallel`` (then ``loader`` holds this rank's share).
        position: its ``step`` is counted up as the steps start.
        graph: ``(viz, folder, model)`` to draw the graph of the first step into ``folder`` (with the parameter
            names of that model), or None.

    Returns:
        mean training loss and training accuracy (over all ranks), and the line saying where the graph went
        (or None).

    Raises:
        Diverged: a step's loss is NaN or infinite; that step's backward and update are not run.
    """
    model.train()
    device = next(model.parameters()).device  # the loader's batches are made on the CPU
    world = distributed.get_world_size()
    seen = correct = 0
    loss_sum = 0.0
    note = None
    with progress_bar(total=len(loader.dataset), desc=description, unit="img", leave=False, file=sys.stderr,
                      dynamic_ncols=True, disable=distributed.get_rank() != 0 or not sys.stderr.isatty()) as bar:
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            position.step += 1
            optimizer.zero_grad()
            logits = model(images)
            loss = loss_fn(logits, labels)
            value = loss.item()
            if not math.isfinite(value):
                raise Diverged(value)
            if graph is not None and note is None:
                graph[0].capture_grads(loss)
            loss.backward()
            optimizer.step()
            if graph is not None and note is None:
                viz, folder, named = graph
                note = save_graph(viz, folder, loss, named)
            seen += len(labels)
            correct += int((logits.data.argmax(1) == labels.data).sum())
            loss_sum += value * len(labels)
            bar.update(len(labels) * world)  # the other ranks' shares of the batch are as large
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.2%}")
    loss_sum, correct, seen = sum_over_ranks(loss_sum, correct, seen)
    return loss_sum / seen, correct / seen, note


def progress_bar(**options: Any) -> tqdm:
    """``tqdm(**options)``, built with Ctrl-C held back until it is complete.

    A tqdm interrupted inside ``__init__`` prints a traceback when it is collected later (its ``__del__``
    reads attributes that ``__init__`` had not set yet); held back, the KeyboardInterrupt arrives as the
    signal is unblocked, from a whole bar.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return tqdm(**options)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """The run's settings: the command line (its numbers checked by argparse), completed by the dataset's defaults."""
    dataset = args.dataset or "digits"
    defaults = DATASETS[dataset]
    optimizer = args.optimizer or "sgd"

    def given_or(value: Any, default: Any) -> Any:
        return default if value is None else value

    if dataset != "digits" and not args.data_dir:
        raise UsageError(f"--dataset {dataset} reads local files: pass --data-dir DIR")
    model = args.model or defaults.model
    spec, image = MODELS[model], IMAGE_SHAPES[dataset]
    if spec.fixed_channels and spec.input_shape[0] != image[0]:
        raise UsageError(f"--model {model} reads {spec.input_shape[0]}-channel images; {dataset} has "
                         f"{image[0]}-channel ones")
    if spec.fixed_size and spec.input_shape[1:] != image[1:]:
        raise UsageError(f"--model {model} reads {'x'.join(map(str, spec.input_shape[1:]))} images; {dataset} has "
                         f"{'x'.join(map(str, image[1:]))} ones")
    return {
        "dataset": dataset, "model": model, "epochs": given_or(args.epochs, defaults.epochs),
        "batch_size": given_or(args.batch_size, defaults.batch_size), "optimizer": optimizer,
        "lr": given_or(args.lr, defaults.lr if optimizer == "sgd" else ADAM_LR), "seed": given_or(args.seed, 0),
        "limit": args.limit, "data_dir": args.data_dir,
    }


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint file, given either it or the run folder holding it (CHECKPOINT, else LEGACY_CHECKPOINT).

    Raises:
        CommandError: no such file, or a folder that holds neither.
    """
    path = Path(path)
    if path.is_dir():
        for name in (CHECKPOINT, LEGACY_CHECKPOINT):
            if (path / name).is_file():
                return path / name
        raise CommandError(f"no checkpoint in {path} (looked for {CHECKPOINT} and {LEGACY_CHECKPOINT})")
    if not path.is_file():
        raise CommandError(f"no checkpoint at {path}")
    return path


def load_run(path: Path) -> dict[str, Any]:
    """The run saved by ``gradlab train`` in the checkpoint file ``path``.

    Raises:
        CommandError: the file is not a gradlab checkpoint, or holds something other than a run (a bare
            state dict is named as such).
    """
    try:
        checkpoint = autograd.load(path)
    except (ValueError, RuntimeError) as error:  # autograd.load's message starts with the path
        raise CommandError(str(error)) from None
    if isinstance(checkpoint, dict) and checkpoint and all(
            isinstance(value, (autograd.Tensor, np.ndarray)) for value in checkpoint.values()):
        raise CommandError(f"{path} is a bare state dict ({len(checkpoint)} tensors, such as "
                           f"{next(iter(checkpoint))!r}), not a run saved by gradlab train: it has no settings, "
                           f"optimizer state or history. Load it in Python: model.load_state_dict(autograd.load(path))")
    if not isinstance(checkpoint, dict):
        raise CommandError(f"{path} holds a {type(checkpoint).__name__}, not a run saved by gradlab train")
    missing = [key for key in RUN_KEYS if key not in checkpoint]
    if not missing and isinstance(checkpoint["config"], dict):
        missing = [f"config[{key!r}]" for key in CONFIG_KEYS if key not in checkpoint["config"]]
    if missing:
        raise CommandError(f"{path} is not a run saved by gradlab train: it has no {', '.join(missing)}")
    config = checkpoint["config"]
    if isinstance(config.get("model"), str):  # runs of older versions name models by their old aliases
        config["model"] = canonical_model_name(config["model"])
    if config["model"] not in MODELS or config["dataset"] not in DATASETS:
        raise CommandError(f"{path}: unknown model {config['model']!r} or dataset {config['dataset']!r}")
    return checkpoint


def restore(path: Path, checkpoint: dict[str, Any], model: nn.Module,
            optimizer: optim.Optimizer | None = None) -> None:
    """Put the run's saved weights into ``model``, and its optimizer state and random stream into ``optimizer``
    and the generator when one is given (to resume training).

    Raises:
        CommandError: the saved state does not fit (a checkpoint edited by hand, or a foreign one), naming ``path``.
    """
    try:
        model.load_state_dict(checkpoint["model"])
        if optimizer is not None:
            optimizer.load_state_dict(checkpoint["optimizer"])
            # Continue the random stream where it stopped, so a resumed run matches an uninterrupted one.
            _random.generator().bit_generator.state = checkpoint["rng"]
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        # load_state_dict puts each mismatched key on a line of its own; the error is to be one line.
        raise CommandError(f"{path}: the saved state does not fit a {checkpoint['config']['model']} model "
                           f"({' '.join(str(error).split())})") from None


def classes_of(dataset: str) -> list[str]:
    """The class names of ``dataset``."""
    return CIFAR10.classes if dataset == "cifar10" else MNIST.classes


def load_datasets(config: dict[str, Any], train_transform: bool) -> tuple[ImageDataset, ImageDataset]:
    """The training and test sets of the run, preprocessed for its model.

    Args:
        config: the run's settings (dataset, model, data_dir, limit).
        train_transform: augment the training set (random crops and flips) as training does.

    Raises:
        CommandError: a malformed dataset file (a missing one is the readers' FileNotFoundError).
    """
    dataset = config["dataset"]
    if dataset == "digits":
        images, labels = load_digits()
        images = images.astype(np.float32) / np.float32(16)
        order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(images))
        test_size = len(images) // 5
        splits = [(images[order[test_size:]], labels[order[test_size:]]),
                  (images[order[:test_size]], labels[order[:test_size]])]
    else:
        reader = MNIST if dataset == "mnist" else CIFAR10
        try:
            parts = reader(config["data_dir"], train=True), reader(config["data_dir"], train=False)
        except ValueError as error:  # a malformed file: the readers' messages name it and say what is wrong
            raise CommandError(str(error)) from None
        splits = [(part.data, part.targets) for part in parts]
    splits = [(images[:config["limit"]], labels[:config["limit"]]) for images, labels in splits]
    if config["model"] == "lenet5":
        splits = [(fit_lenet(images), labels) for images, labels in splits]
    defaults = DATASETS[dataset]
    normalize = [T.ToTensor(), T.Normalize(defaults.mean, defaults.std)]
    augment = []
    if train_transform and defaults.crop_padding:
        augment.append(T.RandomCrop(splits[0][0].shape[-1], padding=defaults.crop_padding))
    if train_transform and defaults.flip:
        augment.append(T.RandomHorizontalFlip())
    (train_images, train_labels), (test_images, test_labels) = splits
    return (ImageDataset(train_images, train_labels, T.Compose(augment + normalize)),
            ImageDataset(test_images, test_labels, T.Compose(normalize)))


def fit_lenet(images: np.ndarray) -> np.ndarray:
    """LeNet-5 reads 32x32 images: MNIST's 28x28 are zero-padded by 2 as in the paper, 8x8 digits upscaled 4x."""
    size = images.shape[-1]
    if size == 28:
        return np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))
    if size == 8:
        return images.repeat(4, axis=2).repeat(4, axis=3)
    return images


def make_optimizer(config: dict[str, Any], model: nn.Module) -> optim.Optimizer:
    """SGD with Nesterov momentum and weight decay, or Adam, at the run's learning rate."""
    if config["optimizer"] == "adam":
        return optim.Adam(model.parameters(), lr=config["lr"])
    return optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9, nesterov=True, weight_decay=5e-4)


def evaluate(model: nn.Module, dataset: ImageDataset, loss_fn: nn.Module,
             batch_size: int = 500) -> tuple[float, float, np.ndarray]:
    """Mean loss, accuracy and predicted classes of ``model`` on ``dataset`` (eval mode, no graph recorded)."""
    loss_sum, predictions = loss_sum_and_predictions(model, dataset, loss_fn, batch_size)
    return loss_sum / len(dataset), float(np.mean(predictions == dataset.targets)), predictions


def evaluate_on_ranks(model: nn.Module, dataset: ImageDataset, loss_fn: nn.Module) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``dataset``, each rank evaluating every world-size-th image.

    The ranks' loss sums and counts of correct predictions are added up, so every rank gets the numbers of the
    whole dataset (in a world of one process, those of ``evaluate``).
    """
    rank, world = distributed.get_rank(), distributed.get_world_size()
    share = ImageDataset(dataset.data[rank::world], dataset.targets[rank::world], dataset.transform)
    loss_sum, predictions = loss_sum_and_predictions(model, share, loss_fn)
    loss_sum, correct = sum_over_ranks(loss_sum, np.count_nonzero(predictions == share.targets))
    return loss_sum / len(dataset), correct / len(dataset)


def loss_sum_and_predictions(model: nn.Module, dataset: ImageDataset, loss_fn: nn.Module,
                             batch_size: int = 500) -> tuple[float, np.ndarray]:
    """The summed loss and the predicted classes of ``model`` on ``dataset`` (eval mode, no graph recorded)."""
    model.eval()
    loss_sum = 0.0
    predictions = [np.zeros(0, np.int64)]  # a rank's share of a tiny test set may be empty
    device = next(model.parameters()).device
    with autograd.no_grad():
        for images, labels in DataLoader(dataset, batch_size=batch_size):
            logits = model(images.to(device))
            loss_sum += loss_fn(logits, labels.to(device)).item() * len(labels)
            predictions.append(logits.argmax(1).cpu().numpy())
    return loss_sum, np.concatenate(predictions)


def sum_over_ranks(*values: float) -> tuple[float, ...]:
    """Each of ``values`` summed over the ranks (one allreduce): what it is in one process with all their data."""
    totals = np.array(values, np.float64)
    distributed.all_reduce(autograd.from_numpy(totals))
    return tuple(totals.tolist())


def write_metrics(history: list[dict[str, float]], config: dict[str, Any], out: Path) -> None:
    """``metrics.json`` (the settings and one record per epoch) and ``metrics.csv`` (one row per epoch)."""
    (out / "metrics.json").write_text(json.dumps({"config": config, "epochs": history}, indent=2) + "\n")
    with open(out / "metrics.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def import_viz() -> Any:
    """The ``viz`` package, or None when it (or graphviz, its dependency) cannot be imported."""
    try:
        import viz
    except ImportError:
        return None
    return viz


def save_graph(viz: Any, out: Path, loss: autograd.Tensor, model: nn.Module) -> str:
    """Draw the graph of one training step (coloured by gradient norm) as SVG, or as DOT source without ``dot``.

    Returns:
        a line saying which file was written.
    """
    dot = viz.make_dot(loss, dict(model.named_parameters()), show_grads=True)
    try:
        dot.render(out / "graph", format="svg", cleanup=True)
        return f"wrote the graph of one training step to {out / 'graph.svg'}"
    except viz.GraphvizNotFoundError:
        (out / "graph.dot").write_text(dot.source)
        return (f"wrote the graph of one training step as DOT source to {out / 'graph.dot'} (the graphviz 'dot' "
                f"program is not installed, so no SVG). {viz.dot.INSTALL_GRAPHVIZ}")


def plot_curves(viz: Any, history: list[dict[str, float]], out: Path) -> str:
    """Save the loss, accuracy and learning-rate curves as ``curves.png``.

    Returns:
        a line saying what was written, or why nothing was.
    """
    series = {key: [row[key] for row in history] for key in ("epoch", "train_loss", "test_loss", "train_acc",
                                                              "test_acc", "lr")}
    try:
        viz.plot_history(series, path=out / "curves.png")
    except ImportError as error:
        return f"no curves.png: {error}"
    return f"wrote the loss and accuracy curves to {out / 'curves.png'}"
