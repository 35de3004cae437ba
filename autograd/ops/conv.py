"""Convolution: conv1d, conv2d and conv_transpose2d, whose gradients are convolutions again.

conv2d computes a cross-correlation, as every deep-learning framework does:
y[n, o] = b[o] + sum_c w[o, c] ⋆ x[n, c]. It is im2col and matrix products, arranged so that numpy moves
little data: ``_row_taps`` copies the kw taps of every window row (im2col done kw times instead of kh*kw
times), in which each kernel row's windows form a strided matrix per image, and ``_correlate_into`` multiplies
each kernel row of the weight with it, y[n] += W_i (C_out, kw*C) @ taps_i[n] (kw*C, Ho*Wo), straight into the
NCHW output. The batch is cut into chunks whose taps stay in the cache, and the chunks are spread over the
cores with BLAS single-threaded meanwhile (``_in_batch_chunks``). A 1x1 convolution needs no copies at all:
it is a matrix product per image on the NCHW layout.

The gradients are built from the same three Functions, so they can be differentiated again:

- w.r.t. the input: the transposed convolution of the output gradient with the same kernel. For stride 1
  that is a "full" convolution of the output gradient with the kernel rotated by 180 degrees; for stride s
  the gradient is first spread out with s - 1 zeros between its elements (a fractionally strided
  convolution). ``ConvTranspose2d`` computes it without the zeros: each of the s*s stride phases of its output
  is a stride-1 correlation with some taps of the rotated kernel (``_transposed_convolution``).
- w.r.t. the weight: the correlation of the input with the output gradient (``Conv2dWeightGrad``).
- w.r.t. the bias: the output gradient summed over N, H and W.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Callable, NamedTuple, Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

from ..errors import OpError
from ..function import Function
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor

Pair = tuple[int, int]
Padding2d = tuple[Pair, Pair]  # ((top, bottom), (left, right))


_scratch = threading.local()


# Taps up to this size are kept for reuse, one buffer per thread; larger ones are allocated per call, so the memory
# kept alive between calls stays bounded.
_WORKSPACE_LIMIT = 256 << 20


def _workspace(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` in a per-thread buffer that is reused from call to call.

    A fresh taps buffer is page-faulted in on every call, which costs as much as filling it. The buffer keeps
    the largest size asked for, up to ``_WORKSPACE_LIMIT``.
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size > _WORKSPACE_LIMIT:
        return np.empty(shape, dtype)
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = _scratch.buffer = np.empty(size, np.uint8)
    return buffer[:size].view(dtype).reshape(shape)


_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

# The batch is cut into chunks of about this many bytes of row taps, which stay in the cache (32 MB of L3 here)
# between the copies that fill them and the matrix products that read them; the taps of a whole ResNet batch
# (13 MB for 64x16x32x32 and a 3x3 kernel) would go out to memory and back. Smaller chunks cost more time in
# Python, which the threads cannot overlap (the GIL): measured fastest at 4 MB, of 2, 4 and 8 MB.
_CHUNK_BYTES = 4 << 20

# Below this many bytes of taps the work takes a fraction of a millisecond, and it runs in the calling thread (with
# BLAS's own threads): handing chunks to a helper thread costs 20 us, and waking it up 20-40 us more. The digits
# model of ``gradlab train`` (convolutions with 24-384 KB of taps) trains 20% faster with 512 KB here than 256 KB.
_PARALLEL_BYTES = 512 << 10

_helper_tasks: queue.SimpleQueue | None = None  # sections' chunk loops, for the helper threads to join
_blas: ThreadpoolController | None = None
# One parallel section at a time: BLAS's thread limit is process-wide, and two sections that set and restore it
# concurrently could leave it at one thread.
_parallel_section = threading.RLock()


def _forget_helpers() -> None:
    global _helper_tasks
    _helper_tasks = None  # a forked child has the queue but none of the threads that read it


def _start_helpers() -> queue.SimpleQueue:
    """Start ``_CORES - 1`` helper threads, which run the functions put on the returned queue."""
    def serve(tasks: queue.SimpleQueue) -> None:
        while True:
            tasks.get()()

    tasks: queue.SimpleQueue = queue.SimpleQueue()
    for number in range(_CORES - 1):
        threading.Thread(target=serve, args=(tasks,), name=f"gradlab-conv-{number}", daemon=True).start()
    return tasks


os.register_at_fork(after_in_child=_forget_helpers)


def _blas_threads() -> int:
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
    return min([_CORES] + [blas.num_threads for blas in libraries])


def _in_batch_chunks(work: Callable[[int, int], None], batch: int, bytes_per_sample: int) -> None:
    """Call ``work(start, stop)`` on consecutive slices of the batch that together cover it, on all cores.

    Each thread takes whole chunks (slice copies and matrix products) and BLAS runs single-threaded
    meanwhile: numpy's copies use one core and OpenBLAS parallelises these small products poorly, so this is
    about 1.5x as fast as one chunk at a time with a multi-threaded BLAS. It uses as many threads as BLAS
    may (``OPENBLAS_NUM_THREADS=1`` makes it single-threaded), and BLAS calls from other threads of the
    program run single-threaded while it runs. ``work`` must only write to its own slice of the batch (or to
    a result kept per ``start``), so it needs no locking.
    """
    global _helper_tasks
    if batch == 0:
        return
    if batch * bytes_per_sample < _PARALLEL_BYTES or batch == 1:
        work(0, batch)
        return
    count = -(-batch * bytes_per_sample // _CHUNK_BYTES)
    with _parallel_section:
        threads = _blas_threads()
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
        limits = [blas.num_threads for blas in libraries]
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
        if errors:
            raise errors[0]


def _window_extent(out_size: int, kernel: int, stride: int, dilation: int) -> int:
    """How many input rows ``out_size`` windows of a dilated kernel span."""
    return (out_size - 1) * stride + (kernel - 1) * dilation + 1


def _row_taps_shape(shape: Sequence[int], kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair,
                    groups: int) -> tuple[int, ...]:
    """The shape of the array ``_row_taps`` returns (see there), for an input of ``shape``."""
    (kh, kw), (sh, _), (dh, _), (ho, wo) = kernel, stride, dilation, out_size
    return (shape[0], groups, kw, shape[1] // groups, sh, -(-_window_extent(ho, kh, sh, dh) // sh), wo)


def _row_taps(x: np.ndarray, kernel: Pair, stride: Pair, padding: Padding2d, dilation: Pair, out_size: Pair,
              groups: int, out: np.ndarray | None = None) -> np.ndarray:
    """The kw taps of every window row of ``x`` (N, C, H, W), shape (N, G, kw, C/G, sH, ceil(rows / sH), Wo).

    taps[n, g, j, c, r, q, p] = x_padded[n, g*C/G + c, q*sH + r, p*sW + j*dW]: this is im2col done kw times
    instead of kh*kw times. The windows of kernel row i lie on the padded rows i*dH + p*sH, p < Ho, which are
    consecutive rows of one phase r = i*dH mod sH, so for each image and group they form a plain strided
    (kw*C/G, Ho*Wo) matrix that BLAS reads in place (``_kernel_row``). Building only kw copies moves a third
    of the data a full 3x3 im2col moves, and keeping NCHW order makes the products' results NCHW too, with
    no transposes on the way in or out.

    The taps are written to ``out`` if given, else to a per-thread buffer that the next call overwrites.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_size
    (top, _), (left, _) = padding
    taps = out
    if taps is None:
        taps = _workspace(_row_taps_shape(x.shape, kernel, stride, dilation, out_size, groups), x.dtype)
    if _reads_stride_phases(x.shape, kernel, stride, padding, dilation, out_size):
        return _shifted_row_taps(taps, _stride_phases(x, stride, groups), kernel, stride, padding, dilation, out_size)
    rows, cols = _window_extent(ho, kh, sh, dh), _window_extent(wo, kw, sw, dw)
    if top or left or rows > h or cols > w:
        padded = np.zeros((n, c, max(rows, top + h), max(cols, left + w)), x.dtype)
        padded[:, :, top:top + h, left:left + w] = x
    else:
        padded = x
    source = padded.reshape(n, groups, c // groups, *padded.shape[2:])
    for j in range(kw):
        for phase in sorted({i * dh % sh for i in range(kh)}):  # the phases the kernel rows lie on
            rows_of_phase = source[..., phase:rows:sh, j * dw:j * dw + (wo - 1) * sw + 1:sw]
            taps[:, :, j, :, phase, :rows_of_phase.shape[-2]] = rows_of_phase
    return taps


def _reads_stride_phases(shape: Sequence[int], kernel: Pair, stride: Pair, padding: Padding2d, dilation: Pair,
                         out_size: Pair) -> bool:
    """Whether ``_row_taps`` copies from the input's stride phases (``_shifted_row_taps``): when the output is as
    wide as one stride phase of the input (as with a 3x3 kernel, padding 1 and a stride that divides the width),
    Wo * sW = W, sH divides H, and no tap is shifted by Wo columns or more (the shifted runs would be wrong)."""
    (_, kw), (sh, sw), (_, dw), (_, wo), (_, (left, _)) = kernel, stride, dilation, out_size, padding
    return wo * sw == shape[3] and shape[2] % sh == 0 and all(abs((j * dw - left) // sw) < wo for j in (0, kw - 1))


def _stride_phases(x: np.ndarray, stride: Pair, groups: int) -> np.ndarray:
    """x (N, C, H, W) split into its sH*sW stride phases, (N, G, C/G, sH, sW, H/sH * W/sW) with
    phases[n, g, c, a, b, q * W/sW + p] = x[n, g*C/G + c, q*sH + a, p*sW + b]; sH and sW divide H and W.

    A view of ``x`` at stride 1, else a copy. A strided copy with rows this short runs at about a sixth of
    numpy's copy speed, so a strided conv2d keeps its taps for the weight gradient (``Conv2d``).
    """
    n, c, h, w = x.shape
    sh, sw = stride
    if (sh, sw) == (1, 1):
        return x.reshape(n, groups, c // groups, 1, 1, h * w)
    out = np.empty((n, groups, c // groups, sh, sw, h // sh * (w // sw)), x.dtype)
    out.reshape(n, groups, c // groups, sh, sw, h // sh, w // sw)[...] = (
        x.reshape(n, groups, c // groups, h // sh, sh, w // sw, sw).transpose(0, 1, 2, 4, 6, 3, 5))
    return out


def _shifted_row_taps(taps: np.ndarray, phases: np.ndarray, kernel: Pair, stride: Pair, padding: Padding2d,
                      dilation: Pair, out_size: Pair) -> np.ndarray:
    """``_row_taps`` written to ``taps`` from the input's stride phases x_ab[q, p] = x[q*sH + a, p*sW + b]
    (``_stride_phases``), when ``_reads_stride_phases``.

    The rows of each stride phase are exactly Wo wide. Each tap j of the window rows of one phase reads one of
    them shifted by whole rows and columns: read as one flat run per image and channel, that is the phase
    shifted, except for the columns of every row that wrap around to the neighbouring row, which are set to
    zero (they are the padding). Copying one run per channel instead of one per row is about 3x faster in
    numpy, and needs no padded copy of the input.
    """
    n, groups, per_group = phases.shape[:3]
    (kh, kw), (sh, sw), (dh, dw), (_, wo) = kernel, stride, dilation, out_size
    (top, _), (left, _) = padding
    phase_h = phases.shape[-1] // wo
    rows = taps.shape[5]
    # Few, large fills: small numpy calls hold the GIL, and the chunks on other threads wait for it.
    for row_phase in sorted({i * dh % sh for i in range(kh)}):  # the phases the kernel rows lie on
        row_shift, source_row_phase = divmod(row_phase - top, sh)
        # Taps rows [first, last) lie in the source phase; the others are padding rows, of every tap at once.
        first = min(max(0, -row_shift), rows)
        last = max(first, min(rows, phase_h - row_shift))
        taps[:, :, :, :, row_phase, :first] = 0
        taps[:, :, :, :, row_phase, last:] = 0
        for j in range(kw):
            col_shift, source_col_phase = divmod(j * dw - left, sw)
            run = taps[:, :, j, :, row_phase].reshape(n, groups, per_group, rows * wo)  # a view: taps are contiguous
            source = phases[:, :, :, source_row_phase, source_col_phase]
            shift = row_shift * wo + col_shift
            # The elements of rows [first, last) that the run cannot read lie in wrapped columns, zeroed below.
            start = max(first * wo, -shift)
            stop = max(start, min(last * wo, phase_h * wo - shift))
            run[..., start:stop] = source[..., start + shift:stop + shift]
    for j in range(kw):  # the wrapped columns, of all row phases at once
        col_shift = (j * dw - left) // sw
        if col_shift > 0:
            taps[:, :, j, ..., wo - col_shift:] = 0
        elif col_shift < 0:
            taps[:, :, j, ..., :-col_shift] = 0
    return taps


def _kernel_row(taps: np.ndarray, i: int, dilation: Pair, out_size: Pair) -> np.ndarray:
    """The windows' kernel row ``i`` as (N, G, kw*C/G, Ho*Wo) matrices, a view of ``taps``."""
    n, groups, kw, per_group, phases = taps.shape[:5]
    first, phase = divmod(i * dilation[0], phases)
    return taps[:, :, :, :, phase, first:first + out_size[0]].reshape(n, groups, kw * per_group, -1)


def _conv_output_size(size: Sequence[int], kernel: Sequence[int], stride: Pair, padding: Padding2d,
                      dilation: Pair) -> Pair:
    """floor((H + pad_top + pad_bottom - dilation * (k - 1) - 1) / stride) + 1, per dimension."""
    return tuple((n + sum(pads) - d * (k - 1) - 1) // s + 1  # type: ignore[return-value]
                 for n, k, s, pads, d in zip(size, kernel, stride, padding, dilation))


def _restoring_output_padding(size: Sequence[int], out_size: Sequence[int], kernel: Sequence[int], stride: Pair,
                              padding: Padding2d, dilation: Pair) -> Pair:
    """The rows/columns at the end of the padded input that no window reached.

    A transposed convolution with this output_padding maps the (Ho, Wo) output back to the input's size.
    """
    return tuple(n + sum(pads) - _window_extent(o, k, s, d)  # type: ignore[return-value]
                 for n, o, k, s, pads, d in zip(size, out_size, kernel, stride, padding, dilation))


def _pointwise(kernel: Pair, padding: Padding2d, groups: int) -> bool:
    """Whether the convolution is a 1x1 kernel with no padding and one group.

    Such a convolution is a matrix product per image on the NCHW layout itself, with no taps to copy: about
    1.5x faster than the general path on ResNet's 1x1 layers.
    """
    return kernel == (1, 1) and groups == 1 and not any(map(sum, padding))


def _pointwise_pixels(x: np.ndarray, kernel: Pair, stride: Pair, padding: Padding2d, groups: int,
                      out_size: Pair) -> np.ndarray | None:
    """For a ``_pointwise`` convolution, the (N, C, Ho*Wo) pixels it reads; otherwise None."""
    if not _pointwise(kernel, padding, groups):
        return None
    (sh, sw), (ho, wo) = stride, out_size
    return x[:, :, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw].reshape(*x.shape[:2], ho * wo)


def _kernel_rows(weight: np.ndarray, groups: int) -> np.ndarray:
    """(kh, G, C_out/G, kw*C_in/G): each kernel row of each group's weight, in the taps' (kw, c) order."""
    out_channels, per_group, kh, kw = weight.shape
    return weight.reshape(groups, -1, per_group, kh, kw).transpose(3, 0, 1, 4, 2).reshape(kh, groups, -1,
                                                                                         kw * per_group)


def _correlate_into(out: np.ndarray, x: np.ndarray, kernel_rows: np.ndarray, kernel: Pair, stride: Pair,
                    padding: Padding2d, dilation: Pair, groups: int, taps: np.ndarray | None = None) -> None:
    """out = w ⋆ x for a contiguous (N, C_out, Ho, Wo) ``out``, with ``kernel_rows`` from ``_kernel_rows(w)``.

    Per image and group: y += W_i (C_out/G, kw*C_in/G) @ taps_i (kw*C_in/G, Ho*Wo) for each kernel row i.
    ``taps``: where to copy x's row taps (``_row_taps``) for the caller to keep; by default a per-thread buffer.
    """
    n, out_channels, ho, wo = out.shape
    pixels = _pointwise_pixels(x, kernel, stride, padding, groups, (ho, wo))
    if pixels is not None:
        np.matmul(kernel_rows[0, 0], pixels, out=out.reshape(n, out_channels, ho * wo))
        return
    taps = _row_taps(x, kernel, stride, padding, dilation, (ho, wo), groups, taps)
    result = out.reshape(n, groups, -1, ho * wo)
    np.matmul(kernel_rows[0], _kernel_row(taps, 0, dilation, (ho, wo)), out=result)
    for i in range(1, kernel[0]):
        result += np.matmul(kernel_rows[i], _kernel_row(taps, i, dilation, (ho, wo)))


def _correlate(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair, padding: Padding2d,
               dilation: Pair, groups: int, keep_taps: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """w ⋆ x + b, one batched matrix product per kernel row and chunk of the batch.

    Returns the (N, C_out, Ho, Wo) result and, if ``keep_taps`` and the convolution is strided and copies taps
    (it is not ``_pointwise``), its row taps of x (``_row_taps``); else None.
    """
    n, in_channels, h, w = x.shape
    out_channels, _, kh, kw = weight.shape
    ho, wo = _conv_output_size((h, w), (kh, kw), stride, padding, dilation)
    out = np.empty((n, out_channels, ho, wo), np.result_type(x, weight))
    kernel_rows = _kernel_rows(weight, groups)
    taps = None
    if keep_taps and stride != (1, 1) and not _pointwise((kh, kw), padding, groups):
        taps = np.empty(_row_taps_shape(x.shape, (kh, kw), stride, dilation, (ho, wo), groups), x.dtype)

    def correlate(start: int, stop: int) -> None:
        _correlate_into(out[start:stop], x[start:stop], kernel_rows, (kh, kw), stride, padding, dilation, groups,
                        None if taps is None else taps[start:stop])
        if bias is not None:
            out[start:stop] += bias[:, None, None]

    _in_batch_chunks(correlate, n, in_channels * kw * h * wo * out.itemsize)
    return out, taps


def _transposed_as_correlation(weight: np.ndarray, groups: int) -> np.ndarray:
    """The conv2d weight (C_out, C_in / G, kh, kw) that computes conv_transpose2d with ``weight`` at stride 1.

    Input and output channels swap roles within each group, and the kernel is rotated by 180 degrees.
    """
    in_channels, per_group, kh, kw = weight.shape
    swapped = weight[:, :, ::-1, ::-1].reshape(groups, in_channels // groups, per_group, kh, kw).swapaxes(1, 2)
    return swapped.reshape(groups * per_group, in_channels // groups, kh, kw)


class _AxisPhase(NamedTuple):
    """Along one axis, how the outputs of one stride phase of conv_transpose2d are a stride-1 correlation."""

    taps: list[int]  # the kernel taps that reach these outputs
    crop: slice  # the part of the input they read
    padding: Pair  # zeros before and after it
    dilation: int  # between the taps, in input pixels


def _axis_phase(phase: int, size: int, count: int, kernel: int, stride: int, padding: int,
                dilation: int) -> _AxisPhase | None:
    """The outputs y = q*stride + phase (q < count) of a transposed convolution along one axis; None if no input
    pixel reaches them.

    Input pixel x reaches output y through tap i where x*stride + i*dilation = y + padding, so only the taps with
    i*dilation = phase + padding (mod stride) do, and output q of the phase reads input q + e_i with
    e_i = (phase + padding - i*dilation) / stride. Those taps are evenly spaced, so this is a correlation with
    the taps in reverse order.
    """
    taps = [i for i in range(kernel) if (phase + padding - i * dilation) % stride == 0]
    if not taps:
        return None
    spacing = (taps[1] - taps[0]) * dilation // stride if len(taps) > 1 else 1
    before = (len(taps) - 1) * spacing - (phase + padding - taps[0] * dilation) // stride
    after = count + (len(taps) - 1) * spacing - before - size
    crop = slice(max(0, -before), size + min(0, after))  # negative padding: input pixels no output reads
    if crop.start >= crop.stop:
        return None
    return _AxisPhase(taps, crop, (max(before, 0), max(after, 0)), spacing)


def _transposed_convolution(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair,
                            padding: Padding2d, output_padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """conv_transpose2d(x; w) + b, one stride phase of the output at a time (a sub-pixel convolution).

    The output pixels (Q*sH + a, P*sW + b) of one phase (a, b) are reached only by the kernel taps (i, j) with
    i*dH = a + top (mod sH) and j*dW = b + left (mod sW), and they form a stride-1 correlation of the input with
    those taps rotated by 180 degrees (``_axis_phase``). Each phase is computed by ``_correlate_into`` and
    copied into its strided place in the output. This multiplies by no inserted zeros and needs no col2im
    sums (W^T @ x, then each column added onto its window), which cost more than the products at stride 2.
    At stride 1 there is one phase, the "full" convolution of the CNN notes.
    """
    n, in_channels, h, w = x.shape
    _, per_group, kh, kw = weight.shape
    (sh, sw), (dh, dw), ((top, _), (left, _)) = stride, dilation, padding
    out_h, out_w = (_window_extent(size, k, s, d) + extra - sum(pads) for size, k, s, d, extra, pads
                    in zip((h, w), (kh, kw), stride, dilation, output_padding, padding))
    out = np.empty((n, per_group * groups, out_h, out_w), np.result_type(x, weight))
    phases = []
    for a in range(min(sh, out_h)):
        for b in range(min(sw, out_w)):
            target = (slice(None), slice(None), slice(a, None, sh), slice(b, None, sw))
            rows = _axis_phase(a, h, len(range(a, out_h, sh)), kh, sh, top, dh)
            cols = _axis_phase(b, w, len(range(b, out_w, sw)), kw, sw, left, dw)
            if rows is None or cols is None:
                phases.append((target, None, None))
                continue
            sub_kernel = weight[:, :, rows.taps][:, :, :, cols.taps]
            phases.append((target, (rows, cols), _kernel_rows(_transposed_as_correlation(sub_kernel, groups), groups)))

    one_phase = (sh, sw) == (1, 1)  # which is the whole output

    def spread(start: int, stop: int) -> None:
        for target, axes, kernel_rows in phases:
            if axes is None:
                out[start:stop][target] = 0
                continue
            rows, cols = axes
            # A phase of several is computed in a buffer of its own, then copied into its strided place.
            result = out[start:stop] if one_phase else np.empty(out[start:stop][target].shape, out.dtype)
            _correlate_into(result, x[start:stop, :, rows.crop, cols.crop], kernel_rows,
                            (len(rows.taps), len(cols.taps)), (1, 1), (rows.padding, cols.padding),
                            (rows.dilation, cols.dilation), groups)
            if not one_phase:
                out[start:stop][target] = result
        if bias is not None:
            out[start:stop] += bias[:, None, None]

    _in_batch_chunks(spread, n, in_channels * kw * h * w * out.itemsize)
    return out


class Conv2d(Function):
    """y = w ⋆ x + b (cross-correlation);  dx = conv_transpose2d(grad; w),  dw = x ⋆ grad,  db = sum(grad)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair, padding: Padding2d,
                dilation: Pair, groups: int) -> np.ndarray:
        # The weight gradient reads the same row taps of x. A strided conv keeps them rather than copy them again:
        # copying them reads x with strides, at about a sixth of numpy's copy speed. They take 1.6-1.7x the memory
        # of x for ResNet's 3x3 stride-2 layers (3.6x for an ImageNet 7x7 stem). At stride 1 they are quick to
        # copy again, and would take three times the memory of x for a 3x3 kernel.
        out, input_taps = _correlate(x.data, weight.data, None if bias is None else bias.data, stride, padding,
                                     dilation, groups, keep_taps=ctx.needs_input_grad[1])
        ctx.save_for_backward(x, weight, input_taps)
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        ctx.output_padding = _restoring_output_padding(x.data.shape[2:], out.shape[2:], weight.data.shape[2:], stride,
                                                       padding, dilation)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight, input_taps = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            # dL/dx is the transposed convolution of dL/dy with the same kernel: a full convolution with the
            # kernel rotated 180 degrees, fractionally strided when stride > 1. output_padding restores the
            # rows that the last window did not reach.
            grad_x = ConvTranspose2d.apply(grad, weight, None, ctx.stride, ctx.padding, ctx.output_padding,
                                           ctx.dilation, ctx.groups)
        if needs[1]:
            # dL/dw[o, c] is the correlation of x[:, c] with dL/dy[:, o]. The kept taps are arrays computed from x:
            # a node recorded for double backward must depend on x alone (gradcheck_graph re-runs it on copies).
            grad_weight = Conv2dWeightGrad.apply(x, grad, weight.shape[2:], ctx.stride, ctx.padding, ctx.dilation,
                                                 ctx.groups, None if is_grad_enabled() else input_taps)
        if needs[2]:
            grad_bias = grad.sum(dim=(0, 2, 3))
        return grad_x, grad_weight, grad_bias, None, None, None, None


class ConvTranspose2d(Function):
    """y = conv2d^T(x; w) + b;  dx = conv2d(grad; w),  dw = grad ⋆ x,  db = sum(grad).

    Every input pixel adds the kernel, scaled by its value, onto its output window. The weight has conv2d's
    layout seen from the other side: (C_in, C_out / groups, kh, kw).
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair, padding: Padding2d,
                output_padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
        out = _transposed_convolution(x.data, weight.data, None if bias is None else bias.data, stride, padding,
                                      output_padding, dilation, groups)
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.output_padding = stride, padding, output_padding
        ctx.dilation, ctx.groups = dilation, groups
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            # The adjoint of the adjoint: dL/dx is the ordinary convolution of dL/dy with the same kernel.
            grad_x = Conv2d.apply(grad, weight, None, ctx.stride, ctx.padding, ctx.dilation, ctx.groups)
            if grad_x.shape != x.shape:  # output_padding >= stride adds windows that no input pixel fed
                grad_x = grad_x[:, :, :x.shape[2], :x.shape[3]]
        if needs[1]:
            # <dL/dy, conv2d^T(x; w)> = <conv2d(dL/dy; w), x>, so dL/dw is the correlation of dL/dy with x.
            grad_weight = Conv2dWeightGrad.apply(grad, x, weight.shape[2:], ctx.stride, ctx.padding, ctx.dilation,
                                                 ctx.groups)
        if needs[2]:
            grad_bias = grad.sum(dim=(0, 2, 3))
        return grad_x, grad_weight, grad_bias, None, None, None, None, None


class Conv2dWeightGrad(Function):
    """dw = x ⋆ g: the correlation of conv2d's input x with its output gradient g (conv2d's weight gradient).

    dw[o, c, i, j] = sum over n, p, q of g[n, o, p, q] * x_padded[n, c, p * s + i * d, q * s + j * d].
    ``input_taps``: x's row taps (``_row_taps``) if conv2d's forward kept them (``_correlate``), else None.
    """

    @staticmethod
    def forward(ctx, x: Tensor, grad_output: Tensor, kernel: Pair, stride: Pair, padding: Padding2d, dilation: Pair,
                groups: int, input_taps: np.ndarray | None = None) -> np.ndarray:
        n, in_channels, h, w = x.data.shape
        _, out_channels, ho, wo = grad_output.data.shape
        kh, kw = kernel
        taps_rows = kw * in_channels // groups
        partial_sums = {}

        def correlate(start: int, stop: int) -> None:
            images = x.data[start:stop]
            pixels = _pointwise_pixels(images, kernel, stride, padding, groups, (ho, wo))
            if pixels is not None:  # a 1x1 kernel reads the pixels themselves
                windows = [pixels[:, None]]
            else:
                taps = input_taps[start:stop] if input_taps is not None else _row_taps(
                    images, kernel, stride, padding, dilation, (ho, wo), groups)
                windows = [_kernel_row(taps, i, dilation, (ho, wo)) for i in range(kh)]
            grad_rows = grad_output.data[start:stop].reshape(stop - start, groups, -1, ho * wo)
            if 2 * ho * wo >= out_channels // groups:
                # Kernel row i: the sum over the images of taps_i[n] (kw*C_in/G, Ho*Wo) @ g[n]^T (Ho*Wo, C_out/G).
                # OpenBLAS multiplies up to 1.5x faster with g^T copied than with it read transposed.
                grad_columns = np.ascontiguousarray(grad_rows.swapaxes(2, 3))
                partial_sums[start] = np.stack([np.matmul(rows, grad_columns).sum(0) for rows in windows])
            else:
                # Small images: each image's product would write a result more than twice as large as the taps
                # it reads. One product per kernel row over the images copied side by side is up to 8x faster.
                grad_side_by_side = grad_rows.transpose(1, 0, 3, 2).reshape(groups, -1, out_channels // groups)
                partial_sums[start] = np.stack([
                    np.matmul(rows.transpose(1, 2, 0, 3).reshape(groups, taps_rows, -1), grad_side_by_side)
                    for rows in windows])

        _in_batch_chunks(correlate, n, in_channels * kw * h * wo * x.data.itemsize)
        # Summed in a fixed order, so the result does not depend on which thread finished first.
        grad_weight = np.zeros((kh, groups, taps_rows, out_channels // groups),
                               np.result_type(x.data, grad_output.data))
        for start in sorted(partial_sums):
            grad_weight += partial_sums[start]
        grad_weight = grad_weight.reshape(kh, groups, kw, in_channels // groups, -1).transpose(1, 4, 3, 0, 2)
        ctx.save_for_backward(x, grad_output)
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        ctx.output_padding = _restoring_output_padding((h, w), (ho, wo), kernel, stride, padding, dilation)
        return grad_weight.reshape(out_channels, in_channels // groups, *kernel)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, grad_output = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_grad_output = None
        # dw is bilinear in (x, g) with <grad, dw> = <g, conv2d(x; grad)>: so d/dg is that convolution and
        # d/dx is its transpose applied to g.
        if needs[0]:
            grad_x = ConvTranspose2d.apply(grad_output, grad, None, ctx.stride, ctx.padding, ctx.output_padding,
                                           ctx.dilation, ctx.groups)
        if needs[1]:
            grad_grad_output = Conv2d.apply(x, grad, None, ctx.stride, ctx.padding, ctx.dilation, ctx.groups)
            if grad_grad_output.shape != grad_output.shape:  # g came from a transposed conv with output_padding
                grad_grad_output = grad_grad_output[:, :, :grad_output.shape[2], :grad_output.shape[3]]
        return grad_x, grad_grad_output, None, None, None, None, None, None


def _size(values: Sequence[int]) -> str:
    return "x".join(str(v) for v in values)


def _int_tuple(value: int | Sequence[int], n: int, name: str, op: str, minimum: int) -> tuple[int, ...]:
    """``value`` repeated (an int) or checked (a sequence) as ``n`` ints that are all >= ``minimum``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise OpError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if min(values) < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise OpError(f"{op}: {name} must be {kind}, got {value!r}")
    return tuple(int(v) for v in values)


def _check_rank(op: str, input: Tensor, weight: Tensor, spatial_dims: int) -> None:
    if input.ndim not in (spatial_dims + 1, spatial_dims + 2):
        raise OpError(f"{op}: expected a {spatial_dims + 1}-d (unbatched) or {spatial_dims + 2}-d (batched) input, "
                      f"got shape {input.shape}")
    if weight.ndim != spatial_dims + 2:
        raise OpError(f"{op}: expected a {spatial_dims + 2}-d weight, got shape {weight.shape}")


def _check_groups(op: str, groups: int, channels: int) -> None:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise OpError(f"{op}: groups must be a positive int, got {groups!r}")
    if channels % groups:
        raise OpError(f"{op}: groups={groups} does not divide the {channels} input channels")


def _check_bias(op: str, bias: Tensor | None, out_channels: int) -> None:
    if bias is not None and bias.shape != (out_channels,):
        raise OpError(f"{op}: bias must have shape ({out_channels},) (one per output channel), got {bias.shape}")


def _conv_arguments(op: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride: int | Sequence[int],
                    padding: int | Sequence[int] | str, dilation: int | Sequence[int], groups: int,
                    spatial_dims: int) -> tuple[tuple, tuple, tuple]:
    """Validate a convolution's arguments; return stride, (before, after) padding pairs and dilation."""
    _check_rank(op, input, weight, spatial_dims)
    channels = input.shape[-spatial_dims - 1]
    out_channels, per_group = weight.shape[:2]
    _check_groups(op, groups, channels)
    if out_channels % groups:
        raise OpError(f"{op}: groups={groups} does not divide the {out_channels} output channels (weight shape "
                      f"{weight.shape})")
    if channels != per_group * groups:
        raise OpError(f"{op}: input has {channels} channels but the weight (shape {weight.shape}, groups={groups}) "
                      f"expects {per_group * groups}")
    _check_bias(op, bias, out_channels)
    kernel = weight.shape[2:]
    stride = _int_tuple(stride, spatial_dims, "stride", op, 1)
    dilation = _int_tuple(dilation, spatial_dims, "dilation", op, 1)
    if padding == "valid":
        pads = ((0, 0),) * spatial_dims
    elif padding == "same":
        if max(stride) > 1:
            raise OpError(f"{op}: padding='same' needs stride 1, got stride {stride}")
        # As in PyTorch: the odd pixel of an even total padding goes to the bottom/right.
        pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    elif isinstance(padding, str):
        raise OpError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    else:
        pads = tuple((p, p) for p in _int_tuple(padding, spatial_dims, "padding", op, 0))
    size = input.shape[-spatial_dims:]
    padded = tuple(n + sum(pair) for n, pair in zip(size, pads))
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(r > p for r, p in zip(reach, padded)):
        raise OpError(f"{op}: kernel {_size(kernel)} (spanning {_size(reach)} with dilation {_size(dilation)}) is "
                      f"larger than the padded input {_size(padded)} (input {_size(size)})")
    return stride, pads, dilation


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of a batch of images with a bank of filters.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) for a single image.
        weight: (C_out, C_in / groups, kH, kW).
        bias: optional (C_out,).
        stride: step between windows, an int or (sH, sW).
        padding: zeros added on each side, an int or (pH, pW); ``'valid'`` (none) or ``'same'`` (output as
            large as the input; stride must be 1; an odd total puts the extra pixel at the bottom/right).
        dilation: spacing between kernel taps, an int or (dH, dW).
        groups: input and output channels are split into this many groups, each convolved separately;
            ``groups == C_in`` is a depthwise convolution.

    Shape:
        output: (N, C_out, H_out, W_out) with H_out = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1, and the same
        for W.

    Returns:
        Tensor of the input's dtype.
    """
    stride, pads, dilation = _conv_arguments("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)
    if input.ndim == 3:
        return Conv2d.apply(input.unsqueeze(0), weight, bias, stride, pads, dilation, groups).squeeze(0)
    return Conv2d.apply(input, weight, bias, stride, pads, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation of a batch of sequences with a bank of filters (a conv2d of height 1).

    Args:
        input: (N, C_in, L), or (C_in, L) for a single sequence.
        weight: (C_out, C_in / groups, k).
        bias: optional (C_out,).
        stride, padding, dilation, groups: as in ``conv2d``, with one value per argument.

    Shape:
        output: (N, C_out, L_out) with L_out = floor((L + 2 padding - dilation (k - 1) - 1) / stride) + 1.

    Returns:
        Tensor of the input's dtype.
    """
    (stride,), (pads,), (dilation,) = _conv_arguments("conv1d", input, weight, bias, stride, padding, dilation,
                                                      groups, 1)
    batched = input if input.ndim == 3 else input.unsqueeze(0)
    out = Conv2d.apply(batched.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), ((0, 0), pads), (1, dilation),
                       groups).squeeze(2)
    return out if input.ndim == 3 else out.squeeze(0)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """2-d transposed convolution (the adjoint of conv2d, sometimes called a fractionally strided convolution).

    It maps a conv2d's output shape back to its input shape, which is how FCN-style decoders upsample.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) for a single image.
        weight: (C_in, C_out / groups, kH, kW).
        bias: optional (C_out,).
        stride, dilation, groups: those of the conv2d being transposed.
        padding: ``dilation * (k - 1) - padding`` zeros are added to each side of the input, i.e. ``padding``
            is cropped off the output.
        output_padding: extra rows/columns at the bottom/right of the output, to pick among the input sizes that a
            strided conv2d maps to the same output size; must be smaller than stride or dilation.

    Shape:
        output: (N, C_out, H_out, W_out) with H_out = (H - 1) sH - 2 pH + dH (kH - 1) + output_padding + 1.

    Returns:
        Tensor of the input's dtype.
    """
    op = "conv_transpose2d"
    _check_rank(op, input, weight, 2)
    channels = input.shape[-3]
    _check_groups(op, groups, channels)
    if channels != weight.shape[0]:
        raise OpError(f"{op}: input has {channels} channels but the weight (shape {weight.shape}) expects "
                      f"{weight.shape[0]}")
    _check_bias(op, bias, weight.shape[1] * groups)
    stride = _int_tuple(stride, 2, "stride", op, 1)
    dilation = _int_tuple(dilation, 2, "dilation", op, 1)
    padding = _int_tuple(padding, 2, "padding", op, 0)
    output_padding = _int_tuple(output_padding, 2, "output_padding", op, 0)
    if any(extra >= max(s, d) for extra, s, d in zip(output_padding, stride, dilation)):
        raise OpError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} or dilation "
                      f"{dilation}")
    size = input.shape[-2:]
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + extra + 1 for n, s, p, d, k, extra
                     in zip(size, stride, padding, dilation, weight.shape[2:], output_padding))
    if min(out_size) < 1:
        raise OpError(f"{op}: padding {padding} crops the whole output (input {_size(size)}, kernel "
                      f"{_size(weight.shape[2:])}, stride {stride} gives {_size(out_size)})")
    pads = tuple((p, p) for p in padding)
    if input.ndim == 3:
        return ConvTranspose2d.apply(input.unsqueeze(0), weight, bias, stride, pads, output_padding, dilation,
                                     groups).squeeze(0)
    return ConvTranspose2d.apply(input, weight, bias, stride, pads, output_padding, dilation, groups)
