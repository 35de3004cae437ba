"""``gradlab train``: train a CNN end to end and write its checkpoint, metrics, curves and step graph.

With no options it trains the small ResNet of ``nn.models.resnet_digits`` on the bundled 8x8 digits
(a fixed 80/20 train/test split), which needs no download and takes about a minute on two CPU cores.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

import autograd
import nn
import optim
from autograd import random as _random
from nn.data import CIFAR10, MNIST, DataLoader, ImageDataset, load_digits
from nn.data import transforms as T
from nn.models import BasicBlock, CifarResNet, LeNet5

HELP = "train a CNN (default: a small ResNet on the bundled 8x8 digits) and save checkpoint, metrics and plots"
CHECKPOINT = "checkpoint.npz"
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
    "digits": DatasetDefaults("resnet", 15, 32, 0.05, (0.305,), (0.376,), crop_padding=1, flip=False),
    "mnist": DatasetDefaults("lenet5", 5, 128, 0.05, (0.1307,), (0.3081,), crop_padding=0, flip=False),
    "cifar10": DatasetDefaults("resnet20", 30, 128, 0.1, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
                               crop_padding=4, flip=True),
}

# Each builder takes (input channels, classes); "resnet" is resnet_digits' architecture for any channel count.
MODELS: dict[str, Callable[[int, int], nn.Module]] = {
    "resnet": lambda channels, classes: CifarResNet(BasicBlock, [1, 1], classes, channels, widths=(16, 32)),
    "resnet20": lambda channels, classes: CifarResNet(BasicBlock, [3, 3, 3], classes, channels),
    "resnet32": lambda channels, classes: CifarResNet(BasicBlock, [5, 5, 5], classes, channels),
    "resnet56": lambda channels, classes: CifarResNet(BasicBlock, [9, 9, 9], classes, channels),
    "lenet5": lambda channels, classes: LeNet5(classes, channels),
}
ADAM_LR = 1e-3

# Settings a resumed run keeps from its checkpoint.
FIXED_ON_RESUME = ("model", "dataset", "batch_size", "lr", "optimizer", "seed", "limit")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument("--model", choices=sorted(MODELS), help="architecture (default: resnet for digits, "
                        "lenet5 for mnist, resnet20 for cifar10)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="dataset (default: digits, bundled)")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files or the CIFAR-10 binary batches")
    parser.add_argument("--epochs", type=int, help="number of epochs (on --resume: the new total)")
    parser.add_argument("--batch-size", type=int, help="training batch size")
    parser.add_argument("--lr", type=float, help="peak learning rate (cosine-annealed to 0 over the epochs)")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], help="sgd (Nesterov momentum 0.9, weight decay "
                        "5e-4; the default) or adam")
    parser.add_argument("--seed", type=int, help="random seed for init, shuffling and augmentation (default: 0)")
    parser.add_argument("--out", help="output folder (default: runs/DATASET-MODEL, or the --resume folder)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (its checkpoint and metrics)")
    parser.add_argument("--limit", type=int, help="use only the first N training and N test images (quick checks)")


def run(args: argparse.Namespace) -> int:
    """Train, evaluating on the test split after every epoch; return 0 on success."""
    checkpoint = None
    if args.resume:
        given = [f"--{name.replace('_', '-')}" for name in FIXED_ON_RESUME if getattr(args, name) is not None]
        if given:
            print(f"error: --resume continues a run with its saved settings; {', '.join(given)} cannot be changed "
                  f"(only --epochs, --out and --data-dir)", file=sys.stderr)
            return 2
        checkpoint = autograd.load(checkpoint_path(args.resume))
        config = dict(checkpoint["config"])
        config["epochs"] = args.epochs or config["epochs"]
        config["data_dir"] = args.data_dir or config["data_dir"]
    else:
        config = make_config(args)
    out = Path(args.out or args.resume or f"runs/{config['dataset']}-{config['model']}")
    out.mkdir(parents=True, exist_ok=True)

    autograd.manual_seed(config["seed"])
    train_set, test_set = load_datasets(config, train_transform=True)
    model = MODELS[config["model"]](train_set.data.shape[1], len(classes_of(config["dataset"])))
    optimizer = make_optimizer(config, model)
    total_epochs = config["epochs"]
    # Cosine annealing in closed form, so that a resumed run with more epochs stretches the schedule.
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5 * (1 + math.cos(math.pi * epoch / total_epochs)))
    history: list[dict[str, float]] = []
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        history = list(checkpoint["history"])
        # Continue the random stream where it stopped, so a resumed run matches an uninterrupted one.
        _random.generator().bit_generator.state = checkpoint["rng"]
    start_epoch = len(history)
    if start_epoch >= total_epochs:
        print(f"{out}: already trained for {start_epoch} epochs (pass --epochs N with N > {start_epoch} to continue)")
        return 0

    loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    parameters = sum(p.numel() for p in model.parameters())
    print(f"training {config['model']} ({parameters:,} parameters) on {config['dataset']}: {len(train_set)} train / "
          f"{len(test_set)} test images, epochs {start_epoch + 1}-{total_epochs}, {config['optimizer']} "
          f"lr {config['lr']}, batch {config['batch_size']}, seed {config['seed']} -> {out}")
    graph_note = None
    for epoch in range(start_epoch, total_epochs):
        model.train()
        started = time.perf_counter()
        seen = correct = 0
        loss_sum = 0.0
        bar = tqdm(total=len(train_set), desc=f"epoch {epoch + 1}/{total_epochs}", unit="img", leave=False,
                   file=sys.stderr, dynamic_ncols=True)
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            draw = graph_note is None
            if draw:
                graph_note = "pending"
                capture = start_graph(loss)
            logits = loss.grad_fn and None
            loss.backward()
            optimizer.step()
            if draw:
                graph_note = save_graph(capture, loss, model, out)
            batch = len(labels)
            seen += batch
            loss_sum += loss.item() * batch
            bar.update(batch)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.2%}" if correct else None)
        bar.close()
        row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": loss_sum / seen}
        scheduler.step()
        row.update(evaluate(model, test_set, loss_fn))
        row["images_per_s"] = seen / (time.perf_counter() - started)
        history.append(row)
        print(f"epoch {epoch + 1:>3}/{total_epochs}  train loss {row['train_loss']:.4f}  test loss "
              f"{row['test_loss']:.4f}  test acc {row['test_acc']:.2%}  lr {row['lr']:.4g}  "
              f"{row['images_per_s']:.0f} img/s")
        autograd.save({"config": config, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                       "scheduler": scheduler.state_dict(), "history": history,
                       "rng": _random.generator().bit_generator.state}, out / CHECKPOINT)
        write_metrics(history, config, out)
    print(f"test accuracy {history[-1]['test_acc']:.2%} after {total_epochs} epochs")
    print(f"wrote {out / CHECKPOINT}, {out / 'metrics.json'}, {out / 'metrics.csv'}")
    print(plot_curves(history, out))
    if graph_note:
        print(graph_note)
    return 0
