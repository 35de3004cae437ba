"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d`` (with reflect/replicate/circular padding),
``ConvTranspose2d`` and ``ConvTranspose3d``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from autograd.ops.arguments import int_tuple
from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module
from ..parameter import Parameter
from .linear import reset_weight_and_bias

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: argument checks, parameters, init, padding modes and repr."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, transposed: bool, output_padding: Any, groups: int, bias: bool, padding_mode: str,
                 dims: int) -> None:
        super().__init__()
        name = type(self).__name__
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = int_tuple(kernel_size, dims, "kernel_size", name, 1)
        self.stride = int_tuple(stride, dims, "stride", name, 1)
        self.dilation = int_tuple(dilation, dims, "dilation", name, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding string must be 'same' or 'valid', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = int_tuple(padding, dims, "padding", name, 0)
        self.output_padding = int_tuple(output_padding, dims, "output_padding", name, 0)
        self.transposed = transposed
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad widths for the non-zero padding modes: (left, right) of the last dimension first.
        widths: list[int] = []
        for d, k in zip(reversed(self.dilation), reversed(self.kernel_size)):
            total = d * (k - 1)
            widths += [total // 2, total - total // 2]
        if self.padding == "valid":
            widths = [0] * (2 * dims)
        elif self.padding != "same":
            widths = [p for p in reversed(self.padding) for _ in range(2)]
        self._reversed_padding_repeated_twice = widths
        shape = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(np.empty(shape + self.kernel_size, np.float32))
        if bias:
            self.bias = Parameter(np.empty(out_channels, np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default init: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        reset_weight_and_bias(self.weight, self.bias)

    def _convolve(self, input: Tensor, conv: Callable[..., Tensor]) -> Tensor:
        """``conv`` (``F.conv1d``, ``F.conv2d`` or ``F.conv3d``) of ``input`` with this layer's weights and settings."""
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        dims = len(self.kernel_size)
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-d convolution (cross-correlation) over an input of several channels.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (number of filters).
        kernel_size: length of the kernel.
        stride: step between windows (default 1).
        padding: zeros (or reflected/replicated/wrapped values, see ``padding_mode``) added on both
            sides, or ``'valid'`` (none) / ``'same'`` (output length = input length, stride 1 only).
        dilation: spacing between kernel taps (default 1).
        groups: split channels into this many independent groups (default 1).
        bias: whether to add a learnable bias per output channel (default True).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        - Input: ``(N, C_in, L_in)``.
        - Output: ``(N, C_out, L_out)`` with ``L_out = floor((L_in + 2 p - d (k - 1) - 1) / s + 1)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups, bias,
                         padding_mode, 1)

    def forward(self, input: Tensor) -> Tensor:
        return self._convolve(input, F.conv1d)


class Conv2d(_ConvNd):
    """2-d convolution (cross-correlation) over an image of several channels.

    Each of the ``out_channels`` filters has shape ``(in_channels / groups, kH, kW)`` and one bias.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (number of filters).
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair (default 1).
        padding: int or pair of zeros (or other values, see ``padding_mode``) added on both sides,
            or ``'valid'`` / ``'same'`` (stride 1 only).
        dilation: int or pair, spacing between kernel taps (default 1).
        groups: split channels into this many independent groups (default 1).
        bias: whether to add a learnable bias per output channel (default True).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        - Input: ``(N, C_in, H, W)``.
        - Output: ``(N, C_out, H_out, W_out)`` with ``H_out = floor((H + 2 p - d (k - 1) - 1) / s + 1)``.

    Example::

        >>> conv = nn.Conv2d(3, 10, 3)                 # 39x39x3 -> 37x37x10
        >>> conv(autograd.randn(1, 3, 39, 39)).shape
        (1, 10, 37, 37)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups, bias,
                         padding_mode, 2)

    def forward(self, input: Tensor) -> Tensor:
        return self._convolve(input, F.conv2d)


class Conv3d(_ConvNd):
    """3-d convolution (cross-correlation) over a volume (or a clip of frames) of several channels.

    Each of the ``out_channels`` filters has shape ``(in_channels / groups, kD, kH, kW)`` and one bias.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (number of filters).
        kernel_size: int or ``(kD, kH, kW)``.
        stride: int or triple (default 1).
        padding: int or triple of zeros (or other values, see ``padding_mode``) added on both sides,
            or ``'valid'`` / ``'same'`` (stride 1 only).
        dilation: int or triple, spacing between kernel taps (default 1).
        groups: split channels into this many independent groups (default 1).
        bias: whether to add a learnable bias per output channel (default True).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        - Input: ``(N, C_in, D, H, W)``.
        - Output: ``(N, C_out, D_out, H_out, W_out)`` with ``D_out = floor((D + 2 p - d (k - 1) - 1) / s + 1)``,
          and the same for H and W.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups, bias,
                         padding_mode, 3)

    def forward(self, input: Tensor) -> Tensor:
        return self._convolve(input, F.conv3d)


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose2d and ConvTranspose3d share: zero padding only, given as ints."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 output_padding: Any, groups: int, bias: bool, dilation: Any, padding_mode: str, dims: int) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}, got {padding_mode!r}')
        int_tuple(padding, dims, "padding", name, 0)  # no 'same' or 'valid'
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, dims)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution: the gradient of ``Conv2d`` w.r.t. its input, used as a layer to upsample.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair (default 1); a stride s makes the output about s times larger.
        padding: int or pair, ``dilation * (kernel_size - 1) - padding`` zeros are added around the input.
        output_padding: int or pair added to one side of the output, to choose among the output
            sizes that a strided Conv2d maps to the same input size.
        groups: split channels into this many independent groups (default 1).
        bias: whether to add a learnable bias per output channel (default True).
        dilation: int or pair (default 1).
        padding_mode: only ``'zeros'``.

    Shape:
        - Input: ``(N, C_in, H, W)``.
        - Output: ``(N, C_out, H_out, W_out)`` with
          ``H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1``.

    Attributes:
        weight: ``(in_channels, out_channels / groups, kH, kW)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, padding_mode, 2)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution: the gradient of ``Conv3d`` w.r.t. its input, used as a layer to upsample volumes.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: int or ``(kD, kH, kW)``.
        stride: int or triple (default 1); a stride s makes the output about s times larger.
        padding: int or triple, ``dilation * (kernel_size - 1) - padding`` zeros are added around the input.
        output_padding: int or triple added to one side of the output, to choose among the output
            sizes that a strided Conv3d maps to the same input size.
        groups: split channels into this many independent groups (default 1).
        bias: whether to add a learnable bias per output channel (default True).
        dilation: int or triple (default 1).
        padding_mode: only ``'zeros'``.

    Shape:
        - Input: ``(N, C_in, D, H, W)``.
        - Output: ``(N, C_out, D_out, H_out, W_out)`` with
          ``D_out = (D - 1) s - 2 p + d (k - 1) + output_padding + 1``, and the same for H and W.

    Attributes:
        weight: ``(in_channels, out_channels / groups, kD, kH, kW)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, padding_mode, 3)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)
