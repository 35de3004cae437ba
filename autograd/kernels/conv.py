"""Convolution kernels on plain arrays: correlation, transposed convolution and the weight gradient's correlation.

Every kernel takes numpy arrays in the (N, C, *spatial) layout and one ``ConvSpec``. Inputs with two spatial
dimensions take the fast path, im2col and matrix products arranged so that numpy moves little data:
``_row_taps`` copies the kw taps of every window row (im2col done kw times instead of kh*kw times), in which
each kernel row's windows form a strided matrix per image, and ``_correlate_into`` multiplies each kernel row of
the weight with it, y[n] += W_i (C_out, kw*C) @ taps_i[n] (kw*C, Ho*Wo), straight into the NCHW output. The
batch is cut into chunks whose taps stay in the cache, and the chunks are spread over the cores with BLAS
single-threaded meanwhile (``parallel.in_batch_chunks``). A 1x1 convolution needs no copies at all: it is a
matrix product per image on the NCHW layout. A kernel row of few taps (a stem on RGB images) is too thin a
product: all kernel rows are copied into one matrix instead (``_all_kernel_rows``).

Small images with many channels (ResNet-18's last stages: 2x2 to 4x4 pixels, 256-512 channels) make each image's
product a thin one that spends its time reading the weight. There the images go side by side into one im2col
matrix per chunk (``_columns``), in the weight's own (c, i, j) order: forward, input gradient (the products' columns
added onto their windows, col2im) and weight gradient are each one product per group with the weight as it lies.

The transposed convolution computes each of the s*s stride phases of its output as a stride-1 correlation with
some taps of the rotated kernel (``transposed_convolution``), with no inserted zeros.

Other numbers of spatial dimensions (conv3d) run on the reference kernels at the end of this module: the
windows as a ``sliding_window_view`` and one einsum, short enough to check by eye. They are the oracle
``tests/test_kernels.py`` tests the fast path against.
"""

from __future__ import annotations

import math
import string
from typing import NamedTuple, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..device import get_array_module
from . import parallel

Pair = tuple[int, int]


class ConvSpec(NamedTuple):
    """The settings of one convolution, one entry per spatial dimension ((H, W) for conv2d).

    A transposed convolution is described by the spec of the convolution it transposes, plus its
    output_padding (which that convolution's spec cannot know).
    """

    kernel: tuple[int, ...]  # the kernel's size
    stride: tuple[int, ...]
    padding: tuple[Pair, ...]  # (before, after) zeros: padding='same' may pad one more after than before
    dilation: tuple[int, ...]
    groups: int


def window_extent(out_size: int, kernel: int, stride: int, dilation: int) -> int:
    """How many input rows ``out_size`` windows of a dilated kernel span."""
    return (out_size - 1) * stride + (kernel - 1) * dilation + 1


def window_slice(start: int, stride: int, count: int) -> slice:
    """The ``count`` input rows that tap ``start`` of consecutive windows reads, ``stride`` apart."""
    return slice(start, start + (count - 1) * stride + 1, stride)


def output_size(size: Sequence[int], spec: ConvSpec) -> tuple[int, ...]:
    """floor((H + pad_before + pad_after - dilation * (k - 1) - 1) / stride) + 1, per dimension."""
    return tuple((n + sum(pads) - d * (k - 1) - 1) // s + 1
                 for n, k, s, pads, d in zip(size, spec.kernel, spec.stride, spec.padding, spec.dilation))


def transposed_output_size(size: Sequence[int], spec: ConvSpec, output_padding: Sequence[int]) -> tuple[int, ...]:
    """(H - 1) * stride - pad_before - pad_after + dilation * (k - 1) + output_padding + 1, per dimension."""
    return tuple(window_extent(n, k, s, d) + extra - sum(pads) for n, k, s, pads, d, extra
                 in zip(size, spec.kernel, spec.stride, spec.padding, spec.dilation, output_padding))


def restoring_output_padding(size: Sequence[int], out_size: Sequence[int], spec: ConvSpec) -> tuple[int, ...]:
    """The rows/columns at the end of the padded input that no window reached.

    A transposed convolution with this output_padding maps the convolution's output back to the input's size.
    """
    return tuple(n + sum(pads) - window_extent(o, k, s, d)
                 for n, o, k, s, pads, d in zip(size, out_size, spec.kernel, spec.stride, spec.padding, spec.dilation))


