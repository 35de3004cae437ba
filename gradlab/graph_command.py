"""``gradlab graph``: render a model's training-step graph (forward, and gradients from backward) to a file."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
import numpy as np

import autograd
import nn.functional as F
import viz
from viz.dot import INSTALL_GRAPHVIZ

from .arguments import MODELS, UsageError, add_device_argument, add_model_argument, int_at_least, usable_device

HELP = "render a model's training-step graph (module clusters, gradient colours) to an SVG, PNG or PDF file"
FORMATS = ("svg", "png", "pdf")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    add_model_argument(parser, "resnet20", "model to draw")
    parser.add_argument("--depth", type=int_at_least(-1), default=1,
                        help="module levels drawn as clusters; deeper modules become one node each (-1 draws "
                             "every op)")
    parser.add_argument("--grads", action="store_true", help="colour nodes by gradient norm (log scale)")
    parser.add_argument("--saved", action="store_true", help="show the arrays kept for backward and their size")
    parser.add_argument("--audit", action="store_true",
                        help="re-check every op's backward against finite differences and mark failures")
    parser.add_argument("--batch", type=int_at_least(1), default=2, help="batch size of the random input")
    add_device_argument(parser)
    parser.add_argument("--format", choices=FORMATS,
                        help="output format (default: the suffix of --out, else svg)")
    parser.add_argument("--out", type=Path, help="output file; its suffix (.svg, .png, .pdf) sets the format "
                        "(default: MODEL_graph.FORMAT)")
    parser.add_argument("--steps", type=Path, metavar="HTML",
                        help="instead, write an HTML page that steps through the backward pass node by node "
                             "(graph collapsed by module at --depth)")


def run(args: argparse.Namespace) -> int:
    """Build the model, run one training step's forward and backward, render it, print the file's path.

    Raises:
        UsageError: ``--steps`` with an option only the picture uses (it would be ignored).
    """
    ignored = [flag for flag, given in (("--out", args.out), ("--format", args.format), ("--grads", args.grads),
                                        ("--saved", args.saved), ("--audit", args.audit)) if given]
    if args.steps is not None and ignored:
        raise UsageError(f"--steps writes only the step-through page: {', '.join(ignored)} would be ignored")
    out, output_format = output_file(args.out, args.format, args.model)
    spec = MODELS[args.model]
    shape = spec.input_shape
    device = usable_device(args.device)
    autograd.manual_seed(0)
    model = spec.build(10, shape[0]).to(device)
    inputs = autograd.randn(args.batch, *shape, device=device)
    rng = np.random.default_rng(0)
    labels = autograd.tensor(rng.integers(0, 10, size=args.batch), device=device)
    if args.steps is not None:
        return write_steps(args, model, inputs, labels)
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

    if shutil.which("dot") is None:
        source = out.with_suffix(".dot")
        source.write_text(dot.source)
        print(f"graphviz's 'dot' program is not installed, so no {output_format.upper()} was rendered; wrote the "
              f"DOT source instead (render it later with `dot -T{output_format} {source} -o {out}`). "
              f"{INSTALL_GRAPHVIZ}")
        print(source)
        return 0
    # cleanup: graphviz writes the DOT source beside the picture first; it is not left there.
    dot.render(outfile=out, format=output_format, cleanup=True)
    print(out)
    return 0


def write_steps(args: argparse.Namespace, model, inputs: autograd.Tensor, labels: autograd.Tensor) -> int:
    """``--steps``: record the training step's backward with ``viz.model_backward_steps`` and save its page."""
    if shutil.which("dot") is None:
        print(f"graphviz's 'dot' program is not installed, so the step-through page cannot be drawn. "
              f"{INSTALL_GRAPHVIZ}")
        return 1
    steps = viz.model_backward_steps(model, inputs, loss_fn=lambda logits: F.cross_entropy(logits, labels),
                                     depth=None if args.depth < 0 else args.depth)
    steps.save(args.steps)
    print(f"{args.model}: {len(steps)} backward steps")
    print(args.steps)
    return 0


def output_file(out: Path | None, output_format: str | None, model: str, option: str = "--out") -> tuple[Path, str]:
    """The file to write and its format: the suffix of ``out`` sets the format unless ``--format`` does.

    ``option`` is the flag that gave ``out``, named in the errors (``gradlab lint --draw`` shares these rules).

    Raises:
        UsageError: ``--format`` contradicts the suffix, or the suffix is not one of FORMATS.
    """
    if out is None:
        output_format = output_format or "svg"
        return Path(f"{model}_graph.{output_format}"), output_format
    suffix = out.suffix.lstrip(".").lower()
    if not suffix:
        output_format = output_format or "svg"
        return out.with_name(f"{out.name}.{output_format}"), output_format
    if suffix not in FORMATS:
        hint = " and --format" if option == "--out" else ""  # gradlab lint --draw has no --format
        raise UsageError(f"{option} {out}: the suffix .{suffix} is not one of .{', .'.join(FORMATS)} (or give a name "
                         f"without a suffix{hint})")
    if output_format is not None and output_format != suffix:
        raise UsageError(f"{option} {out} asks for {suffix} but --format says {output_format}: make them agree, or "
                         f"leave --format out")
    return out, suffix
