"""``gradlab lint``: check a built-in model for wiring and settings mistakes on one training step (``viz.lint``).

Exit status 0 when the model lints clean, 1 when something was found (so a script or CI job can gate on it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import autograd
import nn.functional as F
import viz

from .arguments import MODELS, UsageError, add_model_argument, int_at_least
from .graph_command import output_file

HELP = "check a model for the mistakes that make CNN training fail quietly (one forward and backward)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    add_model_argument(parser, "resnet20", "model to check")
    parser.add_argument("--all", action="store_true", help="check every built-in model (ignores --model)")
    parser.add_argument("--batch", type=int_at_least(2), default=8, help="batch size of the random example input")
    parser.add_argument("--draw", type=Path, metavar="FILE",
                        help="also draw the graph with the findings as badges; the suffix (.svg, .png, .pdf) sets "
                             "the format, as with gradlab graph --out (needs graphviz)")
    parser.add_argument("--depth", type=int_at_least(-1), default=1,
                        help="module levels drawn as clusters with --draw (-1 draws every op)")


def run(args: argparse.Namespace) -> int:
    """Lint the chosen models on a random batch with cross-entropy against random labels; print each report.

    Raises:
        UsageError: ``--draw`` with ``--all`` (one file cannot hold every model's graph), or a ``--draw`` suffix
            that is not one of the graph formats.
    """
    if args.draw is not None and args.all:
        raise UsageError("--draw draws one model's graph: give --model instead of --all")
    draw = output_file(args.draw, None, args.model, "--draw") if args.draw is not None else None
    names = sorted(MODELS) if args.all else [args.model]
    found = False
    for name in names:
        report = lint_model(name, args.batch)
        print(f"{name}: {report}")
        found = found or not report.clean
        if draw is not None:
            out, output_format = draw
            report.draw(depth=None if args.depth < 0 else args.depth).render(outfile=out, format=output_format,
                                                                             cleanup=True)
            print(f"wrote the graph with the findings marked to {out}")
    return 1 if found else 0


def lint_model(name: str, batch: int) -> viz.LintReport:
    """``viz.lint`` of the built-in model ``name`` (10 classes, seed 0) on a random batch of its input shape."""
    spec = MODELS[name]
    autograd.manual_seed(0)
    model = spec.build(10, spec.input_shape[0])
    images = autograd.randn(batch, *spec.input_shape)
    labels = autograd.tensor(np.random.default_rng(0).integers(0, 10, size=batch))
    return viz.lint(model, images, lambda logits: F.cross_entropy(logits, labels))
