"""Matplotlib figures: gradient flow per layer, and training curves.

matplotlib is an optional dependency (``pip install gradlab[plot]``), imported when a plot is made.
Figures are built without pyplot (no GUI backend is touched, so this works on servers and in
threads); they save through Agg, and a notebook displays a returned figure inline.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("viz plots need matplotlib: `pip install matplotlib` "
                          "(or `pip install gradlab[plot]`)") from None
    return Figure


def plot_grad_flow(model_or_named_parameters: Any, path: str | None = None) -> Any:
    """Bar chart of the mean and max |grad| of every parameter, in forward order, on a log scale.

    The classic diagnostic for vanishing and exploding gradients: in a healthy network the bars
    stay within a few decades from the first layer to the last. Parameters whose gradient is all
    zero are marked at the bottom of the chart, and those with NaN or inf in red.

    Args:
        model_or_named_parameters: a module (its ``named_parameters()`` are used) or an iterable
            of ``(name, parameter)`` pairs, after ``backward()``.
        path: where to save the figure as PNG (None: not saved).

    Returns:
        the ``matplotlib.figure.Figure``.

    Raises:
        ValueError: if no parameter has a gradient.
    """
    named = model_or_named_parameters.named_parameters() if hasattr(model_or_named_parameters, "named_parameters") \
        else model_or_named_parameters
    rows = [(name, np.abs(parameter.grad.data.astype(np.float64)))
            for name, parameter in _as_pairs(named) if parameter.grad is not None]
    if not rows:
        raise ValueError("plot_grad_flow: no parameter has a gradient; call backward() first")
    names = [name for name, _ in rows]
    means = np.array([magnitude.mean() for _, magnitude in rows])
    maxima = np.array([magnitude.max() for _, magnitude in rows])
    broken = ~np.isfinite(maxima)
    finite = np.concatenate([means[np.isfinite(means) & (means > 0)], maxima[np.isfinite(maxima) & (maxima > 0)]])
    floor = 10.0 ** math.floor(math.log10(finite.min())) / 10 if finite.size else 1e-12

    figure = _figure_class()(figsize=(max(6.0, 0.35 * len(rows) + 2), 4.5), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(rows))
    axes.bar(positions, np.where(np.isfinite(maxima), np.maximum(maxima, floor), floor), width=0.8,
             color="#9ecae1", label="max |grad|")
    axes.bar(positions, np.where(np.isfinite(means), np.maximum(means, floor), floor), width=0.45,
             color="#08519c", label="mean |grad|")
    zero = np.isfinite(maxima) & (maxima == 0)
    if zero.any():
        axes.scatter(positions[zero], np.full(zero.sum(), floor * 1.5), marker="v", color="#636363",
                     label="all zero", zorder=3)
    if broken.any():
        axes.scatter(positions[broken], np.full(broken.sum(), floor * 1.5), marker="x", color="#e60000", s=60,
                     label="NaN or inf", zorder=3)
    axes.set_yscale("log")
    axes.set_xticks(positions, names, rotation=90, fontsize=8)
    axes.set_xlim(-0.6, len(rows) - 0.4)
    axes.set_ylabel("|grad|")
    axes.set_title("Gradient flow (per parameter, forward order)")
    axes.grid(axis="y", which="major", alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def _as_pairs(named: Iterable) -> list[tuple[str, Any]]:
    return [(str(name), parameter) for name, parameter in named]


def plot_history(metrics: dict[str, list[float]], path: str | None = None) -> Any:
    """Loss and accuracy curves from training metrics.

    Args:
        metrics: a dict of equal-length lists, one entry per epoch, e.g.
            ``{"epoch": [1, 2], "train_loss": [...], "test_loss": [...], "train_acc": [...], "test_acc": [...]}``.
            ``"epoch"`` (optional) gives the x values. Keys containing ``"loss"`` are drawn in the
            loss panel, keys containing ``"acc"`` in the accuracy panel, any other numeric series
            (a learning rate, epoch time) in a third panel. A shorter series is drawn against the
            first epochs; ``None`` marks a missing value.
        path: where to save the figure as PNG (None: not saved).

    Returns:
        the ``matplotlib.figure.Figure``.

    Raises:
        ValueError: if there is nothing to plot.
    """
    series = {key: values for key, values in metrics.items() if key != "epoch" and len(values)}
    if not series:
        raise ValueError(f"plot_history: no metric to plot in keys {sorted(metrics)}")
    length = max(len(values) for values in series.values())
    epochs = list(metrics.get("epoch") or range(1, length + 1))
    panels = {"loss": [key for key in series if "loss" in key], "accuracy": [key for key in series if "acc" in key]}
    panels["other"] = [key for key in series if key not in panels["loss"] and key not in panels["accuracy"]]
    panels = {title: keys for title, keys in panels.items() if keys}

    figure = _figure_class()(figsize=(4.5 * len(panels), 3.6), layout="constrained")
    for position, (title, keys) in enumerate(panels.items(), start=1):
        axes = figure.add_subplot(1, len(panels), position)
        for key in keys:
            values = np.array([np.nan if value is None else float(value) for value in series[key]])
            style = "--" if key.startswith(("test", "val")) else "-"
            axes.plot(epochs[:len(values)], values, style, marker="o", markersize=3, label=key)
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
