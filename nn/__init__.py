"""Neural-network building blocks: modules, layers, init, functional ops, models and data."""

from . import data, functional, init, models, ops, parallel, utils
from .containers import ModuleDict, ModuleList, ParameterList, Sequential
from .layers import (
    ELU, GELU, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, AvgPool3d, BatchNorm1d, BatchNorm2d, BCELoss,
    BCEWithLogitsLoss, Conv1d, Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d, CrossEntropyLoss, Dropout,
    Dropout2d, Flatten, GroupNorm, HuberLoss, Identity, L1Loss, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d,
    MaxPool3d, MaxUnpool2d, MSELoss, NLLLoss, ReLU, Sigmoid, SiLU, SmoothL1Loss, Softmax, SyncBatchNorm, Tanh,
    Unflatten, Upsample,
)
from .layers import (
    CELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, PReLU, ReLU6, Softmin, Softplus, Softsign,
    Threshold,
)
from .layers import (
    GRU, LSTM, RNN, AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, CircularPad1d, CircularPad2d, CircularPad3d,
    ConstantPad1d, ConstantPad2d, ConstantPad3d, Embedding, GRUCell, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
    LocalResponseNorm, LPPool1d, LPPool2d, LSTMCell, MaxPool1d, MultiheadAttention, PixelShuffle, PixelUnshuffle,
    ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, RNNBase,
    RNNCell, RNNCellBase, UpsamplingBilinear2d, UpsamplingNearest2d, ZeroPad1d, ZeroPad2d, ZeroPad3d,
)
from .module import Module
from .parameter import Parameter
