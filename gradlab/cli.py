"""Entry point of the ``gradlab`` command: one sub-command per module, each with ``configure`` and ``run``.

Exit status: 0 on success; 1 for a failure reported on one ``error: ...`` line (a missing or foreign file, a
folder in use, a diverged run); 2 for a usage error (argparse's usage and ``error:`` lines); 128 + the
signal's number, as shells report a program killed by it, for Ctrl-C (130) and a closed pipe (141).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import evaluate_command, gradcheck_command, graph_command, train_command
from .allocator import keep_freed_memory
from .arguments import INTERRUPTED, PIPE_CLOSED, CommandError, UsageError

# Each module defines HELP, configure(parser) and run(args) -> exit status.
COMMANDS = {
    "train": train_command,
    "evaluate": evaluate_command,
    "gradcheck": gradcheck_command,
    "graph": graph_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the chosen sub-command and return its exit status.

    Expected failures (the classes below) become one line on stderr and a status; any other exception is a
    bug and keeps its traceback.
    """
    parser = argparse.ArgumentParser(prog="gradlab", description="gradlab: train, inspect and verify CNN gradients")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.configure(subparsers.add_parser(name, help=module.HELP, description=module.HELP))
    args = parser.parse_args(argv)
    keep_freed_memory()
    try:
        status = COMMANDS[args.command].run(args)
        # Flushed here, so that a closed pipe is noticed inside this try rather than at interpreter exit.
        sys.stdout.flush()
        return status
    except UsageError as error:
        subparsers.choices[args.command].error(str(error))  # prints the usage and exits with status 2
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
