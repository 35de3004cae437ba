"""``gradlab export``: write a run trained by ``gradlab train`` as an ONNX model (for onnxruntime, Netron...)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import autograd

from .arguments import MODELS, CommandError
from .train_command import (CHECKPOINT, DATASETS, IMAGE_SHAPES, classes_of, find_checkpoint, fit_lenet, load_run,
                            restore)

HELP = "export a trained run's model to ONNX (opens in Netron, runs in onnxruntime)"
FORMATS = ("onnx",)
ONNX_FILE = "model.onnx"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument("--checkpoint", required=True, metavar="PATH",
                        help=f"checkpoint file, or the run folder holding it ({CHECKPOINT}, or checkpoint.npz "
                             f"from older runs)")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="file format")
    parser.add_argument("--out", metavar="PATH", help=f"file to write (default: {ONNX_FILE} in the checkpoint's "
                                                      f"folder)")
    parser.add_argument("--opset", type=int, default=autograd.onnx.DEFAULT_OPSET,
                        help=f"ONNX opset version, {autograd.onnx.MIN_OPSET} or newer")


def run(args: argparse.Namespace) -> int:
    """Rebuild the run's model with its saved weights and export it with a dynamic batch axis.

    The graph's input is ``images`` (batch, channels, height, width), normalized as in training (the mean and
    standard deviation are in the model's metadata and printed); its output ``logits`` (batch, classes).

    Raises:
        CommandError: no checkpoint there, a foreign one, or no ``onnx`` package.
    """
    try:
        import onnx
    except ImportError:
        raise CommandError("exporting to ONNX needs the onnx package: pip install 'gradlab[onnx]'") from None
    path = find_checkpoint(args.checkpoint)
    checkpoint = load_run(path)
    config = checkpoint["config"]
    dataset, name = config["dataset"], config["model"]
    classes = classes_of(dataset)
    # The images the model was trained on: the dataset's, fitted to LeNet-5's 32x32 as training fits them.
    image = IMAGE_SHAPES[dataset]
    if name == "lenet5":
        image = fit_lenet(np.zeros((1, *image), np.float32)).shape[1:]
    model = MODELS[name].build(len(classes), image[0])
    restore(path, checkpoint, model)
    out = Path(args.out) if args.out else path.parent / ONNX_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        proto = autograd.onnx.export(model, autograd.zeros(1, *image), input_names=["images"],
                                     output_names=["logits"], opset_version=args.opset,
                                     dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    except ValueError as error:  # an opset out of range
        raise CommandError(str(error)) from None
    defaults = DATASETS[dataset]
    onnx.helper.set_model_props(proto, {"gradlab.model": name, "gradlab.dataset": dataset,
                                        "gradlab.epochs": str(checkpoint["epoch"]),
                                        "gradlab.normalize_mean": repr(defaults.mean),
                                        "gradlab.normalize_std": repr(defaults.std),
                                        "gradlab.classes": ",".join(classes)})
    onnx.save(proto, out)
    epochs = checkpoint["epoch"]
    print(f"wrote {out}: {name} trained on {dataset} for {epochs} epoch{'' if epochs == 1 else 's'}, ONNX opset "
          f"{args.opset}, {len(proto.graph.node)} nodes")
    print(f"input images: (batch, {', '.join(map(str, image))}) float32, pixels in [0, 1] normalized with mean "
          f"{defaults.mean} and std {defaults.std}; output logits: (batch, {len(classes)})")
    return 0

