"""Reference models: the ResNet family, LeNet-5 and the VGG and Inception blocks."""

from .inception import Inception
from .lenet import LeNet5
from .resnet import (
    BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34, resnet50, resnet56,
    resnet_digits,
)
from .vgg import VGGBlock
