"""Switches that decide whether ops record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
from typing import Any, Callable


class GradMode:
    """Process-wide flag read by every op; one attribute lookup keeps per-op overhead low."""

    enabled: bool = True


def is_grad_enabled() -> bool:
    """Return True when ops currently record the computation graph."""
    return GradMode.enabled


class _GradModeContext:
    """Base for the grad-mode switches: a context manager that also decorates functions."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = GradMode.enabled
        GradMode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        GradMode.enabled = self._previous

    def __call__(self, function: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = GradMode.enabled
            GradMode.enabled = mode
            try:
                return function(*args, **kwargs)
            finally:
                GradMode.enabled = previous

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
        self._previous = GradMode.enabled
        GradMode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, function: Callable) -> Callable:
        # Used as a decorator, the switch applies to calls only, not from decoration time on.
        GradMode.enabled = self._previous
        return super().__call__(function)
