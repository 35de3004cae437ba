"""``DistributedDataParallel``: one replica of the model per rank, gradients averaged across the ranks in backward.

How the gradients travel, as in PyTorch's DDP: the parameters are cut into buckets of about ``bucket_cap_mb``, in
reverse order of ``parameters()`` (about the order backward produces their gradients: last layer first). A hook
that runs once backward has accumulated a parameter's gradient (``register_post_accumulate_grad_hook``) copies it
into its bucket's flat buffer; once a bucket is full its allreduce starts, non-blocking, while backward goes on
through the earlier layers. A callback queued for the end of the backward pass (``autograd.engine.queue_callback``)
waits for every bucket and copies the averages back into each ``.grad``. The callback is queued by the first of
those hooks to run, or earlier by a pre-hook on the nodes of the forward's outputs: a rank whose backward reaches
no parameter at all still takes part in the reductions.

Every rank must start the same allreduces in the same order, whatever order its own backward finished the buckets
in: so bucket ``i`` starts only after buckets ``0 .. i-1`` (PyTorch's rule too), and the buckets that still wait for a
parameter at the end of backward (one this rank's backward never reached) are started there, in order.
"""

from __future__ import annotations

import contextlib
import weakref
from functools import partial
from typing import Any, Iterable, Iterator

import numpy as np

from autograd import distributed
from autograd.engine import queue_callback
from autograd.grad_mode import is_grad_enabled, no_grad
from autograd.hooks import RemovableHandle
from autograd.tensor import Tensor, from_numpy

from ..module import Module
from ..parameter import Parameter


class DistributedDataParallel(Module):
    """Data-parallel training: every rank runs ``module`` on its own part of each batch, and backward leaves in
    every parameter's ``.grad``, on every rank, the average of all the ranks' gradients.

    Identical optimizer steps then keep the replicas identical, and N ranks with batches of B train as one process
    with batches of N * B whose loss is the mean of the ranks' losses (batch norm aside: its statistics stay per
    rank, unless the model uses ``SyncBatchNorm``). At construction rank 0's parameters and buffers are broadcast
    to every rank, so that the replicas start identical.

    Gradients are averaged in flat buckets, one allreduce each, started as soon as backward has finished the
    bucket's gradients, so that they travel while backward goes on (see the module's docstring). The reductions
    run on a process group of their own (``distributed.new_group()``), so that they can never be matched with
    another collective issued during backward, such as SyncBatchNorm's.

    A parameter that got no gradient on some rank (a branch that rank did not take) counts as zeros there; one that
    no rank gave a gradient keeps ``.grad`` None, as in one process. Nothing needs to be declared in advance
    (PyTorch's ``find_unused_parameters``), and no rank is left waiting. Every rank must run the same number of
    backward passes (and of forward passes, with ``broadcast_buffers``). Backward with ``create_graph=True``
    reduces the gradients' values, not their graphs.

    Checkpoints: ``ddp.state_dict()`` prefixes every key with ``module.``, as in PyTorch; save
    ``ddp.module.state_dict()`` (what ``gradlab train`` does) to get one that loads into the plain model, in
    gradlab or in PyTorch, and load it back with ``ddp.module.load_state_dict``.

    Args:
        module: the model, with the same parameters (shapes and order) on every rank.
        broadcast_buffers: before each forward that records a graph for a synchronised backward, copy rank 0's
            buffers (batch norm's running statistics) to every rank, so that all ranks evaluate alike.
        bucket_cap_mb: the size of a bucket in MiB (PyTorch's default 25); smaller buckets start their allreduce
            earlier in backward, larger ones make fewer calls.

    Attributes:
        module: the wrapped model.
        process_group: the group the gradients are reduced on.
        require_backward_grad_sync: whether backward reduces gradients (False inside ``no_sync()``).

    Example::

        >>> distributed.init()
        >>> ddp = DistributedDataParallel(model)
        >>> loss_fn(ddp(images), labels).backward()   # .grad: the average over the ranks
        >>> optimizer.step()
    """

    def __init__(self, module: Module, *, broadcast_buffers: bool = True, bucket_cap_mb: float = 25.0) -> None:
        super().__init__()
        if not bucket_cap_mb > 0:
            raise ValueError(f"Invalid bucket_cap_mb: {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self.process_group = distributed.new_group()
        distributed.broadcast_tensors([*module.parameters(), *module.buffers()], 0, self.process_group)
        trained = [param for param in module.parameters() if param.requires_grad]
        self._buckets = _buckets(reversed(trained), bucket_cap_mb * 2**20)
        self._next_bucket = 0  # the first bucket whose allreduce has not started in this backward pass
        self._reducing = False  # a backward pass has started reducing and has not finished yet
        # The hooks hold the DDP weakly, and its parameters' hooks are removed with it: a model wrapped anew (or
        # unwrapped) must not keep reducing for a wrapper nobody holds.
        self._reference = weakref.ref(self)
        handles: list[RemovableHandle] = []
        for bucket in self._buckets:
            for slot, param in enumerate(bucket.params):
                handles.append(param.register_post_accumulate_grad_hook(partial(_gradient_ready, self._reference,
                                                                                 bucket, slot)))
        weakref.finalize(self, _remove, handles)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._reducing:
            raise RuntimeError("DistributedDataParallel: the previous backward pass stopped before its gradients "
                               "were reduced (it raised); the ranks can no longer agree on which allreduce comes "
                               "next, so this job cannot go on")
        if self.broadcast_buffers and is_grad_enabled() and self.require_backward_grad_sync:
            buffers = list(self.module.buffers())
            if buffers:
                distributed.broadcast_tensors(buffers, 0, self.process_group)
        output = self.module(*inputs, **kwargs)
        for tensor in _tensors(output):
            if tensor.grad_fn is not None:
                tensor.grad_fn.register_prehook(partial(_backward_started, self._reference))
        return output

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this context backward accumulates gradients on each rank without reducing them.

        For gradient accumulation: run the forward and backward passes of all micro-batches but the last in
        ``no_sync()``; the backward of the last one (outside) reduces the sum accumulated in ``.grad``.
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return f"broadcast_buffers={self.broadcast_buffers}, bucket_cap_mb={self.bucket_cap_mb}"

    def _start_reduction(self) -> bool:
        """Queue the end of this backward's reduction, once per pass; False when this backward does not reduce."""
        if not self.require_backward_grad_sync:
            return False
        if not self._reducing:
            self._reducing = True
            queue_callback(self._finish_reduction)
        return True

    def _start_full_buckets(self) -> None:
        """Start the allreduce of each bucket, in order, up to the first one still waiting for a gradient."""
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].waiting == 0:
            buckets[self._next_bucket].start(self.process_group)
            self._next_bucket += 1

    def _finish_reduction(self) -> None:
        """At the end of backward: start the buckets not started yet, wait for all, store the averages."""
        for bucket in self._buckets[self._next_bucket:]:
            bucket.fill_missing()
        self._start_full_buckets()
        for bucket in self._buckets:
            bucket.store()
        self._next_bucket = 0
        self._reducing = False


