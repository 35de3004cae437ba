"""OpenBLAS's idle threads sent to sleep at once, for gradlab's programs: the command line and the benchmarks.

After each matrix product it runs on several threads, OpenBLAS (numpy's BLAS) keeps its worker threads spinning
for about 2**28 cycles, 0.1 s on these machines, waiting for the next product. Convolutions run their own threads
(``autograd.kernels.parallel``, BLAS single-threaded meanwhile), and a spinning worker takes a core from them: on 2
cores, after ResNet-18's small-image convolutions and its classifier had run multi-threaded BLAS products, the next
parallel sections ran no faster than on one thread (a step of 16x3x64x64 images took 218 ms on 2 threads and 232 on
one). With ``OPENBLAS_THREAD_TIMEOUT=4``, the shortest wait OpenBLAS allows (2**4 cycles), the step takes 168 ms.

OpenBLAS reads the variable when numpy loads it, so it must be set before numpy is imported. Like the allocator
(``gradlab/allocator.py``), this is the program's decision: ``import autograd`` leaves the environment alone.
"""

from __future__ import annotations

import os
import sys

VARIABLE = "OPENBLAS_THREAD_TIMEOUT"
SHORTEST_TIMEOUT = "4"


def sleep_when_idle() -> bool:
    """Set ``OPENBLAS_THREAD_TIMEOUT=4`` for this process and its children, unless the environment sets it already.

    Returns:
        True if OpenBLAS will use the variable's value: numpy (which loads OpenBLAS) is not imported yet.
    """
    os.environ.setdefault(VARIABLE, SHORTEST_TIMEOUT)
    return "numpy" not in sys.modules
