"""What every command shares about bad input and early stops: checked option types, the two errors a
command raises, and the exit statuses of a run stopped by a signal.

Numeric options are checked by argparse as it parses them, so ``--lr nan`` or ``--epochs 0`` is reported
like any malformed option (usage, then ``gradlab train: error: argument --lr: ...``, exit status 2).
``gradlab.cli.main`` turns the errors below into the same usage message (``UsageError``, status 2) or into
one ``error: ...`` line (``CommandError``, status 1), never a traceback.
"""

from __future__ import annotations

import argparse
import math
import signal
from typing import Callable

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


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates); ``float`` alone would accept ``nan``, ``inf`` and ``-1``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text}")
    return value
