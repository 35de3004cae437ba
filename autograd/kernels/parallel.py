"""CPU machinery any kernel may use: a batch cut into chunks run on helper threads, BLAS's thread limit, a
per-thread workspace, and what a forked child must forget.

A kernel that loops over its batch hands the loop to ``in_batch_chunks``; a kernel that needs a large scratch
array asks ``workspace`` for one. Nothing here knows about Tensors or about any op.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from typing import Callable

import numpy as np
from threadpoolctl import ThreadpoolController

_scratch = threading.local()


# Taps up to this size are kept for reuse, one buffer per thread; larger ones are allocated per call, so the memory
# kept alive between calls stays bounded.
_WORKSPACE_LIMIT = 256 << 20


def workspace(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` in a per-thread buffer that is reused from call to call.

    A fresh buffer (conv2d's taps) is page-faulted in on every call, which costs as much as filling it. The
    buffer keeps the largest size asked for, up to ``_WORKSPACE_LIMIT``; the next call on the same thread
    overwrites it.
    """
    size = math.prod(shape) * np.dtype(dtype).itemsize  # math.prod: np.prod costs 3 us per call
    if size > _WORKSPACE_LIMIT:
        return np.empty(shape, dtype)
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = _scratch.buffer = np.empty(size, np.uint8)
    return buffer[:size].view(dtype).reshape(shape)


CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

# The batch is cut into chunks of about this many bytes of row taps, which stay in the cache (32 MB of L3 here)
# between the copies that fill them and the matrix products that read them; the taps of a whole ResNet batch
# (13 MB for 64x16x32x32 and a 3x3 kernel) would go out to memory and back. Smaller chunks cost more time in
# Python, which the threads cannot overlap (the GIL): measured fastest at 4 MB, of 2, 4 and 8 MB.
CHUNK_BYTES = 4 << 20

# Below this many bytes of taps the work takes a fraction of a millisecond, and it runs in the calling thread (with
# BLAS's own threads): handing chunks to a helper thread costs 20 us, and waking it up 20-40 us more. The digits
# model of ``gradlab train`` (convolutions with 24-384 KB of taps) trains 20% faster with 512 KB here than 256 KB.
PARALLEL_BYTES = 512 << 10

# A kernel whose time goes into matrix products (a convolution) also needs this many multiply-adds in a section: on
# fewer, each thread's products are too short to make up for handing the GIL back and forth between the threads
# (every numpy call of a chunk hands it over). ResNet-20's 3x3 convolutions at batch 8 (19M multiply-adds each)
# were up to 1.8x slower on two threads than on one, and the whole step 6% slower; at batch 16 those with 38M
# were 1.2-1.5x faster on two; 24M and 48M made the steps at batch 16 and 32 slower (Xeon, 2 cores).
PARALLEL_MULTIPLY_ADDS = 32 << 20

_helper_tasks: queue.SimpleQueue | None = None  # sections' chunk loops, for the helper threads to join
_blas: ThreadpoolController | None = None
# One parallel section at a time: BLAS's thread limit is process-wide, and two sections that set and restore it
# concurrently could leave it at one thread.
_parallel_section = threading.RLock()
# BLAS's thread limits from before the running section set them to one (sections do not nest: inside one, BLAS
# has one thread, and a nested call runs its chunks in the calling thread).
_limits_outside_section: list[int] | None = None


def _reset_in_child() -> None:
    """What a forked child (a data-loader worker) must not inherit from a fork made while another thread ran a
    section: the queue, which no helper thread reads there, the section's lock, held by a thread the child does
    not have, and BLAS limited to one thread."""
    global _helper_tasks, _parallel_section, _limits_outside_section
    _helper_tasks = None
    _parallel_section = threading.RLock()
    if _limits_outside_section is not None:
        for blas, limit in zip(_blas.lib_controllers, _limits_outside_section):
            blas.set_num_threads(limit)
        _limits_outside_section = None


def _start_helpers() -> queue.SimpleQueue:
    """Start ``CORES - 1`` helper threads, which run the functions put on the returned queue."""
    def serve(tasks: queue.SimpleQueue) -> None:
        while True:
            tasks.get()()

    tasks: queue.SimpleQueue = queue.SimpleQueue()
    for number in range(CORES - 1):
        threading.Thread(target=serve, args=(tasks,), name=f"gradlab-helper-{number}", daemon=True).start()
    return tasks


