"""Argument helpers shared by the ops and layers: int-or-tuple settings in, settings as a user writes them out.

``int_tuple`` turns ``stride=2`` into ``(2, 2)`` and checks it; ``batched_call`` runs an unbatched input as a
batch of one; ``collapsed`` and ``non_default`` go the other way, for the settings a graph node reports about
itself (``Function.attributes``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..errors import OpError
from ..tensor import Tensor


def int_tuple(value: int | Sequence[int], n: int, name: str, op: str, minimum: int) -> tuple[int, ...]:
    """``value`` repeated (an int) or checked (a sequence) as ``n`` ints that are all >= ``minimum``.

    Args:
        value: an int, or a tuple or list of ``n`` ints.
        n: how many ints (spatial dimensions).
        name: the argument's name, for errors.
        op: the op's or layer's name, for errors.
        minimum: the smallest value allowed (1 for sizes and steps, 0 for padding).

    Returns:
        a tuple of ``n`` Python ints.
    """
    if type(value) is int and value >= minimum:  # the usual case, first: every op call checks a few settings
        return (value,) * n
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise OpError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if min(values) < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise OpError(f"{op}: {name} must be {kind}, got {value!r}")
    return tuple(int(v) for v in values)


def batched_call(run: Callable[..., Any], input: Tensor, spatial_dims: int, *args: Any) -> Any:
    """``run(input, *args)`` on a batch: an unbatched (C, *spatial) input runs as a batch of one.

    Returns:
        what ``run`` returns (a Tensor or a tuple of them), without the batch dimension it added.
    """
    if input.ndim != spatial_dims + 1:
        return run(input, *args)
    result = run(input.unsqueeze(0), *args)
    if isinstance(result, tuple):
        return tuple(part.squeeze(0) for part in result)
    return result.squeeze(0)


def size_text(values: Sequence[int]) -> str:
    """A size as errors print it: ``3x4``."""
    return "x".join(str(v) for v in values)


def collapsed(value: Any) -> Any:
    """A setting as a user would write it: a tuple of equal entries as that entry, nested tuples from the inside
    out; a tuple holding an entry that does not collapse stays as it is, so that pairs remain recognisable.

    ``(2, 2) -> 2``, ``(2, 1)`` stays, ``((1, 1), (1, 1)) -> 1``, ``((1, 1), (2, 2)) -> (1, 2)``,
    ``((0, 1), (1, 1))`` stays.
    """
    if not isinstance(value, tuple) or not value:
        return value
    entries = tuple(collapsed(entry) for entry in value)
    if any(isinstance(entry, tuple) for entry in entries):
        return value
    return entries[0] if len(set(entries)) == 1 else entries


def non_default(**settings: tuple[Any, Any]) -> dict[str, Any]:
    """The settings, each given as ``name=(value, default)``, whose collapsed value differs from the default."""
    shown = {}
    for name, (value, default) in settings.items():
        value = collapsed(value)
        if value != default:
            shown[name] = value
    return shown
