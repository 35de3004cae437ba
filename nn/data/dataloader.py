"""``DataLoader``: iterate over a dataset in batches of Tensors, in the main process or in worker processes.

With ``num_workers > 0`` the loader works as PyTorch's does: the main process draws the batches' indices from
the batch sampler and hands them round-robin to the workers, each through its own index queue, keeping
``prefetch_factor`` batches per worker in flight; the workers fetch and collate the batches and send them back
on one result queue, and the main process yields them in the sampler's order (a batch that arrives early waits
in a reorder buffer). A worker's exception is sent back and raised again in the main process with the worker's
traceback. Workers are forked where the platform allows it (the dataset is then shared, not pickled); a fork
child forgets the parent's compute threads (``autograd.kernels.parallel`` registers that at import) and runs
BLAS on one thread, as PyTorch's workers run with ``torch.set_num_threads(1)``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import sys
import time
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from autograd import random as _random
from autograd.tensor import Tensor, wrap

from .dataset import Dataset, as_generator, default_collate
from .sampler import BatchSampler, RandomSampler, SequentialSampler

# How often (seconds) a waiting worker checks that its parent is alive, and a waiting main process that its
# workers are: PyTorch's MP_STATUS_CHECK_INTERVAL.
_STATUS_CHECK_INTERVAL = 5.0
# How long shutdown waits for a worker to exit by itself before terminating it.
_SHUTDOWN_TIMEOUT = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process.

    Attributes:
        id: this worker's index, in ``[0, num_workers)``.
        num_workers: the number of workers of the loader.
        seed: the seed of this worker's global generators (``autograd``'s and ``random``'s).
        dataset: this worker's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Information about the current ``DataLoader`` worker (in a ``worker_init_fn`` or a dataset's
    ``__getitem__``), or None in the main process."""
    return _worker_info


class DataLoader:
    """Batches of a dataset as Tensors, optionally loaded by worker processes.

    Without ``collate_fn``, each batch comes from one ``dataset.get_batch(indices)`` call, so a
    ``TensorDataset`` or an ``ImageDataset`` is sliced with a single fancy index per array and its
    transform runs once per batch. ndarrays in the batch are wrapped as Tensors (no copy).

    Args:
        dataset: the dataset to load from.
        batch_size: samples per batch.
        shuffle: draw a new random order every epoch (a ``RandomSampler``).
        sampler: the indices to load, in order, instead of the whole dataset (such as a ``DistributedSampler``:
            this rank's share, or a ``WeightedRandomSampler``); iterated anew every epoch, and it must have a
            ``len``. Excludes ``shuffle``.
        batch_sampler: yields whole batches of indices; excludes ``batch_size``, ``shuffle``, ``sampler`` and
            ``drop_last``.
        num_workers: the number of worker processes; 0 loads in the main process.
        collate_fn: turns a list of samples into a batch; when given, samples are fetched one by one and the
            batch is returned as ``collate_fn`` made it.
        pin_memory: accepted for PyTorch compatibility; there is no accelerator memory to pin, so it does nothing.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers before raising (0 waits for ever, but a worker
            that died is still reported).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after seeding, before loading.
        multiprocessing_context: a start method name (``"fork"``, ``"spawn"``, ``"forkserver"``) or a context;
            default ``"fork"`` where available. With spawn or forkserver, the dataset, ``collate_fn`` and
            ``worker_init_fn`` are pickled, so lambdas do not work.
        generator: numpy Generator or int seed for shuffling (and for the workers' seeds); None draws from the
            global generator, so ``autograd.manual_seed`` makes the order reproducible.
        prefetch_factor: batches loaded in advance per worker (default 2 with workers; only with workers).
        persistent_workers: keep the workers alive between epochs instead of starting new ones every epoch.

    Each worker seeds ``autograd``'s global generator and Python's ``random`` with ``base_seed + worker_id``,
    where ``base_seed`` is drawn whenever workers start (every epoch, or once with ``persistent_workers``) without
    disturbing the shuffle order, which is the same with any number of workers.

    Example::

        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, num_workers=2)
        >>> for images, labels in loader:
        ...     ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable[int] | None = None, batch_sampler: Iterable[Sequence[int]] | None = None,
                 num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: str | Any | None = None,
                 generator: np.random.Generator | int | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor should be a positive integer, but got prefetch_factor={prefetch_factor}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        # A seed becomes one generator for the loader's lifetime, so successive epochs get different orders.
        self.generator = None if generator is None else as_generator(generator)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size = None
        elif not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        if batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context)
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._workers: _WorkerPool | None = None  # kept between epochs with persistent_workers

    def __len__(self) -> int:
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return (self._finish(_fetch(self.dataset, self.collate_fn, batch)) for batch in self.batch_sampler)
        workers = self._workers
        if workers is None or workers.closed:
            workers = _WorkerPool(self)
            if self.persistent_workers:
                self._workers = workers
        return _WorkerIterator(self, workers)

    def _finish(self, batch: Any) -> Any:
        """A fetched batch as the loader yields it: ndarrays wrapped as Tensors unless ``collate_fn`` made it."""
        return batch if self.collate_fn is not None else _to_tensors(batch)

    def _worker_base_seed(self) -> int:
        """A new seed for an epoch's workers, drawn from a child of the loader's generator (or the global one):
        spawning a child leaves the parent's stream, hence the shuffle order, as it is."""
        generator = as_generator(self.generator)
        return int(generator.spawn(1)[0].integers(2 ** 62))


