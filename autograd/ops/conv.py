"""Convolution: conv1d, conv2d, conv3d, conv_transpose2d and conv_transpose3d, whose gradients are convolutions
again.

conv2d computes a cross-correlation, as every deep-learning framework does: y[n, o] = b[o] + sum_c w[o, c] ⋆ x[n, c].
The array work is in ``autograd/kernels/conv.py``: im2col and matrix products for two spatial dimensions
(conv1d is a conv2d of height 1), the short reference kernel for three.

The gradients are built from the same three Functions, so they can be differentiated again:

- w.r.t. the input: the transposed convolution of the output gradient with the same kernel. For stride 1
  that is a "full" convolution of the output gradient with the kernel rotated by 180 degrees; for stride s
  the gradient is first spread out with s - 1 zeros between its elements (a fractionally strided
  convolution). ``ConvTranspose2d`` computes it without the zeros, one stride phase of its output at a time.
- w.r.t. the weight: the correlation of the input with the output gradient (``Conv2dWeightGrad``).
- w.r.t. the bias: the output gradient summed over N and the spatial dimensions.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import OpError
from ..function import Function
from ..grad_mode import is_grad_enabled
from ..kernels.conv import (
    ConvSpec, col2im, correlate, im2col, restoring_output_padding, transposed_convolution, transposed_output_size,
    weight_gradient,
)
from ..kernels.conv import output_size as output_size_of
from ..tensor import Tensor, wrap
from .arguments import batched_call, int_tuple, non_default, size_text


def _spec_attributes(spec: ConvSpec) -> dict[str, Any]:
    return non_default(stride=(spec.stride, 1), padding=(spec.padding, 0), dilation=(spec.dilation, 1),
                       groups=(spec.groups, 1))


def _cropped(tensor: Tensor, shape: Sequence[int]) -> Tensor:
    """``tensor`` cut to the spatial size of ``shape``: windows that no input pixel fed are dropped."""
    if tensor.shape == tuple(shape):
        return tensor
    return tensor[(slice(None), slice(None), *(slice(0, n) for n in shape[2:]))]


class _Convolution(Function):
    """y = w ⋆ x + b (cross-correlation);  dx = conv_transpose(grad; w),  dw = x ⋆ grad,  db = sum(grad).

    Conv2d and Conv3d; ``spec`` says how many spatial dimensions there are.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, spec: ConvSpec) -> np.ndarray:
        # A strided conv2d keeps the row taps of x that its weight gradient reads again (see ``correlate``).
        out, input_taps = correlate(x.data, weight.data, None if bias is None else bias.data, spec,
                                    keep_taps=ctx.needs_input_grad[1])
        ctx.save_for_backward(x, weight, input_taps)
        ctx.spec = spec
        ctx.output_padding = restoring_output_padding(x.data.shape[2:], out.shape[2:], spec)
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
            grad_x = _conv_transpose(grad, weight, ctx.spec, ctx.output_padding)
        if needs[1]:
            # dL/dw[o, c] is the correlation of x[:, c] with dL/dy[:, o]. The kept taps are arrays computed from x:
            # a node recorded for double backward must depend on x alone (gradcheck_graph re-runs it on copies).
            if is_grad_enabled():
                grad_weight = _conv_weight_grad(x, grad, ctx.spec)
            else:
                grad_weight = wrap(weight_gradient(x.data, grad.data, ctx.spec, input_taps))
        if needs[2]:
            grad_bias = grad.sum(dim=(0, *range(2, grad.ndim)))
        return grad_x, grad_weight, grad_bias, None

    def attributes(self) -> dict[str, Any]:
        return _spec_attributes(self.spec)


class Conv2d(_Convolution):
    """y = w ⋆ x + b (cross-correlation);  dx = conv_transpose2d(grad; w),  dw = x ⋆ grad,  db = sum(grad)."""


class Conv3d(_Convolution):
    """y = w ⋆ x + b (3-d cross-correlation);  dx = conv_transpose3d(grad; w),  dw = x ⋆ grad,  db = sum(grad)."""


