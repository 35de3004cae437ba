"""Error classes that a PyTorch user's ``except`` clauses catch where PyTorch raises the same error.

gradlab reports bad arguments as ``ValueError`` (its own convention since the start), but PyTorch raises
``RuntimeError`` for shapes, dtypes and values that do not fit an op, and ``IndexError`` for a dimension out
of range. Each class below derives from both, so ``except ValueError`` and ``except RuntimeError`` (or
``except IndexError``) both catch it.
"""

from __future__ import annotations


class OpError(ValueError, RuntimeError):
    """An op's arguments do not fit: shapes that cannot be combined, a dtype or a value the op refuses.

    PyTorch raises ``RuntimeError`` for these.
    """


class DimensionError(OpError, IndexError):
    """A dimension out of range for the tensor's number of dimensions (``IndexError`` in PyTorch)."""
