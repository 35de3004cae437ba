"""One training run per folder: an exclusive ``flock`` on ``DIR/.lock``, which holds the holder's PID.

``flock`` rather than a file created with O_CREAT|O_EXCL: the kernel drops the lock when its holder's
process ends for any reason (Ctrl-C, an error, SIGKILL, the out-of-memory killer), so a crashed run never
leaves a stale lock that someone must delete by hand, and no PID has to be guessed dead or alive. The PID
in the file only tells the user who holds the lock. POSIX only (Linux, macOS), like the rest of the CLI's
process handling.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .arguments import CommandError

LOCK_FILE = ".lock"


class RunLock:
    """Context manager holding the lock of ``folder`` (which must exist) from ``__enter__`` to ``__exit__``.

    Raises:
        CommandError: on entry, when another process holds the lock; the message names the folder and
            that process's PID.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise CommandError(f"{self.folder} is in use by another gradlab train (pid {holder}); wait for "
                                   f"it to finish or stop it, or choose another --out") from None
            # The holder before us unlinks the file as it releases it: if we locked that old file, the
            # lock is worthless (a newcomer creates and locks a new one), so try again on the current file.
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            if current is not None and os.path.samestat(os.fstat(fd), current):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Unlink while still holding the lock, so that no one can lock this file after we let it go.
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None
