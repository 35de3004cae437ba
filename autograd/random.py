"""The global random generator behind every random op, so that ``manual_seed`` makes runs reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used by ``rand``, ``randn``, ``randint``, ``uniform_``, ``normal_``, dropout,
    init and data shuffling.

    Args:
        seed: any non-negative integer.

    Returns:
        the new generator.
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The current global generator."""
    return _generator
