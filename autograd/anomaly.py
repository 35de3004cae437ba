"""Anomaly detection: find the op whose backward produced NaN or inf, and where it was created."""

from __future__ import annotations

from typing import Any


class AnomalyMode:
    """Process-wide flag; when set, ops remember the stack that created them."""

    enabled: bool = False


class detect_anomaly:
    """Context manager that checks every gradient computed in backward for NaN and inf.

    While active, each op records the Python stack of its forward call. When an op's backward
    returns a non-finite gradient, ``backward()`` raises a RuntimeError that names the op and
    shows where it was created. It slows ops down, so use it for debugging only.

    Example::

        >>> with autograd.detect_anomaly():
        ...     y = (x * 0).log()     # log(0) = -inf is fine forward...
        ...     y.sum().backward()    # ...but its backward yields inf: raises, pointing at .log()
    """

    def __enter__(self) -> None:
        self._previous = AnomalyMode.enabled
        AnomalyMode.enabled = True

    def __exit__(self, *exc: Any) -> None:
        AnomalyMode.enabled = self._previous


def created_at(node: Any) -> list[str] | None:
    """The Python stack (``traceback.format_stack`` lines, outermost first) of the forward call that created
    ``node``, if it was created while ``detect_anomaly`` was active; else None. What backward's anomaly error
    shows, for tools that name an op (``viz.lint``)."""
    return node._created_at