# ----------------------------------------------------------------------------- the 2-d fast path
def _row_taps_shape(shape: Sequence[int], spec: ConvSpec, out_size: Pair) -> tuple[int, ...]:
    """The shape of the array ``_row_taps`` returns (see there), for an input of ``shape``."""
    (kh, kw), (sh, _), (dh, _), (ho, wo) = spec.kernel, spec.stride, spec.dilation, out_size
    return (shape[0], spec.groups, kw, shape[1] // spec.groups, sh, -(-window_extent(ho, kh, sh, dh) // sh), wo)


def _row_taps(x: np.ndarray, spec: ConvSpec, out_size: Pair, out: np.ndarray | None = None) -> np.ndarray:
    """The kw taps of every window row of ``x`` (N, C, H, W), shape (N, G, kw, C/G, sH, ceil(rows / sH), Wo).

    taps[n, g, j, c, r, q, p] = x_padded[n, g*C/G + c, q*sH + r, p*sW + j*dW]: this is im2col done kw times
    instead of kh*kw times. The windows of kernel row i lie on the padded rows i*dH + p*sH, p < Ho, which are
    consecutive rows of one phase r = i*dH mod sH, so for each image and group they form a plain strided
    (kw*C/G, Ho*Wo) matrix that BLAS reads in place (``_kernel_row``). Building only kw copies moves a third
    of the data a full 3x3 im2col moves, and keeping NCHW order makes the products' results NCHW too, with
    no transposes on the way in or out.

    The taps are written to ``out`` if given, else to a per-thread buffer that the next call overwrites.
    """
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = spec.kernel, spec.stride, spec.dilation, out_size
    groups = spec.groups
    taps = out
    if taps is None:
        taps = parallel.workspace(_row_taps_shape(x.shape, spec, out_size), x.dtype)
    if _reads_stride_phases(x.shape, spec, out_size):
        return _shifted_row_taps(taps, _stride_phases(x, spec), spec, out_size)
    rows = window_extent(ho, kh, sh, dh)
    padded = _padded(x, spec, out_size)
    source = padded.reshape(n, groups, c // groups, *padded.shape[2:])
    for j in range(kw):
        for phase in sorted({i * dh % sh for i in range(kh)}):  # the phases the kernel rows lie on
            rows_of_phase = source[..., phase:rows:sh, window_slice(j * dw, sw, wo)]
            taps[:, :, j, :, phase, :rows_of_phase.shape[-2]] = rows_of_phase
    return taps


def _padded(x: np.ndarray, spec: ConvSpec, out_size: Pair) -> np.ndarray:
    """``x`` (N, C, H, W) with its zero padding, as far as the ``out_size`` windows reach (x itself if none)."""
    n, c, h, w = x.shape
    (top, _), (left, _) = spec.padding
    rows, cols = (window_extent(o, k, s, d) for o, k, s, d in zip(out_size, spec.kernel, spec.stride, spec.dilation))
    if not (top or left or rows > h or cols > w):
        return x
    # *_like: on x's device (F.unfold runs this on device arrays too); C order whatever x's layout.
    padded = np.zeros_like(x, shape=(n, c, max(rows, top + h), max(cols, left + w)), order="C")
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def _reads_stride_phases(shape: Sequence[int], spec: ConvSpec, out_size: Pair) -> bool:
    """Whether ``_row_taps`` copies from the input's stride phases (``_shifted_row_taps``): when the output is as
    wide as one stride phase of the input (as with a 3x3 kernel, padding 1 and a stride that divides the width),
    Wo * sW = W, sH divides H, and no tap is shifted by Wo columns or more (the shifted runs would be wrong)."""
    (_, kw), (sh, sw), (_, dw), (_, wo) = spec.kernel, spec.stride, spec.dilation, out_size
    left = spec.padding[1][0]
    return wo * sw == shape[3] and shape[2] % sh == 0 and all(abs((j * dw - left) // sw) < wo for j in (0, kw - 1))


def _stride_phases(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """x (N, C, H, W) split into its sH*sW stride phases, (N, G, C/G, sH, sW, H/sH * W/sW) with
    phases[n, g, c, a, b, q * W/sW + p] = x[n, g*C/G + c, q*sH + a, p*sW + b]; sH and sW divide H and W.

    A view of ``x`` at stride 1, else a copy. A strided copy with rows this short runs at about a sixth of
    numpy's copy speed, so a strided conv2d keeps its taps for the weight gradient (``correlate``).
    """
    n, c, h, w = x.shape
    (sh, sw), groups = spec.stride, spec.groups
    if (sh, sw) == (1, 1):
        return x.reshape(n, groups, c // groups, 1, 1, h * w)
    out = np.empty((n, groups, c // groups, sh, sw, h // sh * (w // sw)), x.dtype)
    out.reshape(n, groups, c // groups, sh, sw, h // sh, w // sw)[...] = (
        x.reshape(n, groups, c // groups, h // sh, sh, w // sw, sw).transpose(0, 1, 2, 4, 6, 3, 5))
    return out


def _shifted_row_taps(taps: np.ndarray, phases: np.ndarray, spec: ConvSpec, out_size: Pair) -> np.ndarray:
    """``_row_taps`` written to ``taps`` from the input's stride phases x_ab[q, p] = x[q*sH + a, p*sW + b]
    (``_stride_phases``), when ``_reads_stride_phases``.

    The rows of each stride phase are exactly Wo wide. Each tap j of the window rows of one phase reads one of
    them shifted by whole rows and columns: read as one flat run per image and channel, that is the phase
    shifted, except for the columns of every row that wrap around to the neighbouring row, which are set to
    zero (they are the padding). Copying one run per channel instead of one per row is about 3x faster in
    numpy, and needs no padded copy of the input.
    """
    n, groups, per_group = phases.shape[:3]
    (kh, kw), (sh, sw), (dh, dw), (_, wo) = spec.kernel, spec.stride, spec.dilation, out_size
    (top, _), (left, _) = spec.padding
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


def _kernel_row(taps: np.ndarray, i: int, spec: ConvSpec, out_size: Pair) -> np.ndarray:
    """The windows' kernel row ``i`` as (N, G, kw*C/G, Ho*Wo) matrices, a view of ``taps``."""
    n, groups, kw, per_group, phases = taps.shape[:5]
    first, phase = divmod(i * spec.dilation[0], phases)
    return taps[:, :, :, :, phase, first:first + out_size[0]].reshape(n, groups, kw * per_group, -1)


def _stacks_kernel_rows(spec: ConvSpec, in_channels: int) -> bool:
    """Whether the products take all kernel rows at once (``_all_kernel_rows``): when a kernel row has fewer than
    32 taps (kw*C_in/G), as in a stem on RGB images, one product per kernel row is too thin for BLAS. On
    ResNet-18's 7x7 stem (16x3x64x64) this made the forward 1.5x and the weight gradient 1.3x faster."""
    return spec.kernel[1] * in_channels // spec.groups < 32


def _all_kernel_rows(taps: np.ndarray, spec: ConvSpec, out_size: Pair) -> np.ndarray:
    """The windows of every kernel row, (N, G, kh*kw*C/G, Ho*Wo): a copy (im2col)."""
    return np.concatenate([_kernel_row(taps, i, spec, out_size) for i in range(spec.kernel[0])], axis=2)


def _pointwise(spec: ConvSpec) -> bool:
    """Whether the convolution is a 1x1 kernel with no padding and one group.

    Such a convolution is a matrix product per image on the NCHW layout itself, with no taps to copy: about
    1.5x faster than the general path on ResNet's 1x1 layers.
    """
    return spec.kernel == (1, 1) and spec.groups == 1 and not any(map(sum, spec.padding))


def _pointwise_pixels(x: np.ndarray, spec: ConvSpec, out_size: Pair) -> np.ndarray | None:
    """For a ``_pointwise`` convolution, the (N, C, Ho*Wo) pixels it reads; otherwise None."""
    if not _pointwise(spec):
        return None
    (sh, sw), (ho, wo) = spec.stride, out_size
    return x[:, :, window_slice(0, sh, ho), window_slice(0, sw, wo)].reshape(*x.shape[:2], ho * wo)


def _multiply_adds(pixels: int, weight_size: int, spec: ConvSpec) -> int | None:
    """A convolution's multiply-adds per image, which decide whether its batch goes to the helper threads
    (``parallel.PARALLEL_MULTIPLY_ADDS``): ``pixels`` (of the output, or of the input of a transposed convolution)
    times the weight's size. None for a ``_pointwise`` one: each chunk is one product and mostly moves memory, which
    two threads did faster even at 8M multiply-adds (1.0-2.0x for ResNet's 1x1 stride-2 layers)."""
    return None if _pointwise(spec) else pixels * weight_size


def _small_images(pixels: int, out_per_group: int) -> bool:
    """Whether a convolution's products take the images side by side (``_columns``): when its output has at most
    half as many pixels as channels per group. Per image, each product is then a thin one whose time goes into
    reading the weight (or, for the weight gradient, writing a result larger than its inputs). At exactly half
    (ResNet-18's 128-channel 8x8 layers, batch 16) side by side was 3-13% faster, the weight gradient most."""
    return 2 * pixels <= out_per_group


def _columns(x: np.ndarray, spec: ConvSpec, out_size: Pair) -> np.ndarray:
    """im2col of the images side by side, (G, C/G*kh*kw, Ho*Wo*N):
    columns[g, (c, i, j), (p, q, n)] = x_padded[n, g*C/G + c, p*sH + i*dH, q*sW + j*dW].

    The rows are in the weight's own (c, i, j) order, so each group's weight (C_out/G, C/G*kh*kw) multiplies them
    as it lies, with no re-layout (which took a quarter of the time of a 16x512x2x2 layer's forward), and the
    weight gradient comes out in its own layout too. The images are the fastest axis: with (n, p, q) order the
    copies (and ``_add_columns``) ran in runs of Wo elements, 2.6x slower for 16x512x2x2. Meant for small images,
    whose columns are small.
    """
    n, c, _, _ = x.shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo), groups = spec.kernel, spec.stride, spec.dilation, out_size, spec.groups
    padded = _padded(x, spec, out_size)
    # xp's: np.ascontiguousarray would bring a device array to the host.
    source = get_array_module(x).ascontiguousarray(np.moveaxis(padded, 0, -1)).reshape(
        groups, c // groups, *padded.shape[2:], n)
    columns = np.empty_like(x, shape=(groups, c // groups, kh, kw, ho, wo, n), order="C")  # on x's device
    for i in range(kh):
        for j in range(kw):
            columns[:, :, i, j] = source[:, :, window_slice(i * dh, sh, ho), window_slice(j * dw, sw, wo)]
    return columns.reshape(groups, -1, ho * wo * n)


def _add_columns(out: np.ndarray, columns: np.ndarray, spec: ConvSpec, in_size: Pair) -> None:
    """col2im, the adjoint of ``_columns``: out (N, C, H, W) = the sum of the columns (G, C/G*kh*kw, h*w*N) of
    the ``in_size`` (h, w) windows of a convolution of out, each added onto its window."""
    n, c, h, w = out.shape
    (kh, kw), (sh, sw), (dh, dw), groups = spec.kernel, spec.stride, spec.dilation, spec.groups
    (top, _), (left, _), (rows, cols) = *spec.padding, in_size
    extent = [window_extent(o, k, s, d) for o, k, s, d in zip(in_size, spec.kernel, spec.stride, spec.dilation)]
    padded = np.zeros_like(out, shape=(groups, c // groups, max(extent[0], top + h), max(extent[1], left + w), n),
                           order="C")  # on out's device
    windows = columns.reshape(groups, c // groups, kh, kw, rows, cols, n)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, window_slice(i * dh, sh, rows), window_slice(j * dw, sw, cols)] += (
                windows[:, :, i, j])
    out[...] = np.moveaxis(padded[:, :, top:top + h, left:left + w], -1, 0).reshape(out.shape)


def _side_by_side(matrices: np.ndarray) -> np.ndarray:
    """(N, G, R, P) matrices copied side by side, (G, R, P*N) with the images interleaved ([g, r, p*N + n]): one
    product per group instead of one per image (``_columns`` says why in this order)."""
    n, groups, rows, columns = matrices.shape
    return matrices.transpose(1, 2, 3, 0).reshape(groups, rows, columns * n)


def _kernel_rows(grouped_weight: np.ndarray) -> np.ndarray:
    """(kh, G, C_out/G, kw*C_in/G): each kernel row of each group's weight (G, C_out/G, C_in/G, kh, kw), in the
    taps' (kw, c) order."""
    groups, out_per_group, per_group, kh, kw = grouped_weight.shape
    return grouped_weight.transpose(3, 0, 1, 4, 2).reshape(kh, groups, out_per_group, kw * per_group)


def _correlate_into(out: np.ndarray, x: np.ndarray, kernel_rows: np.ndarray, spec: ConvSpec,
                    taps: np.ndarray | None = None) -> None:
    """out = w ⋆ x for a contiguous (N, C_out, Ho, Wo) ``out``, with ``kernel_rows`` from ``_kernel_rows(w)``.

    Per image and group: y += W_i (C_out/G, kw*C_in/G) @ taps_i (kw*C_in/G, Ho*Wo) for each kernel row i, or
    y = W (C_out/G, kh*kw*C_in/G) @ taps if ``_stacks_kernel_rows``.
    ``taps``: where to copy x's row taps (``_row_taps``) for the caller to keep; by default a per-thread buffer.
    """
    n, out_channels, ho, wo = out.shape
    pixels = _pointwise_pixels(x, spec, (ho, wo))
    if pixels is not None:
        np.matmul(kernel_rows[0, 0], pixels, out=out.reshape(n, out_channels, ho * wo))
        return
    taps = _row_taps(x, spec, (ho, wo), taps)
    result = out.reshape(n, spec.groups, -1, ho * wo)
    if _stacks_kernel_rows(spec, x.shape[1]):
        weight_rows = kernel_rows.transpose(1, 2, 0, 3).reshape(*kernel_rows.shape[1:3], -1)
        np.matmul(weight_rows, _all_kernel_rows(taps, spec, (ho, wo)), out=result)
        return
    np.matmul(kernel_rows[0], _kernel_row(taps, 0, spec, (ho, wo)), out=result)
    for i in range(1, spec.kernel[0]):
        result += np.matmul(kernel_rows[i], _kernel_row(taps, i, spec, (ho, wo)))


def correlate(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, spec: ConvSpec,
              keep_taps: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """y = w ⋆ x + b: for 2-d, one batched matrix product per kernel row and chunk of the batch.

    Args:
        x: (N, C_in, *spatial).
        weight: (C_out, C_in / groups, *kernel).
        bias: (C_out,) or None.
        spec: the convolution's settings.
        keep_taps: also return x's row taps for ``weight_gradient`` to reuse (only a strided 2-d convolution
            that copies taps keeps them; see below).

    Returns:
        the (N, C_out, *out) result, and the kept taps or None.
    """
    # The 2-d kernels are CPU machinery (helper threads, per-thread workspaces, BLAS's cache sizes); a device array
    # (CuPy's) runs the reference kernel: one einsum, which is one batched product there (cuBLAS).
    if len(spec.kernel) != 2 or type(x) is not np.ndarray:
        out = reference_correlate(x, weight, spec)
        if bias is not None:
            out += bias.reshape(-1, *(1,) * len(spec.kernel))
        return out, None
    n, in_channels, h, w = x.shape
    out_channels = weight.shape[0]
    kw = spec.kernel[1]
    ho, wo = output_size((h, w), spec)
    out = np.empty((n, out_channels, ho, wo), np.result_type(x, weight))
    grouped_weight = weight.reshape(spec.groups, -1, *weight.shape[1:])
    small_images = _small_images(ho * wo, out_channels // spec.groups)
    kernel_rows = None if small_images else _kernel_rows(grouped_weight)
    taps = None
    # The weight gradient reads the same row taps of x. A strided conv keeps them rather than copy them again:
    # copying them reads x with strides, at about a sixth of numpy's copy speed. They take 1.6-1.7x the memory
    # of x for ResNet's 3x3 stride-2 layers (3.6x for an ImageNet 7x7 stem). At stride 1 they are quick to
    # copy again, and would take three times the memory of x for a 3x3 kernel.
    # Small images' columns are small, and quick to copy again.
    if keep_taps and spec.stride != (1, 1) and not _pointwise(spec) and not small_images:
        taps = np.empty(_row_taps_shape(x.shape, spec, (ho, wo)), x.dtype)

    def correlate_chunk(start: int, stop: int) -> None:
        if small_images:  # y (C_out/G, Ho*Wo*N) = W (C_out/G, C_in/G*kh*kw) @ columns, per group
            products = np.matmul(grouped_weight.reshape(spec.groups, out_channels // spec.groups, -1),
                                 _columns(x[start:stop], spec, (ho, wo)))
            out[start:stop] = np.moveaxis(products.reshape(out_channels, ho, wo, stop - start), -1, 0)
        else:
            _correlate_into(out[start:stop], x[start:stop], kernel_rows, spec,
                            None if taps is None else taps[start:stop])
        if bias is not None:
            out[start:stop] += bias[:, None, None]

    parallel.in_batch_chunks(correlate_chunk, n, in_channels * kw * h * wo * out.itemsize,
                             _multiply_adds(ho * wo, weight.size, spec))
    return out, taps


def _transposed_as_correlation(weight: np.ndarray, groups: int) -> np.ndarray:
    """The convolution weight, grouped (G, C_out / G, C_in / G, *kernel), that computes the transposed convolution
    with ``weight`` (C_in, C_out / G, *kernel) at stride 1: a view of ``weight``.

    Input and output channels swap roles within each group, and the kernel is rotated by 180 degrees.
    """
    in_channels, per_group, *kernel = weight.shape
    rotated = weight[(slice(None), slice(None), *(slice(None, None, -1),) * len(kernel))]
    return rotated.reshape(groups, in_channels // groups, per_group, *kernel).swapaxes(1, 2)


class _AxisPhase(NamedTuple):
    """Along one axis, how the outputs of one stride phase of a transposed convolution are a stride-1
    correlation."""

    taps: slice  # the kernel taps that reach these outputs, evenly spaced
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
    step = taps[1] - taps[0] if len(taps) > 1 else 1
    spacing = step * dilation // stride if len(taps) > 1 else 1
    before = (len(taps) - 1) * spacing - (phase + padding - taps[0] * dilation) // stride
    after = count + (len(taps) - 1) * spacing - before - size
    crop = slice(max(0, -before), size + min(0, after))  # negative padding: input pixels no output reads
    if crop.start >= crop.stop:
        return None
    # A slice, so that the phase's kernel is a view of the weight, not a gather of it (all of it at stride 1).
    return _AxisPhase(slice(taps[0], taps[-1] + 1, step), crop, (max(before, 0), max(after, 0)), spacing)


def transposed_convolution(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, spec: ConvSpec,
                           output_padding: Sequence[int]) -> np.ndarray:
    """y = conv^T(x; w) + b: for 2-d, one stride phase of the output at a time (a sub-pixel convolution).

    The output pixels (Q*sH + a, P*sW + b) of one phase (a, b) are reached only by the kernel taps (i, j) with
    i*dH = a + top (mod sH) and j*dW = b + left (mod sW), and they form a stride-1 correlation of the input with
    those taps rotated by 180 degrees (``_axis_phase``). Each phase is computed by ``_correlate_into`` and
    copied into its strided place in the output. This multiplies by no inserted zeros and needs no col2im
    sums (W^T @ x, then each column added onto its window), which cost more than the products at stride 2.
    At stride 1 there is one phase, the "full" convolution of the CNN notes.

    Args:
        x: (N, C_in, *spatial).
        weight: (C_in, C_out / groups, *kernel).
        bias: (C_out,) or None.
        spec: the settings of the convolution being transposed.
        output_padding: extra rows (columns, ...) at the end of the output.

    Returns:
        the (N, C_out, *out) result, out from ``transposed_output_size``.
    """
    if len(spec.kernel) != 2 or type(x) is not np.ndarray:  # as in ``correlate``
        out = reference_transposed_convolution(x, weight, spec, output_padding)
        if bias is not None:
            out += bias.reshape(-1, *(1,) * len(spec.kernel))
        return out
    n, in_channels, h, w = x.shape
    _, per_group, kh, kw = weight.shape
    (sh, sw), (dh, dw), ((top, _), (left, _)), groups = spec.stride, spec.dilation, spec.padding, spec.groups
    out_h, out_w = transposed_output_size((h, w), spec, output_padding)
    out = np.empty((n, per_group * groups, out_h, out_w), np.result_type(x, weight))
    if _small_images(h * w, in_channels // groups):
        # As the convolution it transposes (``correlate``): columns (C_out/G*kh*kw, H*W*N) = W^T @ x per group, with
        # the weight as it lies, then each column added onto its window. At stride 1 as at stride 2.
        weight_matrices = weight.reshape(groups, in_channels // groups, -1).swapaxes(1, 2)

        def spread_columns(start: int, stop: int) -> None:
            images = x[start:stop].reshape(stop - start, groups, -1, h * w)
            _add_columns(out[start:stop], np.matmul(weight_matrices, _side_by_side(images)), spec, (h, w))
            if bias is not None:
                out[start:stop] += bias[:, None, None]

        parallel.in_batch_chunks(spread_columns, n, in_channels * kw * h * w * out.itemsize,
                                 _multiply_adds(h * w, weight.size, spec))
        return out
    phases = []
    for a in range(min(sh, out_h)):
        for b in range(min(sw, out_w)):
            target = (slice(None), slice(None), slice(a, None, sh), slice(b, None, sw))
            rows = _axis_phase(a, h, len(range(a, out_h, sh)), kh, sh, top, dh)
            cols = _axis_phase(b, w, len(range(b, out_w, sw)), kw, sw, left, dw)
            if rows is None or cols is None:
                phases.append((target, None, None, None))
                continue
            sub_kernel = weight[:, :, rows.taps, cols.taps]
            phase_spec = ConvSpec(sub_kernel.shape[2:], (1, 1), (rows.padding, cols.padding),
                                  (rows.dilation, cols.dilation), groups)
            phases.append((target, (rows, cols), phase_spec,
                           _kernel_rows(_transposed_as_correlation(sub_kernel, groups))))

    one_phase = (sh, sw) == (1, 1)  # which is the whole output

    def spread(start: int, stop: int) -> None:
        for target, axes, phase_spec, kernel_rows in phases:
            if axes is None:
                out[start:stop][target] = 0
                continue
            rows, cols = axes
            # A phase of several is computed in a buffer of its own, then copied into its strided place.
            result = out[start:stop] if one_phase else np.empty(out[start:stop][target].shape, out.dtype)
            _correlate_into(result, x[start:stop, :, rows.crop, cols.crop], kernel_rows, phase_spec)
            if not one_phase:
                out[start:stop][target] = result
        if bias is not None:
            out[start:stop] += bias[:, None, None]

    parallel.in_batch_chunks(spread, n, in_channels * kw * h * w * out.itemsize,
                             _multiply_adds(h * w, weight.size, spec))
    return out


def weight_gradient(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec,
                    taps: np.ndarray | None = None) -> np.ndarray:
    """dw = x ⋆ g: the correlation of a convolution's input x with its output gradient g.

    dw[o, c, i, j] = sum over n, p, q of g[n, o, p, q] * x_padded[n, c, p * s + i * d, q * s + j * d].

    Args:
        x: the convolution's input (N, C_in, *spatial).
        grad_output: the gradient of its output (N, C_out, *out).
        spec: the convolution's settings (its kernel size is the result's).
        taps: x's row taps, if ``correlate`` kept them (2-d only); else they are copied again.

    Returns:
        (C_out, C_in / groups, *kernel).
    """
    if len(spec.kernel) != 2 or type(x) is not np.ndarray:  # as in ``correlate``
        return reference_weight_gradient(x, grad_output, spec)
    n, in_channels, h, w = x.shape
    _, out_channels, ho, wo = grad_output.shape
    (kh, kw), groups = spec.kernel, spec.groups
    partial_sums = {}

    def correlate_chunk(start: int, stop: int) -> None:
        images = x[start:stop]
        grad_rows = grad_output[start:stop].reshape(stop - start, groups, -1, ho * wo)
        if side_by_side:
            # Each image's product would write a result more than twice as large as the taps it reads: one product
            # g (C_out/G, Ho*Wo*N) @ columns^T over the images side by side is up to 8x faster, in the result's layout.
            # Into an array of the result's shape that owns its memory: .grad adopts such a gradient without a copy.
            partial_sums[start] = np.empty(shape, dtype)
            np.matmul(_side_by_side(grad_rows), _columns(images, spec, (ho, wo)).swapaxes(1, 2),
                      out=partial_sums[start].reshape(groups, out_channels // groups, -1))
            return
        pixels = _pointwise_pixels(images, spec, (ho, wo))
        if pixels is not None:  # a 1x1 kernel reads the pixels themselves
            windows = [pixels[:, None]]
        else:
            chunk_taps = taps[start:stop] if taps is not None else _row_taps(images, spec, (ho, wo))
            if stacked:
                windows = [_all_kernel_rows(chunk_taps, spec, (ho, wo))]
            else:
                windows = [_kernel_row(chunk_taps, i, spec, (ho, wo)) for i in range(kh)]
        # Kernel row i: the sum over the images of taps_i[n] (kw*C_in/G, Ho*Wo) @ g[n]^T (Ho*Wo, C_out/G).
        # OpenBLAS multiplies up to 1.5x faster with g^T copied than with it read transposed, and up to 1.7x
        # faster than g[n] @ taps_i[n]^T (ResNet-20's 3x3 layers).
        grad_columns = np.ascontiguousarray(grad_rows.swapaxes(2, 3))
        sums = np.stack([np.matmul(rows, grad_columns).sum(0) for rows in windows])
        # All kernel rows stacked: (1, G, kh*kw*C_in/G, C_out/G), kernel row i in the i-th block of rows.
        partial_sums[start] = sums.reshape(groups, kh, -1, sums.shape[-1]).swapaxes(0, 1) if stacked else sums

    side_by_side = _small_images(ho * wo, out_channels // groups)
    stacked = _stacks_kernel_rows(spec, in_channels)
    shape, dtype = (out_channels, in_channels // groups, kh, kw), np.result_type(x, grad_output)
    parallel.in_batch_chunks(correlate_chunk, n, in_channels * kw * h * wo * x.itemsize,
                             _multiply_adds(ho * wo, math.prod(shape), spec))
    # Summed in a fixed order, so the result does not depend on which thread finished first, into the first one.
    partials = [partial_sums[start] for start in sorted(partial_sums)]
    if not partials:  # an empty batch
        return np.zeros(shape, dtype)
    total = partials[0]
    for partial in partials[1:]:
        total += partial
    # The result is C-contiguous: SGD on ResNet-18 took 4x as long with gradients read with strides. Side by side,
    # the sums are in its layout already; the products per image make small weights, whose copy from their
    # (kh, G, kw, C_in/G, C_out/G) order costs little (0.13 ms for 128x128x3x3; it took 17 ms for 512x512x3x3).
    if side_by_side:
        return total
    grad_weight = np.empty(shape, dtype)
    grad_weight.reshape(groups, -1, *shape[1:]).transpose(3, 0, 4, 2, 1)[...] = total.reshape(
        kh, groups, kw, in_channels // groups, -1)
    return grad_weight


# ----------------------------------------------------------------------------- the reference kernels
def _windows(x: np.ndarray, spec: ConvSpec, out_size: Sequence[int]) -> np.ndarray:
    """The first ``out_size`` windows of ``x`` (N, C, *spatial), a view (N, G, C/G, *out_size, *kernel) of its
    zero-padded copy: windows[n, g, c, p..., i...] = x_padded[n, g*C/G + c, p*stride + i*dilation, ...]."""
    dims = len(spec.kernel)
    padded = np.pad(x, ((0, 0), (0, 0), *spec.padding))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel, spec.dilation))
    windows = sliding_window_view(padded, extent, axis=tuple(range(2, 2 + dims)))
    starts = tuple(window_slice(0, s, o) for o, s in zip(out_size, spec.stride))
    windows = windows[(slice(None), slice(None), *starts, *(slice(None, None, d) for d in spec.dilation))]
    return windows.reshape(x.shape[0], spec.groups, -1, *windows.shape[2:])


def _subscripts(dims: int) -> tuple[str, str]:
    """einsum letters for the output positions and for the kernel taps of ``dims`` spatial dimensions."""
    return string.ascii_uppercase[:dims], string.ascii_uppercase[dims:2 * dims]


def reference_correlate(x: np.ndarray, weight: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y = w ⋆ x by definition, for any number of spatial dimensions:
    y[n, o, p] = sum over c, i of w[o, c, i] * x_padded[n, c, p*s + i*d], within each group."""
    out_size = output_size(x.shape[2:], spec)
    positions, taps = _subscripts(len(spec.kernel))
    grouped_weight = weight.reshape(spec.groups, -1, *weight.shape[1:])  # (G, C_out/G, C_in/G, *kernel)
    y = np.einsum(f"ngc{positions}{taps},goc{taps}->ngo{positions}", _windows(x, spec, out_size), grouped_weight,
                  optimize=True)
    return y.reshape(x.shape[0], -1, *out_size)


def reference_weight_gradient(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = x ⋆ g by definition: dw[o, c, i] = sum over n, p of g[n, o, p] * x_padded[n, c, p*s + i*d], within
    each group."""
    out_size = grad_output.shape[2:]
    positions, taps = _subscripts(len(spec.kernel))
    grouped_grad = grad_output.reshape(grad_output.shape[0], spec.groups, -1, *out_size)
    dw = np.einsum(f"ngc{positions}{taps},ngo{positions}->goc{taps}", _windows(x, spec, out_size), grouped_grad,
                   optimize=True)
    return dw.reshape(-1, dw.shape[2], *spec.kernel)


def reference_transposed_convolution(x: np.ndarray, weight: np.ndarray, spec: ConvSpec,
                                     output_padding: Sequence[int]) -> np.ndarray:
    """y = conv^T(x; w) by zero insertion: x spread out with stride - 1 zeros between its elements, padded by
    dilation * (k - 1) minus the convolution's padding (output_padding more at the end; negative padding
    crops), and correlated at stride 1 with the kernel rotated by 180 degrees and its channels swapped."""
    dims = len(spec.kernel)
    spread = np.zeros_like(x, shape=(*x.shape[:2], *((n - 1) * s + 1 for n, s in zip(x.shape[2:], spec.stride))))
    spread[(slice(None), slice(None), *(slice(None, None, s) for s in spec.stride))] = x
    pads = [(d * (k - 1) - before, d * (k - 1) - after + extra) for k, d, (before, after), extra
            in zip(spec.kernel, spec.dilation, spec.padding, output_padding)]
    crop = tuple(slice(max(-before, 0), n - max(-after, 0)) for (before, after), n in zip(pads, spread.shape[2:]))
    full = ConvSpec(spec.kernel, (1,) * dims, tuple((max(before, 0), max(after, 0)) for before, after in pads),
                    spec.dilation, spec.groups)
    grouped = _transposed_as_correlation(weight, spec.groups)
    return reference_correlate(spread[(slice(None), slice(None), *crop)], grouped.reshape(-1, *grouped.shape[2:]),
                               full)


# ----------------------------------------------------------------------------- im2col for F.unfold / F.fold
def im2col(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The windows of ``x`` (N, C, H, W) as columns, (N, C*kh*kw, L) for L = Ho*Wo windows in row-major order:
    PyTorch's ``F.unfold`` layout, from ``_columns`` (groups = 1)."""
    out_size = output_size(x.shape[2:], spec)
    columns = _columns(x, spec, out_size)  # (1, C*kh*kw, Ho*Wo*N), images fastest
    return columns.reshape(columns.shape[1], -1, x.shape[0]).transpose(2, 0, 1)


def col2im(columns: np.ndarray, spec: ConvSpec, size: Pair, out_size: Pair) -> np.ndarray:
    """The adjoint of ``im2col``: (N, C*kh*kw, L) columns summed back onto their windows of an (N, C, *size) array
    (``F.fold``), through ``_add_columns``."""
    n, rows, _ = columns.shape
    out = np.empty_like(columns, shape=(n, rows // (spec.kernel[0] * spec.kernel[1]), *size), order="C")
    rows_first = get_array_module(columns).ascontiguousarray(columns.transpose(1, 2, 0))  # on columns' device
    _add_columns(out, rows_first.reshape(1, rows, -1), spec, out_size)
    return out
