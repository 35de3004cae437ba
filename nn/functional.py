"""Functional interface with PyTorch's names (``import nn.functional as F``).

The ops live in ``autograd/ops/`` (forward and backward side by side); this module gathers them.
"""

from autograd.ops.activation import (
    dropout, dropout2d, elu, gelu, hardtanh, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh,
)
from autograd.ops.activation import (
    celu, glu, hardsigmoid, hardswish, logsigmoid, mish, normalize, prelu, relu6, selu, softmin, softplus, softsign,
    threshold,
)
from autograd.ops.conv import conv1d, conv2d, conv3d, conv_transpose2d, conv_transpose3d
from autograd.ops.linalg import linear
from autograd.ops.loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, l1_loss, mse_loss, nll_loss,
    one_hot, smooth_l1_loss,
)
from autograd.ops.normalization import batch_norm, group_norm, layer_norm
from autograd.ops.padding import pad
from autograd.ops.pooling import (
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, avg_pool3d, max_pool2d, max_pool3d, max_unpool2d,
)
from autograd.ops.resize import interpolate
from autograd.ops.attention import scaled_dot_product_attention
from autograd.ops.embedding import embedding
from autograd.ops.normalization import instance_norm, local_response_norm
from autograd.ops.pooling import (
    adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, lp_pool1d, lp_pool2d, max_pool1d,
)
from autograd.ops.resize import pixel_shuffle, pixel_unshuffle
from autograd.ops.sampling import affine_grid, grid_sample
from autograd.ops.conv import fold, unfold