class _TransposedConvolution(Function):
    """y = conv^T(x; w) + b;  dx = conv(grad; w),  dw = grad ⋆ x,  db = sum(grad).

    Every input pixel adds the kernel, scaled by its value, onto its output window. The weight has the
    convolution's layout seen from the other side: (C_in, C_out / groups, *kernel). ConvTranspose2d and
    ConvTranspose3d; ``spec`` is that of the convolution being transposed.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, spec: ConvSpec,
                output_padding: tuple[int, ...]) -> np.ndarray:
        out = transposed_convolution(x.data, weight.data, None if bias is None else bias.data, spec, output_padding)
        ctx.save_for_backward(x, weight)
        ctx.spec, ctx.output_padding = spec, output_padding
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            # The adjoint of the adjoint: dL/dx is the ordinary convolution of dL/dy with the same kernel.
            # output_padding >= stride adds windows that no input pixel fed.
            grad_x = _cropped(_conv(grad, weight, ctx.spec), x.shape)
        if needs[1]:
            # <dL/dy, conv^T(x; w)> = <conv(dL/dy; w), x>, so dL/dw is the correlation of dL/dy with x.
            grad_weight = _conv_weight_grad(grad, x, ctx.spec)
        if needs[2]:
            grad_bias = grad.sum(dim=(0, *range(2, grad.ndim)))
        return grad_x, grad_weight, grad_bias, None, None

    def attributes(self) -> dict[str, Any]:
        return {**_spec_attributes(self.spec), **non_default(output_padding=(self.output_padding, 0))}


class ConvTranspose2d(_TransposedConvolution):
    """y = conv2d^T(x; w) + b;  dx = conv2d(grad; w),  dw = grad ⋆ x,  db = sum(grad)."""


class ConvTranspose3d(_TransposedConvolution):
    """y = conv3d^T(x; w) + b;  dx = conv3d(grad; w),  dw = grad ⋆ x,  db = sum(grad)."""


class _ConvWeightGrad(Function):
    """dw = x ⋆ g: the correlation of a convolution's input x with its output gradient g (its weight gradient).

    dw[o, c, i, j] = sum over n, p, q of g[n, o, p, q] * x_padded[n, c, p * s + i * d, q * s + j * d].
    Conv2dWeightGrad and Conv3dWeightGrad.
    """

    @staticmethod
    def forward(ctx, x: Tensor, grad_output: Tensor, spec: ConvSpec) -> np.ndarray:
        ctx.save_for_backward(x, grad_output)
        ctx.spec = spec
        ctx.output_padding = restoring_output_padding(x.data.shape[2:], grad_output.data.shape[2:], spec)
        return weight_gradient(x.data, grad_output.data, spec)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, grad_output = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_grad_output = None
        # dw is bilinear in (x, g) with <grad, dw> = <g, conv(x; grad)>: so d/dg is that convolution and
        # d/dx is its transpose applied to g.
        if needs[0]:
            grad_x = _conv_transpose(grad_output, grad, ctx.spec, ctx.output_padding)
        if needs[1]:
            # g came from a transposed conv with output_padding when it is smaller than conv(x; grad).
            grad_grad_output = _cropped(_conv(x, grad, ctx.spec), grad_output.shape)
        return grad_x, grad_grad_output, None

    def attributes(self) -> dict[str, Any]:
        return _spec_attributes(self.spec)


class Conv2dWeightGrad(_ConvWeightGrad):
    """dw = x ⋆ g (conv2d's weight gradient);  dx = conv_transpose2d(g; grad),  dg = conv2d(x; grad)."""


class Conv3dWeightGrad(_ConvWeightGrad):
    """dw = x ⋆ g (conv3d's weight gradient);  dx = conv_transpose3d(g; grad),  dg = conv3d(x; grad)."""


# The Functions of a gradient, for the spec's number of spatial dimensions.
def _conv(x: Tensor, weight: Tensor, spec: ConvSpec) -> Tensor:
    return (Conv2d if len(spec.kernel) == 2 else Conv3d).apply(x, weight, None, spec)


def _conv_transpose(x: Tensor, weight: Tensor, spec: ConvSpec, output_padding: tuple[int, ...]) -> Tensor:
    return (ConvTranspose2d if len(spec.kernel) == 2 else ConvTranspose3d).apply(x, weight, None, spec,
                                                                                  output_padding)


def _conv_weight_grad(x: Tensor, grad_output: Tensor, spec: ConvSpec) -> Tensor:
    return (Conv2dWeightGrad if len(spec.kernel) == 2 else Conv3dWeightGrad).apply(x, grad_output, spec)


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


def _conv_spec(op: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride: int | Sequence[int],
               padding: int | Sequence[int] | str, dilation: int | Sequence[int], groups: int,
               spatial_dims: int) -> ConvSpec:
    """Validate a convolution's arguments; return its spec (padding as (before, after) pairs)."""
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
    stride = int_tuple(stride, spatial_dims, "stride", op, 1)
    dilation = int_tuple(dilation, spatial_dims, "dilation", op, 1)
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
        pads = tuple((p, p) for p in int_tuple(padding, spatial_dims, "padding", op, 0))
    size = input.shape[-spatial_dims:]
    padded = tuple(n + sum(pair) for n, pair in zip(size, pads))
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(r > p for r, p in zip(reach, padded)):
        raise OpError(f"{op}: kernel {size_text(kernel)} (spanning {size_text(reach)} with dilation "
                      f"{size_text(dilation)}) is larger than the padded input {size_text(padded)} (input "
                      f"{size_text(size)})")
    return ConvSpec(kernel, stride, pads, dilation, groups)


def _transposed_spec(op: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride: int | Sequence[int],
                     padding: int | Sequence[int], output_padding: int | Sequence[int], groups: int,
                     dilation: int | Sequence[int], spatial_dims: int) -> tuple[ConvSpec, tuple[int, ...]]:
    """Validate a transposed convolution's arguments; return the spec of the convolution it transposes and the
    output_padding."""
    _check_rank(op, input, weight, spatial_dims)
    channels = input.shape[-spatial_dims - 1]
    _check_groups(op, groups, channels)
    if channels != weight.shape[0]:
        raise OpError(f"{op}: input has {channels} channels but the weight (shape {weight.shape}) expects "
                      f"{weight.shape[0]}")
    _check_bias(op, bias, weight.shape[1] * groups)
    stride = int_tuple(stride, spatial_dims, "stride", op, 1)
    dilation = int_tuple(dilation, spatial_dims, "dilation", op, 1)
    padding = int_tuple(padding, spatial_dims, "padding", op, 0)
    output_padding = int_tuple(output_padding, spatial_dims, "output_padding", op, 0)
    if any(extra >= max(s, d) for extra, s, d in zip(output_padding, stride, dilation)):
        raise OpError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} or dilation "
                      f"{dilation}")
    spec = ConvSpec(weight.shape[2:], stride, tuple((p, p) for p in padding), dilation, groups)
    size = input.shape[-spatial_dims:]
    out_size = transposed_output_size(size, spec, output_padding)
    if min(out_size) < 1:
        raise OpError(f"{op}: padding {padding} crops the whole output (input {size_text(size)}, kernel "
                      f"{size_text(weight.shape[2:])}, stride {stride} gives {size_text(out_size)})")
    return spec, output_padding


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
    spec = _conv_spec("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)
    return batched_call(Conv2d.apply, input, 2, weight, bias, spec)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """3-d cross-correlation of a batch of volumes (or clips of frames) with a bank of filters.

    Args:
        input: (N, C_in, D, H, W), or (C_in, D, H, W) for a single volume.
        weight: (C_out, C_in / groups, kD, kH, kW).
        bias: optional (C_out,).
        stride, padding, dilation, groups: as in ``conv2d``, with three values per tuple.

    Shape:
        output: (N, C_out, D_out, H_out, W_out) with D_out = floor((D + 2 pD - dD (kD - 1) - 1) / sD) + 1, and
        the same for H and W.

    Returns:
        Tensor of the input's dtype.
    """
    spec = _conv_spec("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)
    return batched_call(Conv3d.apply, input, 3, weight, bias, spec)


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
    (kernel,), (stride,), (pads,), (dilation,), groups = _conv_spec("conv1d", input, weight, bias, stride, padding,
                                                                    dilation, groups, 1)
    spec = ConvSpec((1, kernel), (1, stride), ((0, 0), pads), (1, dilation), groups)
    batched = input if input.ndim == 3 else input.unsqueeze(0)
    out = Conv2d.apply(batched.unsqueeze(2), weight.unsqueeze(2), bias, spec).squeeze(2)
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
    spec, output_padding = _transposed_spec("conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                                            groups, dilation, 2)
    return batched_call(ConvTranspose2d.apply, input, 2, weight, bias, spec, output_padding)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """3-d transposed convolution (the adjoint of conv3d).

    Args:
        input: (N, C_in, D, H, W), or (C_in, D, H, W) for a single volume.
        weight: (C_in, C_out / groups, kD, kH, kW).
        bias: optional (C_out,).
        stride, padding, output_padding, groups, dilation: as in ``conv_transpose2d``, with three values per
            tuple.

    Shape:
        output: (N, C_out, D_out, H_out, W_out) with D_out = (D - 1) sD - 2 pD + dD (kD - 1) + output_padding + 1,
        and the same for H and W.

    Returns:
        Tensor of the input's dtype.
    """
    spec, output_padding = _transposed_spec("conv_transpose3d", input, weight, bias, stride, padding, output_padding,
                                            groups, dilation, 3)
    return batched_call(ConvTranspose3d.apply, input, 3, weight, bias, spec, output_padding)


# ----------------------------------------------------------------------------- F.unfold and F.fold
class Unfold(Function):
    """y[n, (c, i, j), l] = x_padded[n, c, p*s + i*d, q*s + j*d] for window l = (p, q) (im2col);
    dx = the columns of grad summed back onto their windows (``Fold``): the two are each other's adjoints."""

    def attributes(self) -> dict[str, Any]:
        return {"kernel_size": self.spec.kernel[0] if len(set(self.spec.kernel)) == 1 else self.spec.kernel,
                **_spec_attributes(self.spec)}

    @staticmethod
    def forward(ctx, x: Tensor, spec: ConvSpec) -> np.ndarray:
        ctx.spec, ctx.size = spec, x.data.shape[2:]
        return im2col(x.data, spec)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Fold.apply(grad, ctx.spec, ctx.size), None


class Fold(Function):
    """y = zeros(N, C, *size) with column l of x added onto window l (col2im); dx = the windows of grad (``Unfold``)."""

    def attributes(self) -> dict[str, Any]:
        return {"output_size": self.size, **Unfold.attributes(self)}

    @staticmethod
    def forward(ctx, x: Tensor, spec: ConvSpec, size: tuple) -> np.ndarray:
        ctx.spec, ctx.size = spec, size
        return col2im(x.data, spec, size, output_size_of(size, spec))

    @staticmethod
    def backward(ctx, grad: Tensor):
        return Unfold.apply(grad, ctx.spec), None, None


def _window_spec(op: str, kernel_size: int | Sequence[int], dilation: int | Sequence[int],
                 padding: int | Sequence[int], stride: int | Sequence[int]) -> ConvSpec:
    return ConvSpec(int_tuple(kernel_size, 2, "kernel_size", op, 1), int_tuple(stride, 2, "stride", op, 1),
                    tuple((p, p) for p in int_tuple(padding, 2, "padding", op, 0)),
                    int_tuple(dilation, 2, "dilation", op, 1), 1)


def unfold(input: Tensor, kernel_size: int | Sequence[int], dilation: int | Sequence[int] = 1,
           padding: int | Sequence[int] = 0, stride: int | Sequence[int] = 1) -> Tensor:
    """Extract sliding windows as columns (im2col), as ``torch.nn.functional.unfold``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, dilation, padding, stride: the windows' settings, as in ``conv2d`` (ints or pairs).

    Shape:
        output (N, C * kh * kw, L) (or without N), L = Ho * Wo windows in row-major order.

    Returns:
        Tensor; its gradient is ``fold`` of the output gradient.
    """
    spec = _window_spec("unfold", kernel_size, dilation, padding, stride)
    if input.ndim not in (3, 4):
        raise OpError(f"unfold: expected a 3-d or 4-d input, got shape {input.shape}")
    out_size = output_size_of(input.shape[-2:], spec)
    if min(out_size) < 1:
        raise OpError(f"unfold: kernel {size_text(spec.kernel)} (dilation {spec.dilation}) does not fit the padded "
                      f"input of shape {input.shape}")
    return batched_call(lambda x: Unfold.apply(x, spec), input, 2)


def fold(input: Tensor, output_size: int | Sequence[int], kernel_size: int | Sequence[int],
         dilation: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
         stride: int | Sequence[int] = 1) -> Tensor:
    """Sum columns back onto their sliding windows (col2im), as ``torch.nn.functional.fold``: the adjoint of
    ``unfold``, so ``fold(unfold(x))`` multiplies each pixel by the number of windows covering it.

    Args:
        input: (N, C * kh * kw, L) or (C * kh * kw, L).
        output_size: the (H, W) of the result.
        kernel_size, dilation, padding, stride: the windows' settings, as in ``unfold``.

    Shape:
        output (N, C, H, W) (or without N).
    """
    size = int_tuple(output_size, 2, "output_size", "fold", 1)
    spec = _window_spec("fold", kernel_size, dilation, padding, stride)
    taps = spec.kernel[0] * spec.kernel[1]
    windows = output_size_of(size, spec)
    if input.ndim not in (2, 3) or input.shape[-2] % taps or input.shape[-1] != windows[0] * windows[1]:
        raise OpError(f"fold: expected an input of shape (N, C * {taps}, {windows[0] * windows[1]}) for "
                      f"kernel {size_text(spec.kernel)} and output_size {size_text(size)}, got {input.shape}")
    return batched_call(lambda x: Fold.apply(x, spec, size), input, 1)
