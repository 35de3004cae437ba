"""Functional interface with PyTorch's names (``import nn.functional as F``).

The ops live in ``autograd/ops/`` (forward and backward side by side); this module gathers them.
"""

from autograd.ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from autograd.ops.padding import pad

# --- convolution and pooling
from autograd.ops.conv import conv1d, conv2d, conv_transpose2d
from autograd.ops.pooling import (
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d, max_unpool2d,
)

# --- normalization, activations, losses and the rest
