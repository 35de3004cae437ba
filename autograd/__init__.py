"""gradlab's autograd: a numpy-backed Tensor that records its computation graph, and the engine
that runs it backwards.

(The top-level name ``autograd`` is gradlab's own; it is unrelated to the ``autograd`` package on PyPI.)
"""

from .anomaly import detect_anomaly
from . import graph, onnx
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
    Tensor, arange, bool_, empty, eye, float16, float32, float64, from_dlpack, from_numpy, full, int32, int64,
    linspace, ones, ones_like, rand, randint, randn, randn_like, tensor, uint8, zeros, zeros_like,
)
from .tensor import get_default_dtype, set_default_dtype
from .ops.comparison import allclose, equal, fmax, fmin, isclose
from .ops.elementwise import clamp_max, clamp_min, lerp, nan_to_num
from .ops.exponential import erf, erfc, exp2, expm1, log2, log10, logaddexp, rsqrt
from .ops.logical import (
    bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, isfinite, isinf, isnan,
    isneginf, isposinf, logical_and, logical_not, logical_or, logical_xor,
)
from .ops.promotion import promote_types, result_type
from .ops.rounding import ceil, copysign, div, floor, floor_divide, fmod, frac, remainder, round, sign, trunc
from .ops.trig import acos, acosh, asin, asinh, atan, atan2, atanh, cosh, sinh, tan


from . import linalg
from . import cuda, device
from .device import Device
from .ops.conv import fold, unfold
from .ops.indexing import (
    gather, index_add, index_copy, index_select, masked_fill, masked_scatter, masked_select, repeat_interleave,
    scatter, scatter_add, scatter_reduce, take_along_dim,
)
from .ops.linalg import addmm, baddbmm, bmm, einsum, outer
from .ops.reduction import (
    all, aminmax, any, count_nonzero, norm, std_mean, var_mean, vector_norm,
)
from .ops.scan import cummax, cummin, cumprod, cumsum, logcumsumexp, prod
from .ops.shape import (
    clone, diag, diag_embed, diagonal, meshgrid, movedim, narrow, roll, rot90, tril, triu, unbind,
)
from .ops.shape import movedim as moveaxis
from .ops.sorting import argsort, kthvalue, median, mode, nonzero, sort, topk, unique
from .tensor import as_tensor, empty_like, full_like, rand_like
