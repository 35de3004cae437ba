"""Neural-network building blocks: modules, layers, init, functional ops, models and data."""

from . import functional
from .containers import ModuleDict, ModuleList, ParameterList, Sequential
from .layers import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, ELU, GELU, HuberLoss, L1Loss, LeakyReLU, LogSoftmax, MSELoss,
    NLLLoss, ReLU, SiLU, Sigmoid, SmoothL1Loss, Softmax, Tanh, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d,
    BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose2d, Dropout, Dropout2d, Flatten, GroupNorm, Identity,
    LayerNorm, Linear, MaxPool2d, MaxUnpool2d, Unflatten, Upsample,
)
from .module import Module
from .parameter import Parameter
from . import init, models, utils
