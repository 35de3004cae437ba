"""Hyperparameter checks shared by the optimizers, raising ``ValueError`` with PyTorch's messages.

``check_adam_arguments`` is the check of the Adam family (Adam, AdamW, NAdam, RAdam, Adamax); the pieces it is
made of serve the optimizers with other hyperparameters.
"""

from __future__ import annotations


def check_learning_rate(lr: float) -> None:
    """Refuse a negative learning rate.

    Raises:
        ValueError: ``Invalid learning rate: {lr}``.
    """
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_non_negative(name: str, value: float) -> None:
    """Refuse a negative hyperparameter (PyTorch calls ``eps`` "epsilon" in this message).

    Args:
        name: the name the message uses, e.g. ``"weight_decay"``.
        value: the value to check.

    Raises:
        ValueError: ``Invalid {name} value: {value}``.
    """
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name} value: {value}")


def check_betas(betas: tuple[float, float]) -> None:
    """Refuse a running-average coefficient outside [0, 1).

    Raises:
        ValueError: ``Invalid beta parameter at index {index}: {beta}``.
    """
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


def check_adam_arguments(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    """The Adam family's checks, in PyTorch's order: ``lr``, ``eps``, ``betas``, ``weight_decay``.

    Raises:
        ValueError: the first hyperparameter out of its range, named as PyTorch names it.
    """
    check_learning_rate(lr)
    check_non_negative("epsilon", eps)
    check_betas(betas)
    check_non_negative("weight_decay", weight_decay)
