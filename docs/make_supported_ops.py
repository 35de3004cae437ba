"""Write docs/supported_ops.md, the table of what gradlab supports, from the op registry (``autograd/opinfo``).

With gradlab installed (``pip install -e .``), ``python docs/make_supported_ops.py`` rewrites the page and ``--check``
only says whether it is current. ``tests/test_supported_ops.py`` regenerates the page and fails when the committed one
differs, so the table cannot drift from the registry: register an op, then run this script.

Where an op lives is read from the objects themselves (``hasattr`` on ``autograd``, ``nn.functional``, ``Tensor``,
``nn.ops`` and the ``nn`` layers), not written down here; only registry entries named after what they check rather
than after one public function are listed in ``LOCATIONS``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import autograd
import autograd.opinfo as opinfo
import nn
import nn.functional as F
import optim
import optim.lr_scheduler as lr_scheduler
from autograd.opinfo import OpInfo, unwrap_samples

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "supported_ops.md"
README = ROOT / "README.md"

ROOTS = {"autograd": autograd, "F": F, "nn": nn, "Tensor": autograd.Tensor}

# Registry entries named after what they check rather than after one public function, and where that lives.
LOCATIONS = {
    "rsub scalar": ("Tensor.__rsub__",),
    "rdiv scalar": ("Tensor.__rtruediv__",),
    "rpow scalar": ("Tensor.__rpow__",),
    "getitem": ("Tensor.__getitem__",),
    "getitem int and list separated by a slice": ("Tensor.__getitem__",),
    "MultiheadAttention": ("nn.MultiheadAttention",),
    "recurrent layers": ("nn.RNN", "nn.LSTM", "nn.GRU", "nn.RNNCell", "nn.LSTMCell", "nn.GRUCell"),
    # Its samples check the Function both dropouts apply, with an element mask and a channel mask.
    "dropout": ("F.dropout", "F.dropout2d", "nn.Dropout", "nn.Dropout2d"),
}

# Layers whose class name is not the functional's name in CamelCase (conv2d: Conv2d, mse_loss: MSELoss, batch_norm:
# BatchNorm1d/2d are found without help).
LAYER_PATTERNS = {
    "binary_cross_entropy": r"BCELoss",
    "binary_cross_entropy_with_logits": r"BCEWithLogitsLoss",
    "interpolate": r"Upsampl\w+",
    "pad": r"\w+Pad[123]d",
}

# How the Python operators reach an op.
OPERATORS = {
    "add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b", "neg": "-a", "pow": "a ** b", "matmul": "a @ b",
    "remainder": "a % b", "floor_divide": "a // b", "__rsub__": "2 - a", "__rtruediv__": "2 / a", "__rpow__": "2 ** a",
    "__getitem__": "a[key]",
}

DIFFERENCES_START = "<!-- differences-from-pytorch: start"
DIFFERENCES_END = "<!-- differences-from-pytorch: end -->"


def resolve(location: str) -> object:
    """The object a location such as ``'F.conv2d'`` or ``'Tensor.__rsub__'`` names (AttributeError if none)."""
    root, *path = location.split(".")
    target = ROOTS[root]
    for name in path:
        target = getattr(target, name)
    return target


def layer_names() -> list[str]:
    """The layers ``nn`` exports (Module subclasses), by name."""
    return sorted(name for name, value in vars(nn).items()
                  if inspect.isclass(value) and issubclass(value, nn.Module) and not name.startswith("_"))


def layers_for(name: str) -> list[str]:
    """The ``nn`` layers computed by the functional ``name``: its CamelCase form, with ``Loss`` or ``1d/2d/3d``."""
    layers = layer_names()
    if name in LAYER_PATTERNS:
        return [layer for layer in layers if re.fullmatch(LAYER_PATTERNS[name], layer)]
    key = name.replace("_", "").lower()
    exact = [layer for layer in layers if layer.lower() in (key, key + "loss")]
    return exact or [layer for layer in layers if re.fullmatch(re.escape(key) + "[123]d", layer.lower())]


def _is_op(value: object) -> bool:
    return callable(value) and not inspect.ismodule(value) and not inspect.isclass(value)


def _is_layer(location: str) -> bool:
    return location.startswith("nn.") and not location.startswith("nn.ops.")


def locations(info: OpInfo) -> tuple[str, ...]:
    """Every public place the entry's op is reached from: ``autograd.x``, ``F.x``, ``Tensor.x``, ``nn.X``...

    The entry's name is the op's name, possibly followed by what the entry checks (``'pow at base 0'``), or several
    names joined by ``/``, or a location itself (``'Tensor.unfold'``).
    """
    if info.name in LOCATIONS:
        return LOCATIONS[info.name]
    found: list[str] = []
    for name in info.name.split()[0].split("/"):
        if "." in name:
            found.append(name)
            continue
        for prefix, namespace in (("autograd", autograd), ("autograd.linalg", autograd.linalg), ("F", F),
                                  ("Tensor", autograd.Tensor), ("nn.ops", nn.ops)):
            if _is_op(getattr(namespace, name, None)):
                found.append(f"{prefix}.{name}")
        found.extend(f"nn.{layer}" for layer in layers_for(name))
    if not found:
        raise LookupError(f"registry entry {info.name!r} names no public op: add where it lives to LOCATIONS in "
                          f"{Path(__file__).name}")
    return tuple(found)


def families() -> list[tuple[ModuleType, list[OpInfo]]]:
    """The registry's family modules with their ``OPS``, in the order ``all_opinfos()`` lists them.

    Every family module must be listed by ``all_opinfos()``, and nothing else: a module that defines ``OPS`` but is
    left out of it would be checked by nobody.
    """
    modules = [importlib.import_module(f"{opinfo.__name__}.{entry.name}")
               for entry in pkgutil.iter_modules(opinfo.__path__)]
    modules = [module for module in modules if hasattr(module, "OPS")]
    registered = opinfo.all_opinfos()
    listed = [info for module in modules for info in module.OPS]
    if sorted(map(id, listed)) != sorted(map(id, registered)):
        raise LookupError("autograd.opinfo.all_opinfos() and the family modules' OPS lists disagree")
    position = {id(info): index for index, info in enumerate(registered)}
    return sorted(((module, module.OPS) for module in modules), key=lambda family: position[id(family[1][0])])


def mentioned_in_differences() -> set[str]:
    """The names README's "Decisions that differ from PyTorch" writes in backticks (``F.interpolate``: interpolate)."""
    section = README.read_text().split(DIFFERENCES_START, 1)[1].split(DIFFERENCES_END, 1)[0]
    names = set()
    for literal in re.findall(r"`([^`]+)`", section):
        dotted = re.match(r"[A-Za-z_][\w.]*", literal)
        if dotted:
            names.add(dotted.group().rstrip(".").split(".")[-1])
    return names


