"""Loss functions as modules: ``CrossEntropyLoss``, ``NLLLoss``, ``MSELoss``, ``L1Loss``, ``SmoothL1Loss``,
``HuberLoss``, ``BCELoss``, ``BCEWithLogitsLoss``.

Each is a thin module over the function of the same name in ``nn.functional``. PyTorch's deprecated
``size_average`` and ``reduce`` arguments are left out, so the arguments after ``weight`` are
keyword-only (``reduction='mean' | 'sum' | 'none'``); class weights are registered as buffers, as in
PyTorch, so they follow ``to(dtype)`` and appear in ``state_dict()``.
"""

from __future__ import annotations

from autograd.tensor import Tensor

from .. import functional as F
from ..module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction


class CrossEntropyLoss(_Loss):
    """Cross entropy between logits and class indices (or class probabilities): log-softmax and
    negative log-likelihood fused, so it is stable for any logits.

    Args:
        weight: ``(C,)`` rescaling weight per class.
        ignore_index: targets with this class index contribute nothing (nor to the mean's divisor).
        reduction: ``'mean'`` (weighted mean over the batch), ``'sum'`` or ``'none'``.
        label_smoothing: mix the one-hot target with the uniform distribution by this amount.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, d1, ...)`` logits.
        - Target: ``(N)`` or ``(N, d1, ...)`` int64 class indices, or probabilities shaped like the input.
        - Output: scalar, or ``(N, d1, ...)`` with ``reduction='none'``.
    """

    def __init__(self, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices given log-probabilities (e.g. from ``LogSoftmax``).

    Args:
        weight: ``(C,)`` rescaling weight per class.
        ignore_index: targets with this class index contribute nothing.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, d1, ...)``. Target: ``(N)`` or ``(N, d1, ...)`` int64.
    """

    def __init__(self, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(x - y)^2``.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        - Input and target: the same shape.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|x - y|``.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        - Input and target: the same shape.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 (x - y)^2 / beta`` where ``|x - y| < beta``, ``|x - y| - 0.5 beta`` elsewhere.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        beta: where the quadratic part turns linear (default 1).

    Shape:
        - Input and target: the same shape.
    """

    def __init__(self, *, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 (x - y)^2`` where ``|x - y| < delta``, ``delta (|x - y| - 0.5 delta)`` elsewhere.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        delta: where the quadratic part turns linear (default 1).

    Shape:
        - Input and target: the same shape.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Binary cross entropy ``-(y log x + (1 - y) log(1 - x))`` of probabilities ``x``.

    Args:
        weight: rescaling weight broadcast against the input.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Shape:
        - Input and target: the same shape, input in [0, 1].
    """

    def __init__(self, weight: Tensor | None = None, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross entropy fused, stable for any logits.

    Args:
        weight: rescaling weight broadcast against the input.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: weight of the positive term per class (broadcast along the last dimension).

    Shape:
        - Input and target: the same shape.
    """

    def __init__(self, weight: Tensor | None = None, *, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
