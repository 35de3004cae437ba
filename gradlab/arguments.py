"""What every command shares: the model names (one registry for train, graph, evaluate, lint and export), the
help formatter that shows defaults, checked option types, the two errors a command raises, and the exit statuses
of a run stopped by a signal.

Numeric options are checked by argparse as it parses them, so ``--lr nan`` or ``--epochs 0`` is reported
like any malformed option (usage, then ``gradlab train: error: argument --lr: ...``, exit status 2).
``gradlab.cli.main`` turns the errors below into the same usage message (``UsageError``, status 2) or into
one ``error: ...`` line (``CommandError``, status 1), never a traceback.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from dataclasses import dataclass
from typing import Callable

import autograd
import nn
from nn.models import LeNet5, resnet18, resnet20, resnet32, resnet50, resnet56, resnet_digits

# Exit statuses of a run stopped by a signal: 128 + its number, as shells report a program the signal killed.
INTERRUPTED = 128 + signal.SIGINT
# A reader that went away (`gradlab evaluate | head -1`) gets SIGPIPE's status, as `cat` or `yes` would: a
# script with `set -o pipefail` learns the output was cut short, and without pipefail the pipeline's status
# is the reader's, so nobody at a prompt notices.
PIPE_CLOSED = 128 + signal.SIGPIPE


class UsageError(Exception):
    """A combination of options that cannot work, found after parsing: reported with the command's usage."""


class CommandError(Exception):
    """A failure the user can act on (a missing or foreign file, a run that diverged): one ``error:`` line."""


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` for integers >= ``minimum`` (1 for epochs and batch sizes, 0 for seeds)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device cpu|cuda|cuda:N`` (default cpu), checked by ``usable_device`` once parsed."""
    parser.add_argument("--device", default="cpu", help="where to compute: cpu (default), cuda or cuda:N (an NVIDIA "
                        "GPU, through CuPy)")


def usable_device(name: str) -> autograd.Device:
    """The ``--device`` as a Device that works here.

    Raises:
        UsageError: not a device name.
        CommandError: "cuda" without CuPy or without a GPU (the message says which).
    """
    try:
        device = autograd.Device(name)
    except ValueError as error:
        raise UsageError(f"--device: {error}") from None
    try:
        autograd.device.module_for(device)
    except RuntimeError as error:
        raise CommandError(f"--device {name}: {error}") from None
    return device


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates); ``float`` alone would accept ``nan``, ``inf`` and ``-1``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text}")
    return value


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with `` (default: X)`` after every option that has a default its help does not name.

    ``argparse.ArgumentDefaultsHelpFormatter`` would also print ``(default: None)`` for options whose default
    depends on others (``gradlab train --epochs``), whose help says so in words.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


@dataclass(frozen=True)
class ModelSpec:
    """A model the command line can build.

    Attributes:
        build: ``build(num_classes, in_channels)`` returns the model.
        input_shape: the (channels, height, width) of one input image that ``graph``/``export`` feed it.
        fixed_channels: the model reads only ``input_shape[0]`` channels (the ImageNet ResNets: 3).
        fixed_size: the model reads only ``input_shape``'s height and width (the MLP's first layer).
        description: one line for ``--help``.
    """

    build: Callable[[int, int], nn.Module]
    input_shape: tuple[int, int, int]
    description: str
    fixed_channels: bool = False
    fixed_size: bool = False


def _mlp(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Two hidden layers of 32 on a flattened 8x8 image."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, num_classes))


def _imagenet(builder: Callable[[int], nn.Module]) -> Callable[[int, int], nn.Module]:
    def build(num_classes: int = 1000, in_channels: int = 3) -> nn.Module:
        return builder(num_classes)

    return build


#: The one list of model names, shared by every sub-command. The ImageNet ResNets get 64x64 inputs: their graph
#: has the same ops at any resolution, and a small image keeps the forward and backward quick.
MODELS: dict[str, ModelSpec] = {
    "mlp": ModelSpec(_mlp, (1, 8, 8), "a 3-layer perceptron on 8x8 images", fixed_size=True),
    "lenet5": ModelSpec(LeNet5, (1, 32, 32), "LeNet-5 (32x32 inputs; train pads or upscales to that)"),
    "resnet_digits": ModelSpec(resnet_digits, (1, 8, 8), "the small ResNet for the 8x8 digits (any size)"),
    "resnet20": ModelSpec(resnet20, (3, 32, 32), "CIFAR ResNet-20"),
    "resnet32": ModelSpec(resnet32, (3, 32, 32), "CIFAR ResNet-32"),
    "resnet56": ModelSpec(resnet56, (3, 32, 32), "CIFAR ResNet-56"),
    "resnet18": ModelSpec(_imagenet(resnet18), (3, 64, 64), "ImageNet ResNet-18 (3 channels)", fixed_channels=True),
    "resnet50": ModelSpec(_imagenet(resnet50), (3, 64, 64), "ImageNet ResNet-50 (3 channels)", fixed_channels=True),
}
# Old names still accepted (with a note on stderr), and read from the checkpoints of older runs.
MODEL_ALIASES = {"resnet": "resnet_digits"}


def canonical_model_name(name: str) -> str:
    """``name``, or the registry's name for an old alias (a checkpoint written as ``resnet`` is ``resnet_digits``)."""
    return MODEL_ALIASES.get(name, name)


def model_name(text: str) -> str:
    """An argparse ``type`` for ``--model``: an old alias becomes its new name, with a deprecation note on stderr
    (``choices=sorted(MODELS)`` then checks it)."""
    if text in MODEL_ALIASES:
        print(f"gradlab: --model {text} is deprecated, use --model {MODEL_ALIASES[text]}", file=sys.stderr)
    return canonical_model_name(text)


def add_model_argument(parser: argparse.ArgumentParser, default: str | None, help: str) -> None:
    """``--model NAME`` with the registry's names as its choices (aliases accepted)."""
    parser.add_argument("--model", type=model_name, choices=sorted(MODELS), default=default, metavar="MODEL",
                        help=f"{help}; one of: {', '.join(sorted(MODELS))}")
