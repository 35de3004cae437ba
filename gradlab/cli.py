"""Entry point of the ``gradlab`` command: one sub-command per module, each with ``configure`` and ``run``.

Exit status: 0 on success; 1 for a failure reported on one ``error: ...`` line (a missing or foreign file, a
folder in use, a diverged run); 2 for a usage error (argparse's usage and ``error:`` lines); 128 + the
signal's number, as shells report a program killed by it, for Ctrl-C (130) and a closed pipe (141).

In a rank of a distributed run (``gradlab train`` under mpiexec), any of these failures ends every rank of the job
with that status, since the others may be waiting for this one in a collective; an unexpected exception does the
same through the excepthook of ``autograd.distributed``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from typing import Sequence

from .openblas import sleep_when_idle

sleep_when_idle()  # before numpy is imported (by autograd, next)

from autograd import distributed  # noqa: E402

from . import (evaluate_command, export_command, gradcheck_command, graph_command, lint_command,  # noqa: E402
               train_command)
from .allocator import keep_freed_memory  # noqa: E402
from .arguments import INTERRUPTED, PIPE_CLOSED, CommandError, HelpFormatter, UsageError  # noqa: E402

# Each module defines HELP, configure(parser) and run(args) -> exit status; ``args.command_line`` is the command
# line that was parsed (for a command that runs itself again, as ``train --nproc`` does under mpiexec).
COMMANDS = {
    "train": train_command,
    "evaluate": evaluate_command,
    "gradcheck": gradcheck_command,
    "graph": graph_command,
    "lint": lint_command,
    "export": export_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the chosen sub-command and return its exit status.

    Expected failures (the classes below) become one line on stderr and a status; any other exception is a
    bug and keeps its traceback.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.command_line = argv
    keep_freed_memory()
    status = None  # None while an exception escapes: the excepthook of autograd.distributed ends the job then
    try:
        status = run_command(args, args.command_parser)
        return status
    except SystemExit as exit:  # a usage error, which argparse reports by exiting
        status = exit.code
        raise
    finally:
        if status and distributed.is_initialized() and distributed.get_world_size() > 1:
            distributed.abort(status)


def build_parser() -> argparse.ArgumentParser:
    """The ``gradlab`` parser with one sub-parser per entry of COMMANDS (what ``--help`` and the docs show)."""
    parser = argparse.ArgumentParser(prog="gradlab", description="gradlab: train, inspect and verify CNN gradients",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"gradlab {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command_parser = subparsers.add_parser(name, help=module.HELP, description=module.HELP,
                                               formatter_class=HelpFormatter)
        module.configure(command_parser)
        command_parser.set_defaults(command_parser=command_parser)  # for its usage line on a UsageError
    return parser


def version() -> str:
    """The installed distribution's version (pyproject.toml's), or ``unknown`` when gradlab runs uninstalled."""
    try:
        return importlib.metadata.version("gradlab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def run_command(args: argparse.Namespace, command_parser: argparse.ArgumentParser) -> int:
    """Run the sub-command chosen in ``args``; return its exit status, turning expected failures into one line."""
    try:
        status = COMMANDS[args.command].run(args)
        # Flushed here, so that a closed pipe is noticed inside this try rather than at interpreter exit.
        sys.stdout.flush()
        return status
    except UsageError as error:
        command_parser.error(str(error))  # prints the usage and exits with status 2
    except BrokenPipeError:
        # Python's documented recipe: point the standard streams at devnull, so that the flush at exit
        # cannot fail again and print "Exception ignored".
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        return PIPE_CLOSED
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
    except OSError as error:  # a file that cannot be read or written: missing, a folder, no permission
        print(f"error: {describe(error)}", file=sys.stderr)
    except KeyboardInterrupt:  # the training loop reports its own; this is Ctrl-C anywhere else
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    return 1


def describe(error: OSError) -> str:
    """``path: reason`` for a failed file operation; the message alone when it names no file."""
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)