os.register_at_fork(after_in_child=_reset_in_child)


def blas_threads() -> int:
    """How many threads BLAS may use, if its limit is process-wide (numpy's pthreads OpenBLAS), else 1.

    With a per-thread limit (MKL, OpenMP builds of OpenBLAS), limiting it in the calling thread would leave the
    helper threads each running a full BLAS thread pool, so chunks then run one at a time.
    """
    global _blas
    if _blas is None:
        _blas = ThreadpoolController().select(user_api="blas")
    libraries = _blas.lib_controllers
    if not libraries or any((blas.internal_api, getattr(blas, "threading_layer", None)) != ("openblas", "pthreads")
                            for blas in libraries):
        return 1
    return min([CORES] + [blas.num_threads for blas in libraries])


def in_batch_chunks(work: Callable[[int, int], None], batch: int, bytes_per_sample: int,
                    multiply_adds_per_sample: int | None = None) -> None:
    """Call ``work(start, stop)`` on consecutive slices of the batch that together cover it, on all cores.

    Each thread takes whole chunks (slice copies and matrix products) and BLAS runs single-threaded
    meanwhile: numpy's copies use one core and OpenBLAS parallelises these small products poorly, so this is
    about 1.5x as fast as one chunk at a time with a multi-threaded BLAS. It uses as many threads as BLAS
    may (``OPENBLAS_NUM_THREADS=1`` makes it single-threaded), and BLAS calls from other threads of the
    program run single-threaded while it runs. ``work`` must only write to its own slice of the batch (or to
    a result kept per ``start``), so it needs no locking.

    Args:
        work: called with ``(start, stop)`` for each chunk, from the calling thread or a helper thread.
        batch: the batch size.
        bytes_per_sample: about how many bytes ``work`` touches per sample (its taps), which sizes the chunks.
        multiply_adds_per_sample: for matrix-product work, how many multiply-adds it does per sample; the batch
            then stays in the calling thread below ``PARALLEL_MULTIPLY_ADDS`` of them in all.
    """
    global _helper_tasks, _limits_outside_section
    if batch == 0:
        return
    if (batch * bytes_per_sample < PARALLEL_BYTES or batch == 1
            or multiply_adds_per_sample is not None and batch * multiply_adds_per_sample < PARALLEL_MULTIPLY_ADDS):
        work(0, batch)
        return
    count = -(-batch * bytes_per_sample // CHUNK_BYTES)
    with _parallel_section:
        threads = blas_threads()
        if threads > 1:  # a multiple of the threads, of sizes that differ by one image at most: they finish together
            count = -(-count // threads) * threads
        count = min(count, batch)
        chunks = iter([(batch * i // count, batch * (i + 1) // count) for i in range(count)])
        if threads == 1:
            for start, stop in chunks:
                work(start, stop)
            return
        errors: list[BaseException] = []
        running = 0  # chunks taken and not yet done
        chunk_done = threading.Condition(threading.Lock())

        def drain() -> None:
            nonlocal running
            while True:
                with chunk_done:  # taking a chunk and counting it as running is one step for the caller's wait
                    chunk = None if errors else next(chunks, None)
                    if chunk is None:
                        return
                    running += 1
                try:
                    work(*chunk)
                except BaseException as error:
                    errors.append(error)
                finally:
                    with chunk_done:
                        running -= 1
                        chunk_done.notify()

        if _helper_tasks is None:
            _helper_tasks = _start_helpers()
        # Set directly: threadpoolctl's limit() context costs 15 us per section, the setters 1 us.
        libraries = _blas.lib_controllers
        limits = _limits_outside_section = [blas.num_threads for blas in libraries]
        for blas in libraries:
            blas.set_num_threads(1)
        try:
            for _ in range(threads - 1):
                _helper_tasks.put(drain)
            drain()
            # Only chunks a helper has taken are waited for: a helper that wakes up later finds none left. Waking
            # a sleeping thread costs 20-40 us here, so waiting for a helper that has nothing to do costs as much.
            with chunk_done:
                chunk_done.wait_for(lambda: not running)
        finally:
            for blas, limit in zip(libraries, limits):
                blas.set_num_threads(limit)
            _limits_outside_section = None
        if errors:
            raise errors[0]
