"""Normalization layers: ``BatchNorm1d``, ``BatchNorm2d``, ``SyncBatchNorm``, ``LayerNorm``, ``GroupNorm``,
``InstanceNorm1d``, ``InstanceNorm2d``, ``InstanceNorm3d``, ``LocalResponseNorm``."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from autograd import distributed
from autograd.errors import OpError
from autograd.grad_mode import no_grad
from autograd.ops.normalization import check_eps
from autograd.ops.shape import cat
from autograd.tensor import Tensor, tensor

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; the subclasses only check the input's dimensions."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        check_eps(type(self).__name__, eps)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.empty(num_features, np.float32))
            self.bias = Parameter(np.empty(num_features, np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Reset the running statistics, and gamma to 1 and beta to 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def _check_input(self, input: Tensor) -> None:
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise OpError(f"{type(self).__name__}: expected {self.num_features} channels in dimension 1, "
                          f"got input of shape {input.shape}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        # Without running statistics, batch statistics are used in evaluation too.
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, use_batch_stats,
                            self._count_batch(), self.eps)

    def _count_batch(self) -> float:
        """Count the batch being normalised (in training) and return its weight in the running estimates."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            # momentum=None: running statistics are the plain average of all batches seen so far.
            if self.momentum is None:
                factor = 1.0 / int(self.num_batches_tracked.data)
        return factor

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization (Ioffe & Szegedy 2015) over a batch of vectors or sequences.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta``, with per-feature mean and (biased) variance of
    the batch in training, and the running estimates in evaluation. The running estimates are updated
    as ``running = (1 - momentum) * running + momentum * batch`` (unbiased batch variance), or with the
    cumulative average when ``momentum=None``.

    Args:
        num_features: C, the number of features or channels.
        eps: added to the variance for numerical stability (positive).
        momentum: weight of the newest batch in the running estimates, or None for the cumulative average.
        affine: learn gamma (``weight``) and beta (``bias``).
        track_running_stats: keep running estimates; without them batch statistics are used in eval too.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``. Output: same shape.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over the N, H and W dimensions of images, one mean/variance per channel.

    Arguments and running statistics as in ``BatchNorm1d``.

    Shape:
        - Input: ``(N, C, H, W)``. Output: same shape.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"BatchNorm2d: expected 4D input (got {input.ndim}D input)")