def _backward_started(reference: weakref.ref, grad_outputs: tuple) -> None:
    """The pre-hook of an output's node: backward has reached this DDP's forward."""
    ddp = reference()
    if ddp is not None:
        ddp._start_reduction()


def _gradient_ready(reference: weakref.ref, bucket: _Bucket, slot: int, param: Parameter) -> None:
    """The post-accumulate-grad hook of ``bucket.params[slot]``."""
    ddp = reference()
    if ddp is None or not ddp._start_reduction():
        return
    bucket.fill(slot)
    if bucket.waiting == 0:
        ddp._start_full_buckets()


def _tensors(output: Any) -> Iterator[Tensor]:
    """The Tensors in a forward's output: itself, or those in its tuples, lists and dicts."""
    if isinstance(output, Tensor):
        yield output
    elif isinstance(output, (tuple, list)):
        for item in output:
            yield from _tensors(item)
    elif isinstance(output, dict):
        for item in output.values():
            yield from _tensors(item)


def _remove(handles: list[RemovableHandle]) -> None:
    for handle in handles:
        handle.remove()


class _Bucket:
    """The gradients of a few parameters of one dtype, packed into one flat buffer and reduced by one allreduce.

    After the gradients, the buffer holds one flag per parameter: 1 where this rank has a gradient for it, else 0.
    Averaged with the gradients, the flag says on every rank whether any rank had one, with no collective of its own.
    """

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.offsets = np.cumsum([0] + [param.numel() for param in params]).tolist()
        self.buffer = np.zeros(self.offsets[-1] + len(params), params[0].dtype)
        self.flags = self.buffer[self.offsets[-1]:]
        self.filled = [False] * len(params)
        self.waiting = len(params)  # parameters whose gradient this backward pass has not given yet
        self.work: distributed.Work | None = None

    def fill(self, slot: int) -> None:
        """Copy the gradient of ``params[slot]`` into the buffer (zeros when it has none)."""
        grad = self.params[slot].grad
        part = self.buffer[self.offsets[slot]:self.offsets[slot + 1]]
        if grad is None:
            part.fill(0)
        else:
            part[...] = grad.data.reshape(-1)
        self.flags[slot] = grad is not None
        self.filled[slot] = True
        self.waiting -= 1

    def fill_missing(self) -> None:
        """Fill the parameters backward did not reach on this rank: their ``.grad`` from an earlier backward
        (accumulated in ``no_sync``), or zeros."""
        for slot, filled in enumerate(self.filled):
            if not filled:
                self.fill(slot)

    def start(self, group: distributed.ProcessGroup) -> None:
        self.work = distributed.all_reduce(from_numpy(self.buffer), "mean", group, async_op=True)

    def store(self) -> None:
        """Wait for the allreduce and put the averages into ``.grad``; ready the bucket for the next pass."""
        self.work.wait()
        for slot, param in enumerate(self.params):
            if self.flags[slot] == 0:  # no rank has a gradient: .grad stays None, as in one process
                continue
            average = self.buffer[self.offsets[slot]:self.offsets[slot + 1]].reshape(param.shape)
            if param.grad is None:
                param.grad = Tensor(average.copy())
            else:
                with no_grad():
                    param.grad.copy_(average)
        self.filled = [False] * len(self.params)
        self.waiting = len(self.params)
        self.work = None


def _buckets(params: Iterable[Parameter], cap_bytes: float) -> list[_Bucket]:
    """``params`` cut, in their order, into buckets of one dtype and at most ``cap_bytes`` (or one parameter)."""
    buckets, current, size = [], [], 0
    for param in params:
        if current and (size + param.data.nbytes > cap_bytes or param.dtype != current[0].dtype):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(param)
        size += param.data.nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets
