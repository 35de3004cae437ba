"""The VGG block (Simonyan & Zisserman 2014): stacked 3x3 convs, then a 2x2 max-pool.

Two 3x3 convs see a 5x5 window, three see 7x7, with fewer parameters than one large kernel
(2 * 9 C^2 < 25 C^2) and a nonlinearity between them.
"""

from __future__ import annotations

from ..containers import Sequential
from ..layers import Conv2d, MaxPool2d, ReLU


class VGGBlock(Sequential):
    """``num_convs`` x (3x3 conv with padding 1 + ReLU), then 2x2 max-pooling with stride 2.

    Args:
        num_convs: number of conv layers.
        in_channels: channels of the input.
        out_channels: channels of every conv layer.

    Shape:
        - Input: ``(N, in_channels, H, W)``. Output: ``(N, out_channels, H // 2, W // 2)``.

    Example::

        >>> block = VGGBlock(2, 3, 64)       # the first block of VGG-16
    """

    def __init__(self, num_convs: int, in_channels: int, out_channels: int) -> None:
        if num_convs < 1:
            raise ValueError(f"VGGBlock: num_convs must be at least 1, got {num_convs}")
        layers = []
        for index in range(num_convs):
            layers += [Conv2d(in_channels if index == 0 else out_channels, out_channels, kernel_size=3, padding=1),
                       ReLU(inplace=True)]
        super().__init__(*layers, MaxPool2d(kernel_size=2, stride=2))
