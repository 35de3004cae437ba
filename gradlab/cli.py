"""Entry point of the ``gradlab`` command: one sub-command per module, each with ``configure`` and ``run``."""

from __future__ import annotations

import argparse
from typing import Sequence

from . import evaluate_command, gradcheck_command, graph_command, train_command
from .allocator import keep_freed_memory

# Each module defines HELP, configure(parser) and run(args) -> exit status.
COMMANDS = {
    "train": train_command,
    "evaluate": evaluate_command,
    "gradcheck": gradcheck_command,
    "graph": graph_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the chosen sub-command and return its exit status."""
    parser = argparse.ArgumentParser(prog="gradlab", description="gradlab: train, inspect and verify CNN gradients")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.configure(subparsers.add_parser(name, help=module.HELP, description=module.HELP))
    args = parser.parse_args(argv)
    keep_freed_memory()
    return COMMANDS[args.command].run(args)
