"""Shape layers: ``Flatten``, ``Unflatten``, ``Identity``, ``Upsample`` (and ``UpsamplingNearest2d``,
``UpsamplingBilinear2d``), ``PixelShuffle``, ``PixelUnshuffle``."""

from __future__ import annotations

from typing import Any, Sequence

from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module


class Identity(Module):
    """Returns its input; any constructor arguments are ignored (a placeholder, e.g. for a removed head)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one (by default everything but the batch).

    Args:
        start_dim: first dimension to merge (default 1).
        end_dim: last dimension to merge (default -1).

    Shape:
        - Input: ``(N, C, H, W)``. Output: ``(N, C * H * W)`` with the defaults.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``.

    Args:
        dim: the dimension to split.
        unflattened_size: the new sizes; their product must equal the size of ``dim``.

    Shape:
        - Input: ``(N, C * H * W)`` (say). Output: ``(N, C, H, W)`` for ``Unflatten(1, (C, H, W))``.
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Upsample(Module):
    """Resize sequences, images or volumes to ``size`` or by ``scale_factor`` (see ``F.interpolate``).

    Args:
        size: output spatial size, e.g. ``(H_out, W_out)`` (or an int for all dimensions).
        scale_factor: multiplier of the spatial size (instead of ``size``).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'``, ``'bilinear'``, ``'bicubic'``, ``'trilinear'``
            or ``'area'``.
        align_corners: for the linear and cubic modes, align the corner pixels of input and output.
        recompute_scale_factor: compute source positions from the output size rather than ``scale_factor``.

    Shape:
        - Input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``. Output: ``(N, C, *out_size)``.
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        described = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{described}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` for images.

    Args:
        size: output ``(H_out, W_out)`` or an int.
        scale_factor: multiplier of H and W (instead of ``size``).

    Shape:
        - Input: ``(N, C, H, W)``. Output: ``(N, C, H_out, W_out)``.
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for images, as in PyTorch.

    Args:
        size: output ``(H_out, W_out)`` or an int.
        scale_factor: multiplier of H and W (instead of ``size``).

    Shape:
        - Input: ``(N, C, H, W)``. Output: ``(N, C, H_out, W_out)``.
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """Rearrange ``(*, C r^2, H, W)`` into ``(*, C, H r, W r)``: the sub-pixel convolution's upsampling.

    Args:
        upscale_factor: r.

    Shape:
        - Input: ``(*, C * r^2, H, W)``. Output: ``(*, C, H * r, W * r)``.
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Rearrange ``(*, C, H r, W r)`` into ``(*, C r^2, H, W)``, the inverse of ``PixelShuffle``.

    Args:
        downscale_factor: r.

    Shape:
        - Input: ``(*, C, H * r, W * r)``. Output: ``(*, C * r^2, H, W)``.
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
