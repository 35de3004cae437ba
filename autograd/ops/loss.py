"""Losses: cross_entropy (fused log-softmax + NLL), nll_loss, mse, l1, smooth_l1, huber and binary
cross-entropy on probabilities and on logits.

Cross-entropy is one op: log-softmax followed by a pick would exponentiate, take a log and subtract
the same large numbers twice, while the fused form works with ``x - max(x)`` throughout (logits of
any magnitude give exact, finite losses) and its gradient is simply ``softmax - target``. The other
losses are compositions of Tensor ops. Reductions and weights follow PyTorch's documented formulas:
``'mean'`` of class-index losses divides by the summed weights of the targets that are not ignored.

Float16 inputs: the reductions add in float32 and round the result (``reduction.accumulation_dtype``), and
cross-entropy and NLL run in float32 throughout, since their ``'mean'`` divides by a count of targets that
float16 cannot hold past 2048 (exactly) or 65504 (at all).

The deprecated ``size_average``/``reduce`` arguments of PyTorch are not accepted; where PyTorch has
them in its positional order, the arguments after them are keyword-only here, so a positional call
cannot bind differently from PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import OpError
from ..function import Function
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor, wrap
from .activation import LogSoftmax, Softmax, Softplus
from .indexing import where
from .reduction import HALF, check_floating

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_pair(op: str, input: Tensor, target: Tensor) -> None:
    """A float input and a target of the same shape (elementwise losses, probability targets)."""
    check_floating(op, input)
    if tuple(input.shape) != tuple(target.shape):
        raise OpError(f"{op}: target shape {tuple(target.shape)} does not match input shape {tuple(input.shape)}")


def _class_weight(op: str, weight: Tensor | None, classes: int, dtype: np.dtype) -> np.ndarray | None:
    """The per-class weight as an ndarray of the input's dtype (no gradient flows to it, as in PyTorch)."""
    if weight is None:
        return None
    if tuple(weight.shape) != (classes,):
        raise OpError(f"{op}: weight has shape {tuple(weight.shape)}, expected ({classes},) (one per class)")
    return weight.data.astype(dtype, copy=False)


