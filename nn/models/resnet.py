"""Residual networks (He et al. 2015, 2016): torchvision's ImageNet ResNets, the CIFAR ResNets and a
small ResNet for 8x8 digit images.

A residual block computes ``relu(x + F(x))``: the block only has to learn the change ``F`` to its
input, and the identity path carries gradients to early layers unattenuated. There is no ReLU on
``F``'s last output before the addition, so ``F`` can move the features in both directions.

Attribute names follow torchvision (``conv1, bn1, relu, conv2, bn2, conv3, bn3, downsample``;
``layer1..layer4, avgpool, fc``), so torchvision state dicts load with ``strict=True``.
"""

from __future__ import annotations

from typing import Sequence, Type

from autograd.tensor import Tensor

from .. import init
from ..containers import Sequential
from ..layers import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU
from ..module import Module


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    """3x3 convolution with padding 1 and no bias (the batch norm after it has one)."""
    return Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    """1x1 convolution without bias: mixes channels, and with a stride, subsamples."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(Module):
    """Two 3x3 conv-BN layers plus the shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: stride of the first conv (2 halves the resolution).
        downsample: module applied to ``x`` on the shortcut when its shape changes, else None (identity).

    Shape:
        - Input: ``(N, inplanes, H, W)``. Output: ``(N, planes, H / stride, W / stride)``.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(Module):
    """1x1 (reduce) - 3x3 - 1x1 (expand by 4) conv-BN layers plus the shortcut, as in torchvision's
    ResNet v1.5 (the stride sits on the 3x3 conv).

    Args:
        inplanes: input channels.
        planes: channels of the inner 3x3 conv; the output has ``4 * planes``.
        stride: stride of the 3x3 conv.
        downsample: module applied to ``x`` on the shortcut when its shape changes, else None.

    Shape:
        - Input: ``(N, inplanes, H, W)``. Output: ``(N, 4 * planes, H / stride, W / stride)``.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = BatchNorm2d(planes * self.expansion)
        self.relu = ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


Block = Type[BasicBlock] | Type[Bottleneck]


def make_stage(block: Block, inplanes: int, planes: int, blocks: int, stride: int = 1) -> Sequential:
    """``blocks`` residual blocks; the first may change the resolution (``stride``) and the width.

    When it does, the shortcut becomes a projection (1x1 conv with the same stride + batch norm),
    option B of He et al. (2015).
    """
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = Sequential(conv1x1(inplanes, planes * block.expansion, stride),
                                BatchNorm2d(planes * block.expansion))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return Sequential(*layers)


def init_resnet(model: Module) -> None:
    """torchvision's ResNet init: He normal (fan_out, relu) for convs, gamma 1 and beta 0 for batch norms."""
    for module in model.modules():
        if isinstance(module, Conv2d):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)


class ResNet(Module):
    """The ImageNet ResNet of torchvision: a 7x7/2 conv and a 3x3/2 max-pool stem, four stages of
    residual blocks (64, 128, 256, 512 channels times ``block.expansion``; stages 2-4 halve the
    resolution), global average pooling and a linear classifier.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: number of blocks in each of the four stages.
        num_classes: outputs of the classifier.

    Shape:
        - Input: ``(N, 3, H, W)``, H and W at least 32 (224 on ImageNet). Output: ``(N, num_classes)``.
    """

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 1000) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give the number of blocks of 4 stages, got {list(layers)}")
        self.conv1 = Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(64)
        self.relu = ReLU(inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = make_stage(block, 64, 64, layers[0])
        self.layer2 = make_stage(block, 64 * block.expansion, 128, layers[1], stride=2)
        self.layer3 = make_stage(block, 128 * block.expansion, 256, layers[2], stride=2)
        self.layer4 = make_stage(block, 256 * block.expansion, 512, layers[3], stride=2)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)
        init_resnet(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = 1000) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters with 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)


def resnet34(num_classes: int = 1000) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters with 1000 classes."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)


class CifarResNet(Module):
    """The ResNet of He et al. (2015), section 4.2, for small images: a 3x3 conv stem (no max-pool),
    stages of BasicBlocks whose widths double while the resolution halves, global average pooling
    and a linear classifier.

    Shortcuts that change shape use a 1x1 conv + batch norm projection (the paper's option B) rather
    than option A's zero-padded identity, so the blocks are exactly torchvision's ``BasicBlock``; this
    adds 2,752 parameters to resnet20 (272,474 instead of 269,722).

    Args:
        block: the residual block (``BasicBlock``).
        layers: number of blocks per stage.
        num_classes: outputs of the classifier.
        in_channels: channels of the input images.
        widths: channels of each stage (the stem has ``widths[0]``).

    Shape:
        - Input: ``(N, in_channels, H, W)``. Output: ``(N, num_classes)``.
    """

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 10, in_channels: int = 3,
                 widths: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        if len(layers) != len(widths):
            raise ValueError(f"CifarResNet: one block count per stage expected, got layers={list(layers)} for "
                             f"widths={list(widths)}")
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU(inplace=True)
        # Stages are named layer1, layer2, ... as in torchvision's ResNet, so state-dict keys and module
        # names (layer1.0.bn1) read the same in both families.
        self.stage_names = tuple(f"layer{index}" for index in range(1, len(layers) + 1))
        inplanes = widths[0]
        for index, (name, planes, blocks) in enumerate(zip(self.stage_names, widths, layers)):
            self.add_module(name, make_stage(block, inplanes, planes, blocks, stride=1 if index == 0 else 2))
            inplanes = planes * block.expansion
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(inplanes, num_classes)
        init_resnet(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet20(num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-20 for 32x32 CIFAR images: 3 stages of 3 BasicBlocks (16, 32, 64 channels)."""
    return CifarResNet(BasicBlock, [3, 3, 3], num_classes, in_channels)


def resnet32(num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-32 for 32x32 CIFAR images: 3 stages of 5 BasicBlocks."""
    return CifarResNet(BasicBlock, [5, 5, 5], num_classes, in_channels)


def resnet56(num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-56 for 32x32 CIFAR images: 3 stages of 9 BasicBlocks."""
    return CifarResNet(BasicBlock, [9, 9, 9], num_classes, in_channels)


def resnet_digits(num_classes: int = 10, in_channels: int = 1) -> CifarResNet:
    """A small ResNet for the bundled 8x8 grey-level digits (1 input channel by default).

    Stem 3x3 conv to 16 channels, one BasicBlock at 16 channels (8x8), one at 32 channels (4x4),
    global average pooling and a linear classifier: 19,706 parameters, fast enough to train on a CPU in
    seconds.
    """
    return CifarResNet(BasicBlock, [1, 1], num_classes, in_channels, widths=(16, 32))
