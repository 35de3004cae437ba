"""Neural-network building blocks: modules, layers, init, functional ops, models and data."""

from . import data, functional, init, models, parallel, utils
from .containers import ModuleDict, ModuleList, ParameterList, Sequential
from .layers import (
    ELU, GELU, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, AvgPool3d, BatchNorm1d, BatchNorm2d, BCELoss,
    BCEWithLogitsLoss, Conv1d, Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d, CrossEntropyLoss, Dropout,
    Dropout2d, Flatten, GroupNorm, HuberLoss, Identity, L1Loss, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d,
    MaxPool3d, MaxUnpool2d, MSELoss, NLLLoss, ReLU, Sigmoid, SiLU, SmoothL1Loss, Softmax, SyncBatchNorm, Tanh,
    Unflatten, Upsample,
)
from .module import Module
from .parameter import Parameter
