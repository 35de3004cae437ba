"""RAdam: Adam whose adaptive step is rectified while the second-moment estimate is still unreliable."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_adam_arguments
from .buffers import add_zero_buffers, apply_decoupled_weight_decay, update_average, update_square_average
from .optimizer import Optimizer


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020), as PyTorch implements it.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``), at step :math:`t`::

        g = g + weight_decay * p                   (L2; or p = p * (1 - lr * weight_decay) when decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
        p = p - lr * m / (1 - beta1^t) * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)     if rho_t > 5
        p = p - lr * m / (1 - beta1^t)                                                 otherwise (SGD with momentum)

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        betas: coefficients of the running averages of the gradient and of its square.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (an L2 penalty unless ``decoupled_weight_decay``).
        decoupled_weight_decay: shrink the parameters directly (as AdamW does) instead of adding an L2 term.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int), ``exp_avg`` and ``exp_avg_sq`` (Tensors).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            add_zero_buffers(state, param, "exp_avg", "exp_avg_sq")
        state["step"] += 1
        step = state["step"]
        l2_weight_decay = apply_decoupled_weight_decay(param, group)
        direction = self._direction(param, grad, l2_weight_decay, group["maximize"])
        exp_avg, exp_avg_sq = state["exp_avg"].data, state["exp_avg_sq"].data
        scratch = self._buffer(param, 1)
        update_average(exp_avg, direction, beta1, scratch)
        update_square_average(exp_avg_sq, direction, beta2, scratch)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        # The length of the approximated simple moving average: the variance of the adaptive rate is finite
        # (and the rectification defined) only once it exceeds 4; PyTorch switches at 5.
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        update = np.divide(exp_avg, bias_correction1, out=self._buffer(param, 2))
        update *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            denominator = np.sqrt(exp_avg_sq, out=scratch)
            denominator += eps
            update /= denominator
            update *= bias_correction2 ** 0.5 * rect
        param -= update
