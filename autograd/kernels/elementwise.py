"""Elementwise kernels of the activations on plain arrays, spread over the batch (the first axis) on all cores.

ReLU and its gradient sit after nearly every batch norm of a CNN; numpy runs each on one core, so they are cut
into slices of the batch and handed to ``parallel.in_batch_chunks`` (arrays under a few MB stay in the calling
thread). Batch norm's kernels share ``over_batch``.
The reference kernels at the end are the same expressions on the whole array, for ``tests/test_kernels.py``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import parallel


# Sweeps over smaller results run in the calling thread. Handing a sweep to the helper threads costs about 0.1 ms
# (waking the helper, 70-100 us here), which a pass over a few MB does not win back: on 64x16x32x32 float32 (4 MB)
# two threads took batch norm's centring from 0.55 to 0.43 ms, its input gradient from 0.67 to 0.48 ms and ReLU
# with its mask from 0.46 to 0.35 ms, but a 0.16 ms sum to 0.20 ms, and two in-place passes gained nothing
# (0.30 ms); at batch 8 (512 KB) every sweep was slower on two threads (wall clock, Xeon, 2 cores). Conv's 512 KB
# threshold (parallel.PARALLEL_BYTES) is for taps, each of which feeds many multiply-adds.
SHARED_SWEEP_BYTES = 4 << 20


def over_batch(work: Callable[[slice], None], result: np.ndarray, touched: int) -> None:
    """``work(rows)`` for slices of the first axis of ``result`` covering it, on all cores when ``result`` has
    at least ``SHARED_SWEEP_BYTES``; ``touched`` arrays of its size are read or written. A 0-d result is one call
    on all of it. A device array (CuPy's) is one call too: the threads are CPU machinery."""
    if result.ndim == 0 or result.nbytes < SHARED_SWEEP_BYTES or type(result) is not np.ndarray:
        work(...)
        return
    parallel.in_batch_chunks(lambda start, stop: work(slice(start, stop)), len(result),
                             touched * result[:1].nbytes)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), written straight into the result."""
    return _relu(x, False)[0]


def relu_with_mask(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(x, 0) and the bool mask result > 0 (which is x > 0, nan included), made in one sweep.

    The mask is taken from each slice of the result while it is in the cache: 0.41 ms with the maximum for a
    64x16x32x32 float32 array in slices of 16 samples, against 0.50 ms for two passes over the whole array (one
    thread, Xeon).
    """
    return _relu(x, True)


def _relu(x: np.ndarray, keep_mask: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if x.nbytes < SHARED_SWEEP_BYTES:
        # Plain calls: slicing, out= and a closure cost more than they save on small arrays (a recorded 0-d ReLU
        # took 4.4 us with them, 3.4 us without), and a 0-d mask stays a numpy bool, which needs no version check.
        out = np.maximum(x, 0)
        return out, (out > 0) if keep_mask else None
    out = np.empty_like(x)
    mask = np.empty_like(x, dtype=bool) if keep_mask else None

    def work(rows) -> None:
        np.maximum(x[rows], 0, out=out[rows])
        if mask is not None:
            np.greater(out[rows], 0, out=mask[rows])

    over_batch(work, out, 3 if keep_mask else 2)
    return out, mask


def masked(grad: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """grad times the bool ``mask``: grad where it holds, else 0 (a nan or inf gradient stays nan, as grad * 0, which
    is what relu's gradient always was here).

    A multiply by the mask rather than ``np.where``: with a mask that flips at random (half of a ReLU's inputs are
    negative) ``np.where`` mispredicts its branches, 4.3 ms on a 64x16x32x32 float32 array against 0.47 ms for the
    multiply, which costs what a float32 multiply does (0.49 ms): one thread, Xeon.
    """
    if grad.nbytes < SHARED_SWEEP_BYTES:
        return np.multiply(grad, mask)  # one call, as in relu
    out = np.empty_like(grad)
    over_batch(lambda rows: np.multiply(grad[rows], mask[rows], out=out[rows]), out, 3)
    return out


def reference_relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) on the whole array."""
    return np.maximum(x, 0)


def reference_masked(grad: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """grad * mask on the whole array."""
    return grad * mask
