"""Optimizer updates on plain arrays: SGD's whole step (weight decay, momentum, Nesterov, the learning rate) done
block by block while each block is in the cache, for all the parameters of a group at once.

One update written as whole-array numpy calls makes about six passes over memory per parameter (the weight decay
term, the buffer scaled and added to, the step scaled and subtracted). Here every pass runs on one block of a
few hundred KB before the next block is read, so the parameter, its gradient and its momentum buffer cross the
memory bus once each (and parameter and buffer once more, written back): ResNet-18's 11.7M parameters took 16.1
ms a step instead of 23.4 (momentum and weight decay, float32, one thread, Xeon).

The blocks of all the parameters go to ``parallel.in_batch_chunks`` together, so one section spreads the step over
the cores. On several threads the blocks are 4x larger: a block's eight numpy calls each hand the GIL over, and a
thread waiting for it is woken in 20-40 us here, which 64K-element calls (7 us each) do not outweigh. ResNet-18's
step took 17.3 ms on one thread and 12.1 ms on two (medians, wall clock, Xeon); parameter by parameter in
64K-element blocks it had taken longer on two threads than on one.

``reference_sgd`` at the end is the same update on whole arrays, for ``tests/test_kernels.py``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import parallel

# Elements per block on one thread: five arrays of it (parameter, gradient, buffer and two scratch rows) take
# 1.25 MB of float32, inside a core's 2 MB L2 here. Smaller blocks cost more in Python (eight numpy calls per block).
BLOCK = 1 << 16

# Elements per block when the blocks are shared among threads (see the module's docstring).
SHARED_BLOCK = 4 * BLOCK


def sgd(params: Sequence[np.ndarray], grads: Sequence[np.ndarray], buffers: Sequence[np.ndarray | None],
        firsts: Sequence[bool], lr: float, momentum: float, dampening: float, weight_decay: float, nesterov: bool,
        maximize: bool) -> None:
    """One SGD step (PyTorch's formulation, see ``optim.SGD``) on each parameter and its buffer, in place.

    Args:
        params: the parameters, updated in place.
        grads: their gradients (read only).
        buffers: their momentum buffers, each of its parameter's shape (updated in place), or None when
            ``momentum == 0``.
        firsts: per parameter, whether its buffer holds nothing yet: it is set to the first direction, not decayed
            into.
        lr, momentum, dampening, weight_decay, nesterov, maximize: the group's options.
    """
    options = lr, momentum, dampening, weight_decay, nesterov, maximize
    block = BLOCK if parallel.blas_threads() == 1 else SHARED_BLOCK
    # Each unit is a parameter's arrays, whole or one block of them, and its ``first``.
    units = []
    for param, grad, buffer, first in zip(params, grads, buffers, firsts):
        arrays = (param, grad) if buffer is None else (param, grad, buffer)
        if type(param) is not np.ndarray:  # a device array: whole arrays through numpy's dispatch (blocks are for a CPU)
            _sgd_block(param, grad, buffer, (np.empty_like(param), np.empty_like(param)), first, *options)
        elif param.size <= block or not all(array.flags.c_contiguous for array in arrays):
            # One block (most parameters of a small CNN: the fewer calls, the better), or views: whole arrays.
            units.append((param, grad, buffer, first))
        else:
            flat = [array.reshape(-1) for array in arrays]
            for start in range(0, param.size, block):
                span = slice(start, start + block)
                units.append((flat[0][span], flat[1][span], None if buffer is None else flat[2][span], first))

    def update(start: int, stop: int) -> None:
        for param, grad, buffer, first in units[start:stop]:
            scratch = parallel.workspace((2, *param.shape), param.dtype)
            _sgd_block(param, grad, buffer, (scratch[0, ...], scratch[1, ...]), first, *options)  # ...: arrays when 0-d

    if not units:
        return
    if _overlapping(params):
        # Parameters that share memory (tied weights, views of one array) are updated one after the other, as in
        # PyTorch: two threads subtracting from the same elements at once lose one of the updates.
        update(0, len(units))
        return
    touched = sum(unit[0].nbytes for unit in units) * 5  # parameter, gradient, buffer, two scratch rows
    parallel.in_batch_chunks(update, len(units), -(-touched // len(units)))


def _overlapping(arrays: Sequence[np.ndarray]) -> bool:
    """Whether two of ``arrays`` may share memory: only arrays that view the same buffer can."""
    by_buffer: dict[int, list[np.ndarray]] = {}
    for array in arrays:
        owner = array
        while isinstance(owner, np.ndarray) and owner.base is not None:
            owner = owner.base
        by_buffer.setdefault(id(owner), []).append(array)
    return any(np.may_share_memory(a, b) for views in by_buffer.values() if len(views) > 1
               for i, a in enumerate(views) for b in views[i + 1:])


def _sgd_block(param: np.ndarray, grad: np.ndarray, buffer: np.ndarray | None, scratch: Sequence[np.ndarray],
               first: bool, lr: float, momentum: float, dampening: float, weight_decay: float, nesterov: bool,
               maximize: bool) -> None:
    """``sgd`` on one block, with two scratch arrays of its shape; the operations and their order are those of
    ``reference_sgd``, so the bits are the same."""
    decayed, scaled = scratch  # named once: the identity test below compares them
    direction = grad
    if weight_decay:
        direction = np.multiply(param, weight_decay, out=decayed)
        (np.subtract if maximize else np.add)(direction, grad, out=direction)
    elif maximize:
        direction = np.negative(grad, out=decayed)
    if buffer is not None:
        if first:
            np.copyto(buffer, direction)
        else:
            buffer *= momentum
            if dampening:
                buffer += np.multiply(direction, 1 - dampening, out=scaled)
            else:
                buffer += direction
        if nesterov:
            lookahead = np.multiply(buffer, momentum, out=scaled)
            lookahead += direction
            direction = lookahead
        else:
            direction = buffer
    # The step is scaled in a scratch row (the direction itself when it is one): never in the gradient or buffer.
    step = direction if direction is decayed or direction is scaled else scaled
    param -= np.multiply(direction, lr, out=step)


def reference_sgd(param: np.ndarray, grad: np.ndarray, buffer: np.ndarray | None, first: bool, lr: float,
                  momentum: float, dampening: float, weight_decay: float, nesterov: bool,
                  maximize: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``sgd``'s new (param, buffer) from whole-array expressions, leaving the inputs as they are."""
    direction = -grad if maximize else grad
    if weight_decay:
        direction = direction + weight_decay * param
    new_buffer = None
    if buffer is not None:
        new_buffer = direction.copy() if first else momentum * buffer + (1 - dampening) * direction
        direction = direction + momentum * new_buffer if nesterov else new_buffer
    return param - lr * direction, new_buffer
