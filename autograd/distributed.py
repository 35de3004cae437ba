"""Process groups and collectives for training on several processes and machines, on MPI (``mpi4py``).

Modelled on ``torch.distributed``: every process (a *rank*) runs the same program, ``init()`` joins them, and the
collectives combine a tensor across the ranks in place::

    from autograd import distributed
    distributed.init()
    total = autograd.tensor([float(distributed.get_rank())])
    distributed.all_reduce(total)            # every rank now holds 0 + 1 + ... + (world size - 1)

Start the ranks with MPI's launcher: ``mpiexec -n 4 python train.py``, or ``mpiexec --hostfile hosts -n 8 ...``
across machines (``gradlab train --nproc 4`` runs its own ``mpiexec``). Outside a launcher, ``init()`` makes a world
of this one process without loading MPI, so the same script also runs as plain ``python train.py`` and needs no
MPI there. MPI is loaded by ``init()``, never by ``import autograd``; ``pip install "gradlab[dist]"`` brings mpi4py
and Open MPI's wheel, whose ``mpiexec`` lands next to ``python``.

Collectives hand numpy buffers to MPI (mpi4py's upper-case buffer API, in place), never pickled Python objects:
a 1 MB float32 allreduce between two local ranks takes 0.2-0.5 ms that way, about 15x less than pickled.

Every rank must issue the same collectives on a group in the same order (MPI's rule): one that skips a collective
leaves the others waiting in it for ever. So once ``init()`` has loaded MPI, an uncaught exception on any rank prints
its traceback and aborts the whole job (``abort``), rather than exiting that rank alone while the others wait.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import TracebackType
from typing import Any, Callable, NoReturn, Sequence

import numpy as np

from .function import Function
from .grad_mode import no_grad
from .tensor import Tensor, from_numpy

INSTALL = 'pip install "gradlab[dist]"'
# What MPI launchers put in the environment of every rank they start: Open MPI's mpiexec, MPICH's and Intel MPI's
# (hydra), and PMIx (Slurm's srun, prterun).
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK")
# all_reduce's ops, by the name of the MPI reduction each runs ('mean' is a sum, then divided).
_OPS = {"sum": "SUM", "mean": "SUM", "max": "MAX", "min": "MIN"}


class ProcessGroup:
    """Ranks that run collectives together: the world that ``init()`` makes, or a copy from ``new_group()``.

    Collectives on two groups never match each other, whatever the order they are issued in.
    """

    def __init__(self, comm: Any) -> None:
        self._comm = comm  # an mpi4py communicator; None in a world of one process without MPI

    def rank(self) -> int:
        """This process's number in the group, from 0."""
        return 0 if self._comm is None else self._comm.Get_rank()

    def size(self) -> int:
        """The number of ranks in the group."""
        return 1 if self._comm is None else self._comm.Get_size()


class Work:
    """A collective started with ``async_op=True``: its tensor holds the result once ``wait()`` has returned."""

    def __init__(self, request: Any, finish: Callable[[], None]) -> None:
        self._request = request  # an MPI request; None when nothing is left to wait for
        self._finish: Callable[[], None] | None = finish

    def wait(self) -> bool:
        """Block until the collective has completed on this rank (later calls return at once).

        Returns:
            True, as PyTorch's ``Work.wait``.
        """
        if self._finish is not None:
            if self._request is not None:
                self._request.Wait()
            finish, self._finish = self._finish, None
            finish()
        return True


_world: ProcessGroup | None = None
_local_rank = 0


def is_available() -> bool:
    """Whether mpi4py is installed (``gradlab[dist]``); without it only a world of one process can be made."""
    return importlib.util.find_spec("mpi4py") is not None


def is_launched() -> bool:
    """Whether an MPI launcher (``mpiexec``, ``srun``) started this process, as the variables it sets say."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init() -> None:
    """Join the ranks that the launcher started; outside a launcher, make a world of this process alone.

    Calling it again does nothing. Under a launcher it loads MPI, and from then on an uncaught exception on any
    rank prints its traceback and then aborts every rank of the job (``abort(1)``).

    Raises:
        ImportError: started by a launcher, but mpi4py or its MPI library cannot be loaded; the message says
            what to install.
    """
    global _world, _local_rank
    if _world is not None:
        return
    if not is_launched():
        _world = ProcessGroup(None)
        return
    MPI = _mpi()
    world = MPI.COMM_WORLD
    # The ranks on this machine are those that can share memory with this one.
    machine = world.Split_type(MPI.COMM_TYPE_SHARED)
    _local_rank = machine.Get_rank()
    machine.Free()
    _world = ProcessGroup(world)
    sys.excepthook = _aborting(sys.excepthook)


def is_initialized() -> bool:
    """Whether ``init()`` has been called in this process."""
    return _world is not None


def get_rank() -> int:
    """This process's rank in the world, from 0 (the rank that writes files and prints, by convention)."""
    return _group(None).rank()


def get_world_size() -> int:
    """The number of ranks in the world (1 outside a launcher)."""
    return _group(None).size()


def get_local_rank() -> int:
    """This process's number among the ranks on its own machine, from 0."""
    _group(None)
    return _local_rank


def new_group() -> ProcessGroup:
    """A new group of all the ranks, whose collectives are ordered apart from every other group's.

    Every rank must call it, in the same order relative to the other collectives. Data-parallel training reduces
    gradients on a group of its own, so that those reductions, started while backward runs, can never be matched
    with another collective issued during backward on another rank (SyncBatchNorm's, say).
    """
    comm = _group(None)._comm
    return ProcessGroup(None if comm is None else comm.Dup())


def all_reduce(tensor: Tensor, op: str = "sum", group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` elementwise across the ranks, in place: every rank receives the same result.

    Args:
        tensor: the same shape and dtype on every rank.
        op: ``'sum'``, ``'mean'`` (the sum divided by the number of ranks; floating-point tensors), ``'max'``
            or ``'min'``.
        group: the ranks to reduce over (default: the world).
        async_op: start the reduction and return at once; ``tensor`` holds the result after ``wait()``.

    Returns:
        the ``Work`` to wait on when ``async_op``, else None.
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(map(repr, _OPS))}, got {op!r}")
    if op == "mean" and tensor.dtype.kind != "f":
        raise ValueError(f"all_reduce: op='mean' needs a floating-point tensor, got {tensor.dtype}")
    group = _group(group)
    array, store = _contiguous(tensor)
    request = None
    if group._comm is not None:
        MPI = _mpi()
        reduction = getattr(MPI, _OPS[op])
        if async_op:
            request = group._comm.Iallreduce(MPI.IN_PLACE, array, op=reduction)
        else:
            group._comm.Allreduce(MPI.IN_PLACE, array, op=reduction)

    def finish() -> None:
        if op == "mean" and group.size() > 1:
            np.divide(array, group.size(), out=array)
        store()

    work = Work(request, finish)
    if async_op:
        return work
    work.wait()
    return None


def broadcast(tensor: Tensor, src: int, group: ProcessGroup | None = None) -> None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank, in place.

    Args:
        tensor: the same shape and dtype on every rank.
        src: the rank whose values are sent.
        group: the ranks taking part (default: the world).
    """
    group = _group(group)
    if not 0 <= src < group.size():
        raise ValueError(f"broadcast: src must be a rank in [0, {group.size() - 1}], got {src}")
    array, store = _contiguous(tensor)
    if group._comm is not None:
        group._comm.Bcast(array, root=src)
    store()


def broadcast_tensors(tensors: Sequence[Tensor], src: int = 0, group: ProcessGroup | None = None) -> None:
    """``broadcast`` each of ``tensors`` from rank ``src``, packed into one message per dtype (a model's parameters
    or buffers: one collective rather than one per tensor).

    Args:
        tensors: the same shapes and dtypes, in the same order, on every rank.
        src: the rank whose values are sent.
        group: the ranks taking part (default: the world).
    """
    by_dtype: dict[np.dtype, list[Tensor]] = {}
    for tensor in tensors:
        by_dtype.setdefault(tensor.dtype, []).append(tensor)
    for same_dtype in by_dtype.values():
        flat = np.concatenate([tensor.data.reshape(-1) for tensor in same_dtype])
        broadcast(from_numpy(flat), src, group)
        start = 0
        with no_grad():
            for tensor in same_dtype:
                tensor.copy_(flat[start:start + tensor.numel()].reshape(tensor.shape))
                start += tensor.numel()


class AllReduceSum(Function):
    """y = sum over the ranks of x, on every rank; dx = sum over the ranks of dy: the adjoint of an all-reduce
    sum is an all-reduce sum, since every rank's y depends on every rank's x."""

    @staticmethod
    def forward(ctx, x: Tensor, group: ProcessGroup | None) -> np.ndarray:
        ctx.group = group
        total = x.data.copy()
        all_reduce(from_numpy(total), "sum", group)
        return total

    @staticmethod
    def backward(ctx, grad: Tensor):
        return AllReduceSum.apply(grad, ctx.group), None


def all_reduce_sum(tensor: Tensor, group: ProcessGroup | None = None) -> Tensor:
    """The sum of ``tensor`` over the ranks, as a new tensor on every rank, differentiable (unlike the in-place
    ``all_reduce``): what SyncBatchNorm's statistics are built from.

    Args:
        tensor: the same shape and dtype on every rank.
        group: the ranks to sum over (default: the world).

    Returns:
        Tensor of ``tensor``'s shape and dtype.
    """
    return AllReduceSum.apply(tensor, group)


def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: ProcessGroup | None = None) -> None:
    """Every rank's ``tensor``, copied into ``tensor_list[rank]`` on every rank.

    Args:
        tensor_list: one tensor per rank, each of ``tensor``'s shape and dtype, overwritten in place.
        tensor: this rank's contribution (the same shape and dtype on every rank).
        group: the ranks taking part (default: the world).
    """
    group = _group(group)
    if len(tensor_list) != group.size():
        raise ValueError(f"all_gather: tensor_list must hold one tensor per rank ({group.size()}), "
                         f"got {len(tensor_list)}")
    for index, output in enumerate(tensor_list):
        if output.shape != tensor.shape or output.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{index}] is {output.dtype} of shape {output.shape}, "
                             f"expected {tensor.dtype} of shape {tensor.shape} like tensor")
    gathered = np.empty((group.size(), *tensor.shape), tensor.dtype)
    if group._comm is None:
        gathered[0] = tensor.data
    else:
        group._comm.Allgather(np.ascontiguousarray(tensor.data), gathered)
    for output, part in zip(tensor_list, gathered):
        array, store = _contiguous(output)
        array[...] = part
        store()


def barrier(group: ProcessGroup | None = None) -> None:
    """Return once every rank of ``group`` (default: the world) has called it."""
    comm = _group(group)._comm
    if comm is not None:
        comm.Barrier()


def abort(errorcode: int = 1) -> NoReturn:
    """End every rank of the job now, with exit status ``errorcode`` (MPI_Abort); this process alone outside MPI.

    What a rank must do when it cannot go on: exiting by itself would leave the others waiting for it in their next
    collective (and Open MPI's own exit waits for every rank). Standard output and error are flushed first.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or file: nothing more can be said there
            pass
    comm = None if _world is None else _world._comm
    if comm is None:
        os._exit(errorcode)
    comm.Abort(errorcode)


def _group(group: ProcessGroup | None) -> ProcessGroup:
    if _world is None:
        raise RuntimeError("autograd.distributed: call autograd.distributed.init() first")
    return _world if group is None else group


def _mpi() -> Any:
    """mpi4py's MPI module (importing it initialises MPI)."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as error:  # RuntimeError: mpi4py found no MPI library to load
        raise ImportError(f"autograd.distributed needs mpi4py and an MPI library ({error}): {INSTALL}") from error
    return MPI


def _contiguous(tensor: Tensor) -> tuple[np.ndarray, Callable[[], None]]:
    """A C-contiguous array of ``tensor``'s values for MPI to work on in place, and the function that stores it
    back into ``tensor`` (a copy only when ``tensor`` is a strided view), counting the change in its version."""
    data = tensor.data
    array = data if data.flags.c_contiguous else np.ascontiguousarray(data)

    def store() -> None:
        if array is not data:
            data[...] = array
        # What in-place ops count: a tensor saved for a backward and then changed here is an error there.
        tensor._version[0] += 1

    return array, store


def _aborting(excepthook: Callable[[type[BaseException], BaseException, TracebackType | None], Any]) -> Callable:
    """``excepthook``, then ``abort(1)``: the traceback of the rank that failed is shown, and no rank is left
    waiting for it."""

    def hook(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
        excepthook(kind, value, traceback)
        abort(1)

    return hook
