"""``gradlab graph``: render a model's training-step graph (forward, and gradients from backward) to a file."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

import autograd
import nn
import nn.functional as F
import viz
from viz.dot import INSTALL_GRAPHVIZ

from .arguments import int_at_least

HELP = "render a model's training-step graph (module clusters, gradient colours) to an SVG, PNG or PDF file"


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))


# name -> (constructor, shape of one input image). The ImageNet ResNets get 64x64 inputs: their graph
# has the same ops at any resolution, and a small image keeps the forward and backward quick.
MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "mlp": (_mlp, (1, 8, 8)),
    "lenet5": (nn.models.LeNet5, (1, 32, 32)),
    "resnet_digits": (nn.models.resnet_digits, (1, 8, 8)),
    "resnet20": (nn.models.resnet20, (3, 32, 32)),
    "resnet18": (nn.models.resnet18, (3, 64, 64)),
    "resnet50": (nn.models.resnet50, (3, 64, 64)),
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument("--model", choices=sorted(MODELS), default="resnet20", help="model to draw (default resnet20)")
    parser.add_argument("--depth", type=int_at_least(-1), default=1,
                        help="module levels drawn as clusters; deeper modules become one node each (default 1; "
                             "-1 draws every op)")
    parser.add_argument("--grads", action="store_true", help="colour nodes by gradient norm (log scale)")
    parser.add_argument("--saved", action="store_true", help="show the arrays kept for backward and their size")
    parser.add_argument("--audit", action="store_true",
                        help="re-check every op's backward against finite differences and mark failures")
    parser.add_argument("--batch", type=int_at_least(1), default=2,
                        help="batch size of the random input (default 2)")
    parser.add_argument("--format", choices=("svg", "png", "pdf"), default="svg", help="output format (default svg)")
    parser.add_argument("--out", type=Path, help="output file (default <model>_graph.<format>)")


def run(args: argparse.Namespace) -> int:
    """Build the model, run one training step's forward and backward, render it, print the file's path."""
    factory, shape = MODELS[args.model]
    autograd.manual_seed(0)
    model = factory()
    inputs = autograd.randn(args.batch, *shape)
    rng = np.random.default_rng(0)
    labels = autograd.tensor(rng.integers(0, 10, size=args.batch))
    start = time.perf_counter()
    dot = viz.draw_model(model, inputs, depth=None if args.depth < 0 else args.depth, show_grads=args.grads,
                         show_saved=args.saved, audit=args.audit,
                         loss_fn=lambda logits: F.cross_entropy(logits, labels))
    graph = dot.graph
    print(f"{args.model}: {len(graph.nodes)} nodes, {len(graph.edges)} edges "
          f"(forward, backward and drawing {time.perf_counter() - start:.1f} s)")
    if graph.audit is not None:
        print(graph.audit if not graph.audit.passed else
              f"gradient audit: all {len(graph.audit)} ops match finite differences")

    out = args.out or Path(f"{args.model}_graph.{args.format}")
    if shutil.which("dot") is None:
        source = out.with_suffix(".dot")
        source.write_text(dot.source)
        print(f"graphviz's 'dot' program is not installed, so no {args.format.upper()} was rendered; wrote the DOT "
              f"source instead (render it later with `dot -T{args.format} {source} -o {out}`). {INSTALL_GRAPHVIZ}")
        print(source)
        return 0
    dot.render(outfile=out, format=args.format, cleanup=True)
    print(out)
    return 0
