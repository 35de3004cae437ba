"""Matplotlib figures: gradient flow per layer, training curves, finite-difference error against step size, and
the error maps of a hand-written backward.

matplotlib is an optional dependency (``pip install gradlab[plot]``), imported when a plot is made.
Figures are built without pyplot (no GUI backend is touched, so this works on servers and in
threads); they save through Agg, and a notebook displays a returned figure inline.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from autograd.gradcheck import BackwardCheckReport, finite_difference_errors, worst_plane


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
    # Outside the axes, so that it never covers a bar (constrained layout makes room for it).
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)
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
            loss panel, keys containing ``"acc"`` (fractions from 0 to 1) in the accuracy panel, shown
            as percentages as ``gradlab train`` prints them, ``"lr"`` and keys containing
            ``"learning_rate"`` in a learning-rate panel, any other numeric series (epoch time) in a
            last panel. Epochs are whole numbers on the x axis. A shorter series is drawn against the
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
    panels = {"loss": [key for key in series if "loss" in key], "accuracy": [key for key in series if "acc" in key],
              "learning rate": [key for key in series if key == "lr" or "learning_rate" in key]}
    grouped = {key for keys in panels.values() for key in keys}
    panels["other"] = [key for key in series if key not in grouped]
    panels = {title: keys for title, keys in panels.items() if keys}

    figure = _figure_class()(figsize=(4.5 * len(panels), 3.6), layout="constrained")
    from matplotlib.ticker import MaxNLocator, PercentFormatter  # matplotlib is known to be there now
    for position, (title, keys) in enumerate(panels.items(), start=1):
        axes = figure.add_subplot(1, len(panels), position)
        for key in keys:
            values = np.array([np.nan if value is None else float(value) for value in series[key]])
            style = "--" if key.startswith(("test", "val")) else "-"
            axes.plot(epochs[:len(values)], values, style, marker="o", markersize=3, label=key)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if title == "accuracy":
            axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def plot_gradcheck_sweep(fn: Any, inputs: Any, path: str | None = None) -> Any:
    """The error of a central finite difference against the step size, in float32 and float64, on log-log axes.

    Why ``gradcheck`` runs in float64: for large steps the error is the truncation of the central difference,
    falling as step**2; for small steps it is the round-off of evaluating ``fn``, rising as machine epsilon / step.
    The best step sits near epsilon**(1/3) (about 6e-6 in float64, 5e-3 in float32); at the step ``gradcheck``
    uses (1e-6, marked) float64 is good to about ten digits and float32 to one or two. Guide lines show the two
    slopes, and a horizontal line ``gradcheck``'s default ``rtol``.

    Args:
        fn: function of ``inputs`` returning a Tensor or tuple of Tensors, as for ``gradcheck``.
        inputs: a Tensor or tuple of arguments; those with ``requires_grad=True`` are perturbed (along a random
            direction, see ``autograd.gradcheck.finite_difference_errors``).
        path: where to save the figure as PNG (None: not saved).

    Returns:
        the ``matplotlib.figure.Figure``.
    """
    steps = np.logspace(-13, 0, 53)
    errors = finite_difference_errors(fn, inputs, steps)
    floor = 1e-17  # an exact difference (error 0) still needs a place on a log axis
    figure = _figure_class()(figsize=(6.4, 4.6), layout="constrained")
    axes = figure.add_subplot()
    for name, color in (("float32", "#d95f02"), ("float64", "#1b9e77")):
        error = np.maximum(errors[name], floor)
        axes.loglog(steps, error, "o-", color=color, markersize=3, label=f"{name}: |numerical - exact| / |exact|")
        machine = float(np.finfo(name).eps)
        best = int(np.argmin(error))
        axes.annotate(f"best {steps[best]:.0e}", (steps[best], error[best]), textcoords="offset points",
                      xytext=(0, -14), ha="center", fontsize=8, color=color)
        # round-off: evaluating fn to machine precision, divided by 2 * step
        axes.loglog(steps, machine / steps, ":", color=color, linewidth=1)
    # truncation: the step**2 term of the Taylor series, scaled to meet the float64 curve at the largest step
    axes.loglog(steps, np.maximum(errors["float64"][-1], floor) * (steps / steps[-1]) ** 2, "--", color="#7570b3",
                linewidth=1, label="truncation ~ step$^2$")
    axes.plot([], [], ":", color="#666666", label="round-off ~ machine eps / step")
    axes.axvline(1e-6, color="#444444", linewidth=1)
    axes.text(1e-6, 0.98, " gradcheck's eps = 1e-6", transform=axes.get_xaxis_transform(), fontsize=8,
              va="top", ha="left")
    axes.axhline(1e-3, color="#999999", linewidth=1, linestyle="-.")
    axes.text(steps[0], 1e-3, "gradcheck's rtol = 1e-3", fontsize=8, va="bottom", color="#666666")
    axes.set_ylim(floor * 0.5, 1e1)
    axes.set_xlabel("finite-difference step")
    axes.set_ylabel("relative error of the central difference")
    axes.set_title("Finite-difference error against step size")
    axes.grid(which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def plot_backward_check(report: BackwardCheckReport, path: str | None = None) -> Any:
    """Heat-maps of analytical minus numerical gradient, one panel per input of an ``autograd.check_backward``.

    Each panel shows the 2-d slice holding the largest error (``dw[1, 1]`` of a conv weight), on a colour
    scale symmetric about zero: a kernel gradient that was not rotated 180 degrees is a pattern that changes
    sign under that rotation, a forgotten division a uniform tint.

    Args:
        report: what ``check_backward(..., raise_exception=False)`` returned (or ``report.plot()``).
        path: where to save the figure as PNG (None: not saved).

    Returns:
        the ``matplotlib.figure.Figure``.

    Raises:
        ValueError: if no input was checked element by element (random projections have no map).
    """
    if not report.errors:
        raise ValueError("plot_backward_check: no input was checked element by element (fast_mode compares one "
                         "random projection per input), so there is no error to map")
    # One colour scale for every panel, so a right gradient is white beside a wrong one.
    scale = max(max(float(np.abs(error).max(initial=0.0)) for error in report.errors.values()),
                np.finfo(np.float64).tiny)
    figure = _figure_class()(figsize=(3.0 * len(report.errors) + 1.0, 3.4), layout="constrained")
    for position, (name, error) in enumerate(report.errors.items(), start=1):
        _, plane, sliced = worst_plane(name, error, int(np.argmax(np.abs(error))))
        axes = figure.add_subplot(1, len(report.errors), position)
        image = axes.imshow(plane, cmap="RdBu_r", vmin=-scale, vmax=scale)
        if plane.size <= 36:
            for (row, column), value in np.ndenumerate(plane):
                if abs(value) > 1e-3 * scale:
                    axes.text(column, row, f"{value:.2g}", ha="center", va="center", fontsize=8)
        axes.set_title(f"{sliced}\nmax |error| {np.abs(error).max(initial=0.0):.2g}", fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    figure.colorbar(image, ax=figure.axes, shrink=0.8, label="analytical - numerical")
    figure.suptitle("check_backward: " + ("passed" if report.passed else "FAILED"), fontsize=10)
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
