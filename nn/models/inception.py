"""The Inception block of GoogLeNet (Szegedy et al. 2014).

Four parallel branches see the same input at different scales and their outputs are concatenated
on channels. The 1x1 convs in front of the 3x3 and 5x5 convs are bottlenecks that make them
affordable: a 5x5 conv from 28x28x192 to 32 channels costs 28*28*32 * 5*5*192 = 120,422,400
multiplies, but first reducing to 16 channels with a 1x1 conv costs 28*28*16*192 + 28*28*32 * 5*5*16
= 12,443,648 (``nn.utils.summary`` counts them).
"""

from __future__ import annotations

from autograd.ops.shape import cat
from autograd.tensor import Tensor

from ..containers import Sequential
from ..layers import Conv2d, MaxPool2d, ReLU
from ..module import Module


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int) -> list:
    return [Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2), ReLU(inplace=True)]


class Inception(Module):
    """Branches 1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max-pool -> 1x1; each conv followed by ReLU, all
    keeping the spatial size, concatenated on channels.

    Args:
        in_channels: channels of the input.
        ch1x1: outputs of the 1x1 branch.
        ch3x3red: outputs of the 1x1 reduction before the 3x3 conv.
        ch3x3: outputs of the 3x3 branch.
        ch5x5red: outputs of the 1x1 reduction before the 5x5 conv.
        ch5x5: outputs of the 5x5 branch.
        pool_proj: outputs of the 1x1 conv after the max-pool.

    Shape:
        - Input: ``(N, in_channels, H, W)``.
        - Output: ``(N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.

    Example::

        >>> block = Inception(192, 64, 96, 128, 16, 32, 32)   # GoogLeNet's inception (3a): 256 channels out
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = Sequential(*_conv_relu(in_channels, ch1x1, 1))
        self.branch2 = Sequential(*_conv_relu(in_channels, ch3x3red, 1), *_conv_relu(ch3x3red, ch3x3, 3))
        self.branch3 = Sequential(*_conv_relu(in_channels, ch5x5red, 1), *_conv_relu(ch5x5red, ch5x5, 5))
        self.branch4 = Sequential(MaxPool2d(kernel_size=3, stride=1, padding=1), *_conv_relu(in_channels, pool_proj, 1))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)