def _context(context: str | Any | None) -> Any:
    """The multiprocessing context to start workers with: fork by default where the platform has it."""
    if context is None:
        return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    if isinstance(context, str):
        if context not in multiprocessing.get_all_start_methods():
            raise ValueError(f"multiprocessing_context option should specify a valid start method in "
                             f"{multiprocessing.get_all_start_methods()!r}, but got "
                             f"multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    return context


def _fetch(dataset: Any, collate_fn: Callable[[list], Any] | None, indices: Sequence[int]) -> Any:
    """The batch at ``indices``: one ``get_batch`` call for a ``Dataset``, else the samples collated."""
    if collate_fn is not None:
        return collate_fn([dataset[int(index)] for index in indices])
    if isinstance(dataset, Dataset):
        return dataset.get_batch(np.asarray(indices, dtype=np.int64))
    return default_collate([dataset[int(index)] for index in indices])


def _to_tensors(batch: Any) -> Any:
    """Wrap the ndarrays of a collated batch (tuple, dict or array) as Tensors."""
    if isinstance(batch, tuple):
        return tuple(_to_tensors(field) for field in batch)
    if isinstance(batch, dict):
        return {key: _to_tensors(value) for key, value in batch.items()}
    if isinstance(batch, np.ndarray):
        return wrap(batch)
    return batch if isinstance(batch, Tensor) else wrap(np.asarray(batch))


class _WorkerError:
    """An exception raised in a worker, carried to the main process with its formatted traceback."""

    def __init__(self, worker_id: int, where: str) -> None:
        kind = sys.exc_info()[0]
        self.kind = kind
        self.message = (f"Caught {kind.__name__} {where} in DataLoader worker process {worker_id}.\n"
                        f"Original {traceback.format_exc()}")

    def reraise(self) -> None:
        """Raise an exception of the original type whose message holds the worker's traceback."""
        try:
            error = self.kind(self.message)
        except Exception:  # an exception type whose constructor takes other arguments
            error = RuntimeError(self.message)
        raise error


def _worker_loop(dataset: Any, collate_fn: Callable | None, worker_init_fn: Callable | None,
                 index_queue: Any, result_queue: Any, worker_id: int, num_workers: int, seed: int,
                 parent_pid: int) -> None:
    """A worker: fetch the batches named on ``index_queue`` and put them (or the error) on ``result_queue``.

    Tasks are ``(epoch, batch number, indices)``; ``None`` tells the worker to exit, and so does the
    disappearance of its parent.
    """
    global _worker_info
    try:
        threadpool_limits(1, user_api="blas")  # the workers together use the cores, not each of them
        _random.manual_seed(seed)
        random.seed(seed)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        init_error = None
        if worker_init_fn is not None:
            try:
                worker_init_fn(worker_id)
            except Exception:
                init_error = _WorkerError(worker_id, "in worker_init_fn")
        while True:
            try:
                task = index_queue.get(timeout=_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process died: nobody will read what we load
                    return
                continue
            if task is None:
                return
            epoch, number, indices = task
            if init_error is not None:
                result = init_error
            else:
                try:
                    result = _fetch(dataset, collate_fn, indices)
                except Exception:
                    result = _WorkerError(worker_id, "while loading a batch")
            result_queue.put((epoch, number, result))
            del result, task  # free the batch now, not when the next one replaces it
    except KeyboardInterrupt:  # Ctrl-C reaches the workers too; the main process reports it
        pass


class _WorkerPool:
    """The worker processes of a loader with their index queues and the shared result queue."""

    def __init__(self, loader: DataLoader) -> None:
        context = loader.multiprocessing_context
        self.result_queue = context.Queue()
        self.index_queues = []
        self.processes = []
        self.epoch = 0
        # Closes the pool when it is garbage (a loop left early) or at interpreter exit, whichever comes first;
        # registered before the first start, so that workers started before a failing one are stopped too.
        self._finalizer = weakref.finalize(self, _shut_down, self.processes, self.index_queues, self.result_queue)
        seed = loader._worker_base_seed()
        for worker_id in range(loader.num_workers):
            index_queue = context.Queue()
            process = context.Process(
                target=_worker_loop, name=f"gradlab-data-worker-{worker_id}", daemon=True,
                args=(loader.dataset, loader.collate_fn, loader.worker_init_fn, index_queue, self.result_queue,
                      worker_id, loader.num_workers, seed + worker_id, os.getpid()))
            process.start()
            self.index_queues.append(index_queue)
            self.processes.append(process)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has run (the workers are stopped)."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Stop the workers and release the queues (idempotent)."""
        self._finalizer()


def _shut_down(processes: list, index_queues: list, result_queue: Any) -> None:
    """Ask every worker to exit, drain what they still send so that none blocks on a full pipe, and terminate
    those that do not exit within ``_SHUTDOWN_TIMEOUT``."""
    for index_queue in index_queues:
        try:
            index_queue.put(None)
        except (OSError, ValueError):  # a queue already closed
            pass
    deadline = time.monotonic() + _SHUTDOWN_TIMEOUT
    while any(process.is_alive() for process in processes) and time.monotonic() < deadline:
        try:
            result_queue.get(timeout=0.05)
        except (queue.Empty, OSError, ValueError, EOFError):
            pass
    for process in processes:
        if process.is_alive():
            process.terminate()
        process.join()
    for each in (*index_queues, result_queue):
        each.cancel_join_thread()
        each.close()


class _WorkerIterator:
    """One epoch of batches loaded by a ``_WorkerPool``, yielded in the batch sampler's order."""

    def __init__(self, loader: DataLoader, workers: _WorkerPool) -> None:
        self._loader = loader
        self._workers = workers
        workers.epoch += 1
        self._epoch = workers.epoch  # results of an earlier epoch left early are recognised and dropped
        self._batches = iter(loader.batch_sampler)
        self._sent = 0  # batches handed to the workers
        self._next = 0  # the number of the batch to yield next
        self._early: dict[int, Any] = {}  # batches that arrived before their turn
        self._worker_cycle = 0
        self._exhausted = False
        for _ in range(loader.prefetch_factor * loader.num_workers):
            self._send()

    def __iter__(self) -> _WorkerIterator:
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _send(self) -> None:
        """Hand the sampler's next batch to the next worker in turn."""
        if self._exhausted:
            return
        indices = next(self._batches, None)
        if indices is None:
            self._exhausted = True
            return
        self._workers.index_queues[self._worker_cycle].put((self._epoch, self._sent, list(indices)))
        self._worker_cycle = (self._worker_cycle + 1) % len(self._workers.index_queues)
        self._sent += 1

    def __next__(self) -> Any:
        if self._workers.closed:
            raise StopIteration
        while self._next not in self._early:
            if self._next == self._sent:  # everything sent was yielded and the sampler is exhausted
                if not self._loader.persistent_workers:
                    self._workers.close()
                raise StopIteration
            epoch, number, result = self._receive()
            if epoch == self._epoch:
                self._early[number] = result
        result = self._early.pop(self._next)
        self._next += 1
        self._send()
        if isinstance(result, _WorkerError):
            result.reraise()
        return self._loader._finish(result)

    def _receive(self) -> tuple[int, int, Any]:
        """The next result from any worker, checking every few seconds that the workers are alive."""
        timeout = self._loader.timeout
        started = time.monotonic()
        while True:
            wait = _STATUS_CHECK_INTERVAL if not timeout else min(_STATUS_CHECK_INTERVAL,
                                                                 max(0.0, timeout - (time.monotonic() - started)))
            try:
                return self._workers.result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            dead = [process for process in self._workers.processes if not process.is_alive()]
            if dead:
                self._workers.close()
                codes = ", ".join(f"{process.pid} (exit code {process.exitcode})" for process in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {codes}) exited unexpectedly")
            if timeout and time.monotonic() - started >= timeout:
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")