def _class_targets(op: str, input_shape: tuple, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                   dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check class-index targets against an (N, C, d1, ...) input.

    Returns:
        (the targets with ignored entries replaced by class 0, so they can index safely; the weight of
        each item's class, 0 where ignored; the mask of items that are not ignored).
    """
    expected = (input_shape[0],) + tuple(input_shape[2:])
    if target.shape != expected:
        # PyTorch reports a batch size that differs as a ValueError, other dimensions as a RuntimeError.
        error = ValueError if target.shape[:1] != expected[:1] else OpError
        raise error(f"{op}: expected a target of shape {expected} for an input of shape {input_shape}, "
                    f"got {target.shape}")
    if target.dtype.kind not in "iu":
        raise OpError(f"{op}: class-index targets must be integers, got dtype {target.dtype}")
    classes = input_shape[1]
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= classes))
    if bad.any():
        raise OpError(f"{op}: target class index {int(target[bad][0])} is out of range for {classes} classes "
                      f"(expected 0 to {classes - 1}, or ignore_index={ignore_index})")
    safe = np.where(valid, target, 0)
    item_weight = (np.ones_like(target, dtype=dtype) if weight is None else weight[safe]) * valid  # on its device
    return safe, item_weight.astype(dtype, copy=False), valid


def _batched(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor, bool]:
    """Add a batch dimension to an unbatched (C,) input and its target, as PyTorch accepts both."""
    if input.ndim == 0:
        raise OpError(f"{op}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    if input.ndim == 1:
        return input.unsqueeze(0), target.unsqueeze(0), True
    return input, target, False


class CrossEntropy(Function):
    """loss_i = sum_c q_ic * (logsumexp(x_i) - x_ic) with q_i the (weighted, smoothed) target distribution;
    dx_i = g_i * (s_i * softmax(x_i) - q_i), s_i = sum_c q_ic, the classes along dimension 1."""

    def attributes(self) -> dict[str, Any]:
        shown = {} if self.reduction == "mean" else {"reduction": self.reduction}
        if self.label_smoothing:
            shown["label_smoothing"] = self.label_smoothing
        return shown

    @staticmethod
    def forward(ctx, x: Tensor, target: Tensor | np.ndarray, weight: np.ndarray | None, ignore_index: int,
                reduction: str, label_smoothing: float) -> np.ndarray:
        data = x.data
        classes = data.shape[1]
        # Everything below works with x - max(x) <= 0: exp cannot overflow, and the loss
        # log(sum(exp(shifted))) - shifted[target] never subtracts two huge numbers.
        shifted = data - data.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        log_sums = np.log(sums)
        smoothing = label_smoothing / classes
        weight_b = None if weight is None else weight.reshape((1, classes) + (1,) * (data.ndim - 2))
        if isinstance(target, Tensor):
            q = target.data * (1.0 - label_smoothing) + smoothing
            if weight_b is not None:
                q = q * weight_b
            items = q.sum(axis=1, keepdims=True) * log_sums - (q * shifted).sum(axis=1, keepdims=True)
            count = data.size // classes
        else:
            safe, item_weight, valid = _class_targets("cross_entropy", data.shape, target, weight, ignore_index,
                                                      data.dtype)
            safe, item_weight, valid = safe[:, None], item_weight[:, None], valid[:, None]
            picked = np.take_along_axis(shifted, safe, axis=1)
            items = (item_weight * (1.0 - label_smoothing)) * (log_sums - picked)
            if label_smoothing:
                # sum_c w_c * (logsumexp - x_c), over the items that are not ignored
                if weight_b is None:
                    spread = classes * log_sums - shifted.sum(axis=1, keepdims=True)
                else:
                    spread = weight.sum() * log_sums - (shifted * weight_b).sum(axis=1, keepdims=True)
                items = items + smoothing * spread * valid
            count = item_weight.sum()
            ctx.safe, ctx.item_weight, ctx.valid = safe, item_weight, valid
        ctx.weight_b, ctx.label_smoothing, ctx.reduction, ctx.count = weight_b, label_smoothing, reduction, count
        ctx.save_for_backward(x, target, exps, sums)
        items = items[:, 0]
        if reduction == "none":
            return items
        total = items.sum()
        if reduction == "sum":
            return total
        # Every target ignored: 0 / 0 = nan, as in PyTorch.
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, target, exps, sums = ctx.saved_tensors
        if ctx.reduction == "none":
            grad = grad.unsqueeze(1)
        elif ctx.reduction == "mean":
            # Every target ignored (count 0): the loss is nan, but no item contributes, so the gradient
            # is 0 as in PyTorch rather than 0 * inf = nan.
            grad = grad * (1.0 / ctx.count if ctx.count else 0.0)
        classes = x.shape[1]
        smoothing = ctx.label_smoothing / classes
        weight_b = ctx.weight_b
        if isinstance(target, Tensor):
            q = target * (1.0 - ctx.label_smoothing) + smoothing
            if weight_b is not None:
                q = q * weight_b
            total = q.sum(1, keepdim=True)
        else:
            total = ctx.item_weight * (1.0 - ctx.label_smoothing)
            if ctx.label_smoothing:
                total = total + smoothing * (classes if weight_b is None else weight_b.sum()) * ctx.valid
            total = wrap(total.astype(x.dtype, copy=False))
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            coefficient = total * grad
            if is_grad_enabled():
                # create_graph: softmax must be a function of x (the Softmax op) for the second derivative.
                grad_input = Softmax.apply(x, 1) * coefficient
            else:
                # softmax * c = exps * (c / sums): one full-size pass, with the exps kept from the forward.
                grad_input = wrap(exps) * (coefficient / wrap(sums))
            if isinstance(target, Tensor):
                grad_input = grad_input - q * grad
            else:
                # q = (1 - eps) w[t] at each item's target class, plus eps / C * w over every class.
                q = np.zeros_like(x.data)
                np.put_along_axis(q, ctx.safe, ctx.item_weight * (1.0 - ctx.label_smoothing), axis=1)
                if ctx.label_smoothing:
                    q += smoothing * (1.0 if weight_b is None else weight_b) * ctx.valid
                grad_input = grad_input - wrap(q) * grad
        if ctx.needs_input_grad[1]:
            log_probs = LogSoftmax.apply(x, 1) * (ctx.label_smoothing - 1.0)
            grad_target = (log_probs if weight_b is None else log_probs * weight_b) * grad
        return grad_input, grad_target, None, None, None, None


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between the softmax of ``input`` along dimension 1 and ``target``.

    For a class index t_i with weights w and smoothing eps over C classes, item i costs
    ``(1 - eps) * w[t_i] * -log p_i[t_i] + eps / C * sum_c w[c] * -log p_i[c]``; for a
    probability target ``-sum_c w[c] * ((1 - eps) t_ic + eps / C) * log p_ic``.

    Args:
        input: logits (C,), (N, C) or (N, C, d1, ...).
        target: class indices (), (N) or (N, d1, ...) (integer dtype), or class probabilities of
            the input's shape (float dtype; these receive a gradient too).
        weight: (C,) weight of each class, or None.
        ignore_index: class-index targets equal to it contribute nothing (not to the mean's
            denominator either). Only the default is accepted with probability targets.
        reduction: ``'none'`` (per item), ``'sum'``, or ``'mean'``: for class indices the sum
            divided by the summed weights of the items that are not ignored, for probabilities the
            sum divided by the number of items.
        label_smoothing: eps in [0, 1], mixing the target with the uniform distribution.

    Returns:
        The loss: a scalar, or per item for ``reduction='none'``.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise OpError(f"cross_entropy: label_smoothing must be between 0 and 1, got {label_smoothing}")
    check_floating("cross_entropy", input)
    if not isinstance(target, Tensor):
        target = Tensor(target)
    if input.dtype == HALF:
        target = target.float() if target.dtype == HALF else target
        return cross_entropy(input.float(), target, weight, ignore_index=ignore_index, reduction=reduction,
                             label_smoothing=label_smoothing).to(HALF)
    input, target, unbatched = _batched(input, target, "cross_entropy")
    weight_array = _class_weight("cross_entropy", weight, input.shape[1], input.dtype)
    if target.dtype.kind == "f":
        _check_pair("cross_entropy", input, target)
        if ignore_index != -100:
            raise OpError(f"cross_entropy: ignore_index ({ignore_index}) applies to class-index targets only, "
                          f"not to probability targets")
        loss = CrossEntropy.apply(input, target, weight_array, ignore_index, reduction, label_smoothing)
    else:
        loss = CrossEntropy.apply(input, target.data, weight_array, ignore_index, reduction, label_smoothing)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets, given log-probabilities (``log_softmax`` output).

    Item i costs ``-w[t_i] * input[i, t_i]`` (a composition: a gather and a product).

    Args:
        input: log-probabilities (C,), (N, C) or (N, C, d1, ...).
        target: class indices (), (N) or (N, d1, ...).
        weight: (C,) weight of each class, or None.
        ignore_index: targets equal to it contribute nothing.
        reduction: ``'none'``, ``'sum'``, or ``'mean'`` (divided by the summed weights of the items
            that are not ignored).

    Returns:
        The loss: a scalar, or per item for ``reduction='none'``.
    """
    _check_reduction(reduction, "nll_loss")
    check_floating("nll_loss", input)
    if not isinstance(target, Tensor):
        target = Tensor(target)
    if input.dtype == HALF:
        return nll_loss(input.float(), target, weight, ignore_index=ignore_index, reduction=reduction).to(HALF)
    input, target, unbatched = _batched(input, target, "nll_loss")
    weight_array = _class_weight("nll_loss", weight, input.shape[1], input.dtype)
    safe, item_weight, _ = _class_targets("nll_loss", input.shape, target.data, weight_array, ignore_index,
                                          input.dtype)
    items = input.gather(1, safe[:, None]).squeeze(1) * -item_weight
    if reduction == "none":
        return items.squeeze(0) if unbatched else items
    if reduction == "sum":
        return items.sum()
    total = item_weight.sum()
    if not total:
        # Every target ignored: the loss is 0 / 0 = nan as in PyTorch, but its gradient is 0, not nan.
        return items.sum() * 0.0 + float("nan")
    return items.sum() / total


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Mean squared error: (input - target)**2, reduced.

    Args:
        input: any shape.
        target: the same shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Returns:
        A scalar, or the input's shape for ``reduction='none'``.
    """
    _check_reduction(reduction, "mse_loss")
    _check_pair("mse_loss", input, target)
    difference = input - target
    return _reduce(difference * difference, reduction)


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Mean absolute error: |input - target|, reduced.

    Args:
        input: any shape.
        target: the same shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Returns:
        A scalar, or the input's shape for ``reduction='none'``.
    """
    _check_reduction(reduction, "l1_loss")
    _check_pair("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target), reduced.

    Args:
        input: any shape.
        target: the same shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        beta: where the quadratic part hands over to the linear one; 0 gives the L1 loss.

    Returns:
        A scalar, or the input's shape for ``reduction='none'``.
    """
    _check_reduction(reduction, "smooth_l1_loss")
    _check_pair("smooth_l1_loss", input, target)
    if beta < 0:
        raise OpError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    difference = input - target
    absolute = difference.abs()
    if beta == 0:
        return _reduce(absolute, reduction)
    return _reduce(where(absolute.data < beta, difference * difference * (0.5 / beta), absolute - 0.5 * beta),
                   reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d**2 where |d| < delta, delta * (|d| - 0.5 delta) elsewhere (d = input - target), reduced.

    Equal to ``delta * smooth_l1_loss(beta=delta)``.

    Args:
        input: any shape.
        target: the same shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        delta: where the quadratic part hands over to the linear one (positive).

    Returns:
        A scalar, or the input's shape for ``reduction='none'``.
    """
    _check_reduction(reduction, "huber_loss")
    _check_pair("huber_loss", input, target)
    if delta <= 0:
        raise OpError(f"huber_loss: delta must be positive, got {delta}")
    difference = input - target
    absolute = difference.abs()
    return _reduce(where(absolute.data < delta, difference * difference * 0.5, (absolute - 0.5 * delta) * delta),
                   reduction)


class BinaryCrossEntropy(Function):
    """y = -(t log x + (1 - t) log(1 - x)), each log clamped at -100 (so x = 0 or 1 stays finite);
    dx = grad * (x - t) / max(x (1 - x), 1e-12),  dt = grad * (log(1 - x) - log x)."""

    @staticmethod
    def forward(ctx, x: Tensor, target: Tensor) -> np.ndarray:
        ctx.save_for_backward(x, target)
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x.data), -100.0)
            log_rest = np.maximum(np.log1p(-x.data), -100.0)
        return -(target.data * (log_x - log_rest) + log_rest)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, target = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            # The O(1) ratio first, then one product with the (small: 1 / N for a mean) output gradient, so float16
            # rounds into its subnormal range once.
            grad_input = grad * ((x - target) / (x * (1.0 - x)).clamp(min=1e-12))
        if ctx.needs_input_grad[1]:
            grad_target = grad * ((1.0 - x).log().clamp(min=-100.0) - x.log().clamp(min=-100.0))
        return grad_input, grad_target


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target``:
    -w (t log x + (1 - t) log(1 - x)), with each log clamped at -100 as in PyTorch.

    Prefer ``binary_cross_entropy_with_logits`` after a sigmoid: it is exact for extreme logits.

    Args:
        input: probabilities in [0, 1], any shape.
        target: the same shape, values in [0, 1].
        weight: broadcastable rescaling of each element's loss, or None.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.

    Returns:
        A scalar, or the input's shape for ``reduction='none'``.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=input.dtype)
    _check_pair("binary_cross_entropy", input, target)
    if input.data.size and (input.data.min() < 0 or input.data.max() > 1):
        raise OpError(f"binary_cross_entropy: input values must be between 0 and 1, got values from "
                      f"{input.data.min()} to {input.data.max()}")
    loss = BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy on logits x: -w (p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))).

    Computed as ``p t softplus(-x) + (1 - t) softplus(x)``, with a softplus that never overflows,
    so logits of any magnitude give exact, finite losses (a composition of Tensor ops).

    Args:
        input: logits, any shape.
        target: the same shape, values in [0, 1].
        weight: broadcastable rescaling of each element's loss, or None.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        pos_weight: weight p of the positive term, broadcast along the last dimension (one per
            class), or None.

    Returns:
        A scalar, or the input's shape for ``reduction='none'``.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=input.dtype)
    _check_pair("binary_cross_entropy_with_logits", input, target)
    # -log sigmoid(x) = softplus(-x) and -log(1 - sigmoid(x)) = softplus(x): a sum of two
    # non-negative terms, so nothing cancels (the form (1 - t) x + softplus(-x) loses all
    # relative accuracy at x = -30, t = 0).
    positive = target * Softplus.apply(-input)
    if pos_weight is not None:
        positive = positive * pos_weight
    loss = (1.0 - target) * Softplus.apply(input) + positive
    return _reduce(loss if weight is None else loss * weight, reduction)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """One-hot encoding of class indices (int64, no gradient).

    Args:
        tensor: integer class indices of any shape.
        num_classes: number of classes C; -1 means one more than the largest index.

    Returns:
        (*tensor.shape, C) int64 tensor with a single 1 per index.
    """
    data = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if data.dtype.kind not in "iu":
        raise OpError(f"one_hot: expected an integer tensor of class indices, got dtype {data.dtype}")
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise OpError(f"one_hot: class values must be in [0, {num_classes}), got values from {data.min()} to "
                      f"{data.max()}")
    return wrap((data[..., None] == np.arange(num_classes)).astype(np.int64))
