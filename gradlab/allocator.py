"""glibc's malloc set to keep freed memory, for gradlab's programs: the command line and the benchmarks.

A training step allocates its activations and gradients afresh and frees them when it ends. glibc hands such
blocks back to the kernel (a block over its mmap threshold at once, the top of the heap once more than twice
the threshold is free), so the next step faults every page in again, zero-filled. On the virtual machines we
measured, a fresh page costs about 2.6 us: filling 4 MB of new memory takes 2.6 ms, of reused memory 0.07 ms. A
ResNet-20 step (batch 64) faulted 11,000-13,000 pages, about 30 ms of its 210 ms, and PyTorch's step 19,000.
Keeping freed memory for reuse is what PyTorch's CPU tuning guide gets by preloading jemalloc or tcmalloc.

This is the program's decision, not the library's: ``import autograd`` leaves the process's allocator alone.
"""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3

# glibc's largest mmap threshold on 64-bit systems: blocks up to this size come from the heap and are reused.
_HEAP_BLOCKS = 32 << 20
# Free memory at the top of the heap kept rather than handed back to the kernel.
_KEPT = 1 << 30


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the kernel.

    Blocks up to 32 MB are then served from the heap, and up to 1 GB of free heap is kept. Setting both
    thresholds also stops glibc from adjusting them as the program runs.

    Returns:
        True if both settings took effect; False where the C library is not glibc (macOS, musl), which is left
        as it is.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCKS)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEPT))
