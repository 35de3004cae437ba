"""Switches that decide whether ops record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class GradMode(threading.local):
    """Whether ops record the graph, one flag per thread as in PyTorch.

    Every op reads it and ``Function.apply`` switches it off around each forward, so a process-wide flag would
    let one thread's ``no_grad`` (or any op it runs) stop another thread's ops from being recorded. A new thread
    starts with recording on.
    """

    enabled: bool = True

    def __init__(self) -> None:
        # Modes to restore on leaving each ``with`` block this thread is in: per thread, so one ``no_grad()``
        # object shared by several threads restores each thread's own mode.
        self.outer_modes: list[bool] = []


grad_mode = GradMode()


def is_grad_enabled() -> bool:
    """Return True when ops in the calling thread currently record the computation graph."""
    return grad_mode.enabled


class _GradModeContext:
    """Base for the grad-mode switches: a context manager that also decorates functions."""

    mode: bool

    def __enter__(self) -> None:
        grad_mode.outer_modes.append(grad_mode.enabled)
        grad_mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        grad_mode.enabled = grad_mode.outer_modes.pop()

    def __call__(self, function: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = grad_mode.enabled
            grad_mode.enabled = mode
            try:
                return function(*args, **kwargs)
            finally:
                grad_mode.enabled = previous

        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator that stops ops from recording the graph.

    Inside it, results of ops have ``requires_grad=False`` and nothing is saved for backward;
    use it for evaluation and for parameter updates.

    Example::

        >>> with autograd.no_grad():
        ...     y = x * 2          # y.requires_grad is False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``: immediately when called, restored on leaving a ``with`` block.

    Args:
        mode: True to record the graph, False not to.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = grad_mode.enabled
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        grad_mode.enabled = self._previous

    def __call__(self, function: Callable) -> Callable:
        # Used as a decorator, the switch applies to calls only, not from decoration time on.
        grad_mode.enabled = self._previous
        return super().__call__(function)