class SyncBatchNorm(_BatchNorm):
    """Batch normalization with the statistics of the whole batch across the ranks of data-parallel training.

    In training, the per-channel mean and variance are those of every rank's batch together (allreduces in
    forward, and their adjoints in backward), so that N ranks with batches of B compute what ``BatchNorm`` does in
    one process with the batch of N * B: outputs, input gradients, the running statistics, and (once
    ``DistributedDataParallel`` has averaged them) weight and bias gradients. Every rank must run the same
    SyncBatchNorm layers in the same order. In evaluation, and in a world of one process, it is ``BatchNorm``.

    It is written with Tensor ops and a differentiable all-reduce (``distributed.all_reduce_sum``), so its gradients can be
    differentiated again; it makes two allreduces of C + 1 and C values in forward and two of C in backward.

    Arguments and running statistics as in ``BatchNorm1d``.

    Shape:
        - Input: ``(N, C, *)``. Output: same shape.

    Example::

        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(resnet20())
        >>> ddp = DistributedDataParallel(model)
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        if not (self.training and distributed.is_initialized() and distributed.get_world_size() > 1):
            return super().forward(input)
        self._check_input(input)
        factor = self._count_batch()
        x, weight, bias = input, self.weight, self.bias
        # float16 is normalised in float32, as batch_norm does: its sums over a channel overflow.
        half = input.dtype == np.float16
        if half:
            x = input.float()
            if weight is not None:
                weight, bias = weight.float(), bias.float()
        channels = x.shape[1]
        axes = (0, *range(2, x.ndim))
        shape = (1, channels) + (1,) * (x.ndim - 2)
        # The value count travels with the sums: the ranks' batches may differ in size (an epoch's last batch).
        local = cat([x.sum(axes), tensor([x.data.size // channels], dtype=x.dtype)])
        totals = distributed.all_reduce_sum(local)
        count = float(totals.data[channels])
        if count <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when training, got {count:.0f} "
                             f"across the ranks")
        mean = totals[:channels] / count
        centred = x - mean.reshape(shape)
        var = distributed.all_reduce_sum((centred * centred).sum(axes)) / count
        result = centred * ((var + self.eps) ** -0.5).reshape(shape)
        if weight is not None:
            result = result * weight.reshape(shape) + bias.reshape(shape)
        if self.track_running_stats:
            with no_grad():
                self.running_mean.mul_(1.0 - factor).add_(mean.data, alpha=factor)
                # The running estimate uses the unbiased variance, as in BatchNorm.
                self.running_var.mul_(1.0 - factor).add_(var.data * (count / (count - 1)), alpha=factor)
        return result.to(np.float16) if half else result

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """``module`` with every ``BatchNorm1d``/``BatchNorm2d`` in it replaced by a ``SyncBatchNorm`` that shares
        its parameters and running statistics, as PyTorch's.

        Args:
            module: a model, or one batch norm layer.

        Returns:
            ``module``, its batch norm layers replaced in place; or, for a batch norm layer, its SyncBatchNorm.
        """
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats)
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            converted.running_mean, converted.running_var = module.running_mean, module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child))
        return converted


class LayerNorm(Module):
    """Layer normalization (Ba et al. 2016): normalise each sample over its last dimensions.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last dimension).
        eps: added to the variance for numerical stability (positive).
        elementwise_affine: learn a per-element ``weight`` (ones) and ``bias`` (zeros).
        bias: learn the bias too (when ``elementwise_affine``).

    Shape:
        - Input: ``(*, *normalized_shape)``. Output: same shape.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        check_eps("LayerNorm", eps)
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.empty(self.normalized_shape, np.float32))
            if bias:
                self.bias = Parameter(np.empty(self.normalized_shape, np.float32))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight 1 and bias 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization (Wu & He 2018): normalise each sample over groups of channels (and all positions).

    Args:
        num_groups: number of groups the channels are split into.
        num_channels: C, must be divisible by ``num_groups``.
        eps: added to the variance for numerical stability (positive).
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).

    Shape:
        - Input: ``(N, C, *)``. Output: same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        check_eps("GroupNorm", eps)
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(np.empty(num_channels, np.float32))
            self.bias = Parameter(np.empty(num_channels, np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight 1 and bias 0."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    """Shared by InstanceNorm1d, 2d and 3d: BatchNorm's parameters and buffers (so state dicts match PyTorch's),
    with PyTorch's instance-norm defaults ``affine=False, track_running_stats=False``."""

    spatial_dims = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if input.ndim not in (self.spatial_dims + 1, self.spatial_dims + 2):
            raise ValueError(f"{name}: expected {self.spatial_dims + 1}D or {self.spatial_dims + 2}D input "
                             f"(got {input.ndim}D input)")
        batched = input.ndim == self.spatial_dims + 2
        x = input if batched else input.unsqueeze(0)
        # Without parameters or statistics the channel count is not used, and PyTorch only warns about it.
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise OpError(f"{name}: expected {self.num_features} channels, got input of shape {input.shape}")
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        result = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                                 momentum, self.eps)
        return result if batched else result.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of sequences: each channel of each sample normalised over its L positions.

    Args:
        num_features: C.
        eps: added to the variance (positive).
        momentum: weight of the newest batch in the running estimates (None counts as 0, as in PyTorch).
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros); default False.
        track_running_stats: keep running estimates and use them in evaluation; default False.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``. Output: same shape.
    """

    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of images (style transfer's normalization): each channel of each sample
    normalised over its H * W positions. Arguments as in ``InstanceNorm1d``.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``. Output: same shape.
    """

    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of volumes: each channel of each sample normalised over its D * H * W positions.
    Arguments as in ``InstanceNorm1d``.

    Shape:
        - Input: ``(N, C, D, H, W)`` or ``(C, D, H, W)``. Output: same shape.
    """

    spatial_dims = 3


class LocalResponseNorm(Module):
    """Local response normalization across channels (AlexNet):
    ``y_c = x_c / (k + alpha / size * sum of x^2 over the size channels around c) ^ beta``.

    Args:
        size: number of neighbouring channels in the window.
        alpha: multiplier (default 1e-4).
        beta: exponent (default 0.75).
        k: additive constant (default 1).

    Shape:
        - Input: ``(N, C, *)``. Output: same shape.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
