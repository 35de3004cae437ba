"""LeNet-5 (LeCun et al. 1998) with the modern substitutions: max-pooling for the trainable
subsampling layers and ReLU for the scaled tanh."""

from __future__ import annotations

from autograd.tensor import Tensor

from .. import functional as F
from ..layers import Conv2d, Linear, MaxPool2d
from ..module import Module


class LeNet5(Module):
    """C1-S2-C3-S4-C5-F6-output, with the paper's layer names as attributes.

    ====== ============================ ===============
    layer  operation                    output (N, ...)
    ====== ============================ ===============
    c1     conv 5x5, 6 filters + ReLU   6 x 28 x 28
    s2     max-pool 2x2, stride 2       6 x 14 x 14
    c3     conv 5x5, 16 filters + ReLU  16 x 10 x 10
    s4     max-pool 2x2, stride 2       16 x 5 x 5
    c5     conv 5x5, 120 filters + ReLU 120 x 1 x 1
    f6     linear 120 -> 84 + ReLU      84
    output linear 84 -> num_classes     num_classes
    ====== ============================ ===============

    C3 connects to all six S2 maps (the paper used a hand-chosen sparse table). 61,706 parameters
    with 10 classes.

    Args:
        num_classes: outputs of the last layer (logits, no softmax).
        in_channels: channels of the input images.

    Shape:
        - Input: ``(N, in_channels, 32, 32)``. Output: ``(N, num_classes)``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.c1 = Conv2d(in_channels, 6, kernel_size=5)
        self.s2 = MaxPool2d(kernel_size=2, stride=2)
        self.c3 = Conv2d(6, 16, kernel_size=5)
        self.s4 = MaxPool2d(kernel_size=2, stride=2)
        self.c5 = Conv2d(16, 120, kernel_size=5)
        self.f6 = Linear(120, 84)
        self.output = Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.s2(F.relu(self.c1(x)))
        x = self.s4(F.relu(self.c3(x)))
        x = F.relu(self.c5(x)).flatten(1)
        return self.output(F.relu(self.f6(x)))
