"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_adam_arguments
from .buffers import add_zero_buffers, apply_decoupled_weight_decay, update_average, update_square_average
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's bias correction and options.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``), at step :math:`t`::

        g = g + weight_decay * p                   (L2; or p = p * (1 - lr * weight_decay) when decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                      (amsgrad; then v_max replaces v below)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        betas: coefficients of the running averages of the gradient and of its square.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (an L2 penalty unless ``decoupled_weight_decay``).
        amsgrad: use the running maximum of the second moment (Reddi et al., 2018).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: shrink the parameters directly as AdamW does instead of adding an L2 term.

    State per parameter: ``step`` (int), ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``
    (Tensors).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            add_zero_buffers(state, param, "exp_avg", "exp_avg_sq")
            if group["amsgrad"]:
                add_zero_buffers(state, param, "max_exp_avg_sq")
        state["step"] += 1
        step = state["step"]
        l2_weight_decay = apply_decoupled_weight_decay(param, group)
        direction = self._direction(param, grad, l2_weight_decay, group["maximize"])
        exp_avg, exp_avg_sq = state["exp_avg"].data, state["exp_avg_sq"].data
        scratch = self._buffer(param, 1)
        update_average(exp_avg, direction, beta1, scratch)
        update_square_average(exp_avg_sq, direction, beta2, scratch)
        if group["amsgrad"]:
            second_moment = np.maximum(state["max_exp_avg_sq"].data, exp_avg_sq, out=state["max_exp_avg_sq"].data)
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        denominator = np.sqrt(second_moment, out=scratch)
        denominator /= (1 - beta2 ** step) ** 0.5
        denominator += eps
        update = np.divide(exp_avg, denominator, out=scratch)
        update *= step_size
        param -= update


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``p = p * (1 - lr * weight_decay)``
    before the Adam step, instead of adding ``weight_decay * p`` to the gradient.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        betas: coefficients of the running averages of the gradient and of its square.
        eps: added to the denominator for numerical stability.
        weight_decay: decoupled weight decay coefficient.
        amsgrad: use the running maximum of the second moment.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
