"""``gradlab evaluate``: test accuracy and confusion matrix of a checkpoint written by ``gradlab train``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np

import nn

from .arguments import MODELS
from .train_command import (CHECKPOINT, classes_of, evaluate, find_checkpoint, load_datasets,
                            load_run, restore)

HELP = "report a trained model's test accuracy and confusion matrix (text and PNG)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument("--checkpoint", required=True, metavar="PATH",
                        help=f"checkpoint file, or the run folder holding it ({CHECKPOINT}, or checkpoint.npz "
                             f"from older runs)")
    parser.add_argument("--data-dir", help="folder of the MNIST/CIFAR-10 files (default: the one used for training)")
    parser.add_argument("--out", help="folder for confusion_matrix.png (default: the checkpoint's folder)")


def run(args: argparse.Namespace) -> int:
    """Evaluate the checkpoint on its run's test split; print accuracy and the confusion matrix.

    Raises:
        CommandError: no checkpoint there, or one that is not a run saved by ``gradlab train``.
    """
    path = find_checkpoint(args.checkpoint)
    checkpoint = load_run(path)
    config = dict(checkpoint["config"])
    config["data_dir"] = args.data_dir or config["data_dir"]
    _, test_set = load_datasets(config, train_transform=False)
    classes = classes_of(config["dataset"])
    model = MODELS[config["model"]].build(len(classes), test_set.data.shape[1])
    restore(path, checkpoint, model)
    loss, accuracy, predictions = evaluate(model, test_set, nn.CrossEntropyLoss())
    matrix = confusion_matrix(test_set.targets, predictions, len(classes))
    print(f"{config['model']} on {config['dataset']} ({len(test_set)} test images, after "
          f"{len(checkpoint['history'])} epochs): test accuracy {accuracy:.2%}, test loss {loss:.4f}")
    print(format_confusion_matrix(matrix, classes))
    out = Path(args.out) if args.out else path.parent
    out.mkdir(parents=True, exist_ok=True)
    try:
        save_confusion_matrix(matrix, classes, accuracy, out / "confusion_matrix.png")
    except ImportError:
        print("matplotlib is not installed: no confusion_matrix.png (pip install matplotlib)")
    else:
        print(f"wrote {out / 'confusion_matrix.png'}")
    return 0


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """Counts ``matrix[true, predicted]``, shape (classes, classes)."""
    return np.bincount(targets * classes + predictions, minlength=classes * classes).reshape(classes, classes)


def format_confusion_matrix(matrix: np.ndarray, classes: Sequence[str]) -> str:
    """The matrix as a text table (rows: true class, columns: predicted), with each class's recall."""
    names = [name[:6] for name in classes]
    width = max(6, len(str(matrix.max())) + 1)
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             " " * 8 + "".join(f"{name:>{width}}" for name in names) + "  recall"]
    for index, (name, row) in enumerate(zip(names, matrix)):
        recall = row[index] / row.sum() if row.sum() else float("nan")
        lines.append(f"{name:>8}" + "".join(f"{count:>{width}}" for count in row) + f"  {recall:6.1%}")
    return "\n".join(lines)


def save_confusion_matrix(matrix: np.ndarray, classes: Sequence[str], accuracy: float, path: Path) -> None:
    """Draw the matrix as a heat map with its counts and save it as PNG (matplotlib, no GUI backend)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.0 + 0.55 * len(classes), 0.8 + 0.5 * len(classes)), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    threshold = matrix.max() / 2
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > threshold else "black")
    ticks = np.arange(len(classes))
    axes.set_xticks(ticks, classes, rotation=45 if max(map(len, classes)) > 2 else 0, fontsize=8)
    axes.set_yticks(ticks, classes, fontsize=8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"test accuracy {accuracy:.2%}")
    figure.savefig(path, dpi=120)
