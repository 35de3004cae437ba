"""gradlab's autograd: a numpy-backed Tensor that records its computation graph, and the engine
that runs it backwards.

(The top-level name ``autograd`` is gradlab's own; it is unrelated to the ``autograd`` package on PyPI.)
"""

from .anomaly import detect_anomaly
from . import graph
from .audit import gradcheck_graph, record_inputs
from .engine import backward, grad
from .explain import explain
from .errors import DimensionError, OpError
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, check_backward, gradcheck, gradgradcheck
from .ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from .ops.elementwise import abs, clamp, clip, cos, exp, log, log1p, maximum, minimum, pow, sin, sqrt
from .ops.indexing import where
from .ops.linalg import matmul
from .ops.padding import pad
from .ops.reduction import amax, amin, argmax, argmin, logsumexp, max, mean, min, std, sum, var
from .ops.shape import cat, chunk, flatten, flip, permute, reshape, split, squeeze, stack, transpose, unsqueeze
from .random import manual_seed
from .serialization import load, save
from .tensor import (
    Tensor, arange, bool_, empty, eye, float16, float32, float64, from_numpy, full, int32, int64, linspace, ones,
    ones_like, rand, randint, randn, randn_like, tensor, uint8, zeros, zeros_like,
)