@dataclass(frozen=True)
class Row:
    """One registry entry: where its op lives and how it is checked."""

    family: str
    name: str
    locations: tuple[str, ...]
    samples: int
    gradgrad: bool
    fast: bool

    @property
    def names(self) -> set[str]:
        return {location.split(".")[-1] for location in self.locations}


def rows() -> list[Row]:
    """One row per registry entry, family by family; the samples are those the tests generate (seed 0)."""
    return [Row(module.__name__.rsplit(".", 1)[1], info.name, locations(info), len(unwrap_samples(info)),
                info.gradgrad, info.fast)
            for module, ops in families() for info in ops]


@dataclass(frozen=True)
class Counts:
    """The headline numbers of the page (and of README's "What is supported")."""

    entries: int
    families: int
    functions: int
    layers: int
    samples: int
    gradgrad: int


def counts(table: list[Row]) -> Counts:
    """Entries, families, distinct public function names (internal ``autograd.ops`` ones left out), layers, rows."""
    functions = {location.split(".")[-1] for row in table for location in row.locations
                 if not _is_layer(location) and not location.startswith("autograd.ops.")}
    layers = {location for row in table for location in row.locations if _is_layer(location)}
    return Counts(len(table), len({row.family for row in table}), len(functions), len(layers),
                  sum(row.samples for row in table), sum(row.samples for row in table if row.gradgrad))


def headline(numbers: Counts) -> str:
    """The sentence with the counts, as the page and README.md say it."""
    return (f"The op registry holds {numbers.entries} entries in {numbers.families} families, reaching "
            f"{numbers.functions} public functions and Tensor methods (by name) and {numbers.layers} `nn` layers; "
            f"gradcheck runs on all {numbers.samples} of their samples and gradgradcheck on {numbers.gradgrad}.")


def _code(text: str) -> str:
    return f"`{text}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _summary(obj: object) -> str:
    """The first line of a docstring, for a table cell."""
    doc = inspect.getdoc(obj) or ""
    first = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    return _cell(first[:-1] + "." if first.endswith(":") else first)  # a formula followed it


