"""NAdam: Adam with Nesterov momentum and a momentum schedule."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from autograd.tensor import Tensor

from .arguments import check_adam_arguments, check_non_negative
from .buffers import add_zero_buffers, apply_decoupled_weight_decay, update_average, update_square_average
from .optimizer import Optimizer


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), with PyTorch's momentum decay schedule.

    For each parameter :math:`p` with gradient :math:`g` (negated when ``maximize``), at step :math:`t`::

        g = g + weight_decay * p                   (L2; or p = p * (1 - lr * weight_decay) when decoupled)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod(mu_1..mu_t)) * g / d
              - lr * mu_{t+1} / (1 - prod(mu_1..mu_{t+1})) * m / d

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate.
        betas: coefficients of the running averages of the gradient and of its square.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (an L2 penalty unless ``decoupled_weight_decay``).
        momentum_decay: how fast the momentum coefficient ``mu_t`` approaches ``beta1``.
        decoupled_weight_decay: shrink the parameters directly (as AdamW does) instead of adding an L2 term.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step`` (int), ``mu_product`` (float), ``exp_avg`` and ``exp_avg_sq`` (Tensors).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        check_non_negative("momentum_decay", momentum_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            add_zero_buffers(state, param, "exp_avg", "exp_avg_sq")
        state["step"] += 1
        step = state["step"]
        l2_weight_decay = apply_decoupled_weight_decay(param, group)
        direction = self._direction(param, grad, l2_weight_decay, group["maximize"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * group["momentum_decay"]))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"].data, state["exp_avg_sq"].data
        scratch, denominator = self._buffer(param, 1), self._buffer(param, 2)
        update_average(exp_avg, direction, beta1, scratch)
        update_square_average(exp_avg_sq, direction, beta2, scratch)
        np.divide(exp_avg_sq, 1 - beta2 ** step, out=denominator)
        np.sqrt(denominator, out=denominator)
        denominator += eps
        # The Nesterov step: the current gradient weighted by this step's momentum, the average by the next's.
        np.divide(direction, denominator, out=scratch)
        scratch *= lr * (1.0 - mu) / (1.0 - mu_product)
        param -= scratch
        np.divide(exp_avg, denominator, out=scratch)
        scratch *= lr * mu_next / (1.0 - mu_product * mu_next)
        param -= scratch
