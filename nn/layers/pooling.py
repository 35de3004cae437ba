"""Pooling layers: ``MaxPool2d``, ``MaxPool3d``, ``AvgPool2d``, ``AvgPool3d``, ``AdaptiveAvgPool2d``,
``AdaptiveMaxPool2d``, ``MaxUnpool2d``, and ``MaxPool1d``, ``AvgPool1d``, ``AdaptiveAvgPool1d``,
``AdaptiveMaxPool1d``, ``LPPool1d``, ``LPPool2d``."""

from __future__ import annotations

from typing import Any

from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module


class _WindowPoolNd(Module):
    """What the poolings over sliding windows share: the window settings, the stride defaulting to the kernel
    size (non-overlapping windows), and their repr."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPoolNd(_WindowPoolNd):
    """What MaxPool1d, MaxPool2d and MaxPool3d share: their settings and repr."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """Maximum over each ``kernel_size`` window; the gradient flows only to each window's maximum.

    Args:
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair; defaults to ``kernel_size`` (non-overlapping windows).
        padding: int or pair of implicit -inf padding on both sides.
        dilation: spacing between window elements.
        return_indices: also return the flat index (within each channel's H*W map) of each maximum,
            for ``MaxUnpool2d``.
        ceil_mode: round the output size up instead of down.

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: ``(N, C, H_out, W_out)`` with ``H_out = floor((H + 2 p - d (k - 1) - 1) / s + 1)``.
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool3d(_MaxPoolNd):
    """Maximum over each ``kernel_size`` window of a volume; the gradient flows only to each window's maximum.

    Args:
        kernel_size: int or ``(kD, kH, kW)``.
        stride: int or triple; defaults to ``kernel_size`` (non-overlapping windows).
        padding: int or triple of implicit -inf padding on both sides.
        dilation: spacing between window elements.
        return_indices: also return the flat index (within each channel's D*H*W volume) of each maximum.
        ceil_mode: round the output size up instead of down.

    Shape:
        - Input: ``(N, C, D, H, W)``.
        - Output: ``(N, C, D_out, H_out, W_out)`` with ``D_out = floor((D + 2 p - d (k - 1) - 1) / s + 1)``, and
          the same for H and W.
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class _AvgPoolNd(_WindowPoolNd):
    """What AvgPool2d and AvgPool3d share: their settings (AvgPool1d has no ``divisor_override``, as in PyTorch)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override


class AvgPool2d(_AvgPoolNd):
    """Mean over each ``kernel_size`` window; the gradient is spread evenly over the window.

    Args:
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair; defaults to ``kernel_size``.
        padding: int or pair of zero padding on both sides.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padded zeros in the divisor (default True).
        divisor_override: divide by this number instead of the window size.

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: ``(N, C, H_out, W_out)`` with ``H_out = floor((H + 2 p - k) / s + 1)``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool3d(_AvgPoolNd):
    """Mean over each ``kernel_size`` window of a volume; the gradient is spread evenly over the window.

    Args:
        kernel_size: int or ``(kD, kH, kW)``.
        stride: int or triple; defaults to ``kernel_size``.
        padding: int or triple of zero padding on both sides.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padded zeros in the divisor (default True).
        divisor_override: divide by this number instead of the window size.

    Shape:
        - Input: ``(N, C, D, H, W)``.
        - Output: ``(N, C, D_out, H_out, W_out)`` with ``D_out = floor((D + 2 p - k) / s + 1)``, and the same for
          H and W.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _AdaptivePoolNd(Module):
    """What the adaptive poolings share: the target ``output_size`` and the repr."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    """What AdaptiveMaxPool1d and AdaptiveMaxPool2d add: the option to return each maximum's index."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling with windows chosen so that the output has size ``output_size``.

    Args:
        output_size: int or ``(H_out, W_out)``; None in a pair keeps that input size.

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: ``(N, C, H_out, W_out)``. ``output_size=1`` is global average pooling.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling with windows chosen so that the output has size ``output_size``.

    Args:
        output_size: int or ``(H_out, W_out)``.
        return_indices: also return the flat indices of the maxima (for ``MaxUnpool2d``).

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: ``(N, C, H_out, W_out)``.
    """

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class MaxUnpool2d(_WindowPoolNd):
    """Partial inverse of ``MaxPool2d``: each value goes back to the position its maximum came from,
    zeros elsewhere (SegNet's decoder).

    Args:
        kernel_size: the pooling's kernel size.
        stride: the pooling's stride; defaults to ``kernel_size``.
        padding: the pooling's padding.

    Shape:
        - Input: ``(N, C, H, W)`` and indices of the same shape from ``MaxPool2d(return_indices=True)``.
        - Output: ``(N, C, H_out, W_out)`` with ``H_out = (H - 1) s - 2 p + k``, or ``output_size``.
    """

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxPool1d(_MaxPoolNd):
    """Maximum over each ``kernel_size`` window of a sequence; the gradient flows only to each window's maximum.

    Args:
        kernel_size: window length.
        stride: step between windows; defaults to ``kernel_size``.
        padding: implicit -inf padding on both sides, at most half the kernel size.
        dilation: spacing between window elements.
        return_indices: also return the index into L of each maximum.
        ceil_mode: round the output length up instead of down.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``.
        - Output: ``(N, C, L_out)`` with ``L_out = floor((L + 2 p - d (k - 1) - 1) / s + 1)``.
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(_WindowPoolNd):
    """Mean over each ``kernel_size`` window of a sequence; the gradient is spread evenly over the window.

    Args:
        kernel_size: window length.
        stride: step between windows; defaults to ``kernel_size``.
        padding: zero padding on both sides, at most half the kernel size.
        ceil_mode: round the output length up instead of down.
        count_include_pad: count the padded zeros in the divisor (default True).

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``.
        - Output: ``(N, C, L_out)`` with ``L_out = floor((L + 2 p - k) / s + 1)``.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average pooling of a sequence with windows chosen so that the output has length ``output_size``.

    Args:
        output_size: L_out.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``. Output: ``(N, C, L_out)``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of a sequence with windows chosen so that the output has length ``output_size``.

    Args:
        output_size: L_out.
        return_indices: also return the index into L of each maximum.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``. Output: ``(N, C, L_out)``.
    """

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class _LPPoolNd(Module):
    """What LPPool1d and LPPool2d share: their settings and repr."""

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling of a sequence: ``(sum of x^p over each window)^(1/p)``.

    Args:
        norm_type: p (1 is sum pooling; large p approaches max pooling).
        kernel_size: window length.
        stride: step between windows; defaults to ``kernel_size``.
        ceil_mode: round the output length up instead of down.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``. Output: ``(N, C, L_out)``, ``L_out = floor((L - k) / s + 1)``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """Power-average pooling: ``(sum of x^p over each window)^(1/p)``.

    Args:
        norm_type: p (1 is sum pooling; large p approaches max pooling).
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair; defaults to ``kernel_size``.
        ceil_mode: round the output size up instead of down.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``. Output: ``(N, C, H_out, W_out)``,
          ``H_out = floor((H - kH) / sH + 1)``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)