def op_tables(table: list[Row], differences: set[str]) -> list[str]:
    lines = []
    for family in dict.fromkeys(row.family for row in table):
        module = importlib.import_module(f"{opinfo.__name__}.{family}")
        members = [row for row in table if row.family == family]
        lines += [f"### {family}", "",
                  f"{_summary(module)} {len(members)} entries, in `autograd/opinfo/{family}.py`.", "",
                  "| Registry entry | Where it lives | Samples | gradcheck | gradgradcheck | In the differences |",
                  "|---|---|---|---|---|---|"]
        for row in members:
            where = [_code(location) for location in row.locations]
            where += [_code(OPERATORS[name]) for name in sorted(row.names) if name in OPERATORS]
            differs = "[mentioned](differences.md)" if (row.names | {row.name}) & differences else ""
            lines.append(f"| {_code(row.name)} | {', '.join(where)} | {row.samples} | "
                         f"{'yes, random projections' if row.fast else 'yes'} | {'yes' if row.gradgrad else 'no'} | "
                         f"{differs} |")
        lines.append("")
    return lines


def layer_table(table: list[Row]) -> list[str]:
    checked: dict[str, list[str]] = {}
    for row in table:
        for location in row.locations:
            if _is_layer(location):
                checked.setdefault(location.split(".", 1)[1], []).append(row.name)
    lines = ["| Layer | Defined in | Registry entries that check its computation |", "|---|---|---|"]
    for name in sorted(layer_names(), key=lambda name: (getattr(nn, name).__module__, name)):
        entries = ", ".join(_code(entry) for entry in dict.fromkeys(checked.get(name, [])))
        lines.append(f"| {_code('nn.' + name)} | {_code(getattr(nn, name).__module__)} | {entries or 'none'} |")
    return lines + [""]


def optim_tables() -> list[str]:
    optimizers = sorted(name for name, value in vars(optim).items()
                        if inspect.isclass(value) and issubclass(value, optim.Optimizer))
    schedulers = sorted(name for name, value in vars(lr_scheduler).items()
                        if inspect.isclass(value) and value.__module__ == lr_scheduler.__name__)
    lines = ["| Optimizer | What it is |", "|---|---|"]
    lines += [f"| {_code('optim.' + name)} | {_summary(getattr(optim, name))} |" for name in optimizers]
    lines += ["", "| Scheduler | What it is |", "|---|---|"]
    lines += [f"| {_code('optim.lr_scheduler.' + name)} | {_summary(getattr(lr_scheduler, name))} |"
              for name in schedulers]
    return lines + [""]


def page() -> str:
    """The whole of docs/supported_ops.md."""
    table = rows()
    numbers = counts(table)
    lines = [
        "# What is supported",
        "",
        "<!-- Generated by docs/make_supported_ops.py from the op registry (autograd/opinfo); do not edit by hand. "
        "tests/test_supported_ops.py fails when this page is stale. -->",
        "",
        headline(numbers),
        "",
        "Every entry of the registry (`autograd/opinfo`) is a differentiable op with a list of float64 sample inputs. "
        "`tests/test_opinfo.py` and `gradlab gradcheck` run `autograd.gradcheck` (first derivatives against central "
        "differences) on every sample and `autograd.gradgradcheck` (second derivatives) where the table says so; "
        "\"random projections\" is gradcheck's `fast_mode`, for samples with many elements. Piecewise-constant ops "
        "(rounding, `sign`) have zero gradients and no second derivative to check. \"Where it lives\" is read from "
        "the objects: `autograd.x` is a function of the `autograd` package, `F.x` of `nn.functional`, `Tensor.x` a "
        "method, `nn.X` a layer that computes the same thing. \"In the differences\" marks ops that the "
        "[differences from PyTorch](differences.md) name, where a decision of gradlab's may concern them.",
        "",
        "## Ops, family by family",
        "",
        *op_tables(table, mentioned_in_differences()),
        "## Layers",
        "",
        f"The {len(layer_names())} classes `nn` exports, with the registry entries whose op is the layer's computation "
        "(\"none\": a container, or a layer built from ops checked elsewhere).",
        "",
        *layer_table(table),
        "## Optimizers and learning-rate schedulers",
        "",
        *optim_tables(),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only say whether docs/supported_ops.md is current")
    args = parser.parse_args()
    text = page()
    if args.check:
        current = PAGE.is_file() and PAGE.read_text() == text
        print(f"{PAGE.relative_to(ROOT)} is {'current' if current else 'stale: run python docs/make_supported_ops.py'}")
        return 0 if current else 1
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}: {headline(counts(rows()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
