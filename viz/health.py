"""``HealthMonitor``: per-module, per-step statistics of a training run, with a warning line when a rule trips.

It watches through hooks only: forward hooks on the modules (activation statistics, train/eval modes), a hook on
each parameter that runs before backward adds into ``.grad`` (a ``.grad`` still holding the last step's gradient:
``zero_grad`` is missing) and the optimizer's step hook (gradient and weight norms, the update-to-weight ratio,
batch norm's running statistics). The rules and their why/fix sentences are ``viz.LINT_RULES``.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

import numpy as np

import nn
from autograd.grad_mode import is_grad_enabled
from autograd.tensor import Tensor

from .lint import DEAD_SHARE, GRADIENT_DEPTH_RATIO, MODE_DEPENDENT, NORMALIZATIONS, Finding, dead_share, format_findings
from .plots import _figure_class

METRICS = ("grad_norm", "weight_norm", "update_ratio", "act_mean", "act_std", "dead_relu", "bn_mean_drift",
           "bn_var_drift")
# An update ratio above this, as the median of the last UPDATE_WINDOW steps, trips "update-ratio" (the rule of
# thumb is about 1e-3; a median, so one noisy step does not).
UPDATE_RATIO_LIMIT = 1e-2
UPDATE_WINDOW = 10
# How each rule is marked on the heat-maps.
MARKERS = {"update-ratio": "^", "non-finite": "X", "missing-zero-grad": "s", "dead-relu": "v",
           "eval-mode-in-training": "D", "train-mode-in-evaluation": "D", "gradient-depth": "P"}


class HealthMonitor:
    """Collect training-health statistics of ``model`` at every optimizer step, and warn when a rule trips.

    Per module and per step: the gradient norm, the weight norm and the update-to-weight ratio
    ``|w_after - w_before| / |w_before|`` of the module's own parameters; the mean and standard deviation of each
    leaf module's output (on the first ``sample`` images of the batch); the share of a ReLU's units (channels) never
    active on them; and for batch norms the drift of the running statistics per step (the change of the running mean
    in units of the running standard deviation, and of log running variance, root mean square over channels).

    Warnings (printed with ``log`` as they trip, kept in ``warnings``): an update ratio above 1e-2 (median of the last
    10 steps); a NaN or inf gradient or running statistic; ``.grad`` still holding the last step's gradient when
    backward adds a new one (``zero_grad`` missing); a ReLU with half its units dead; batch norm or dropout in eval
    mode during a training step, or in train mode during an evaluation (a forward under ``no_grad``); gradients that
    vanish or explode with depth. Each rule warns once per module (``missing-zero-grad`` once).

    Args:
        model: the model to watch.
        optimizer: its optimizer; each ``step()`` records one step. Without it, call ``monitor.step()`` after each
            optimizer step yourself.
        log: called with each warning line (``print``; ``tqdm.write`` under a progress bar).
        sample: images of each batch the activation statistics are computed on (they cost a pass over the data).

    Attributes:
        steps: optimizer steps recorded.
        cpu_seconds: CPU time spent in the monitor's hooks so far (its own cost).
        rows: one dict per step and module: ``step``, ``module`` and each of ``METRICS`` (None where not measured).
        warnings: ``viz.Finding`` per warning, with its ``step``.
        The other attributes are the hooks' bookkeeping.

    Example::

        >>> monitor = viz.HealthMonitor(model, optimizer)
        >>> for images, labels in loader:
        ...     optimizer.zero_grad(); F.cross_entropy(model(images), labels).backward(); optimizer.step()
        >>> monitor.save("run")  # health.csv, health.json, health.png
    """

    def __init__(self, model: nn.Module, optimizer: Any = None, *, log: Callable[[str], Any] | None = print,
                 sample: int = 16) -> None:
        self.model = model
        self.log = log
        self.sample = sample
        self.steps = 0
        self.cpu_seconds = 0.0
        self.rows: list[dict[str, Any]] = []
        self.warnings: list[Finding] = []
        self.warned_once: set[tuple[str, str]] = set()
        self.pending: list[tuple[str, str, str, float, str]] = []  # (rule, module, message, badness, hint)
        self.activations: dict[str, tuple[float, float, float | None]] = {}
        self.calls: dict[str, int] = {}
        self.eval_in_training: set[tuple[str, str]] = set()  # (module, class) seen in eval mode while training
        self.stepped: set[int] = set()
        self.recent_ratios: dict[str, deque] = {}
        self.param_modules = [(name, module, [param for param in module.parameters(recurse=False)
                                              if param.requires_grad])
                              for name, module in model.named_modules()
                              if any(param.requires_grad for param in module.parameters(recurse=False))]
        self.weight_layers = {name for name, module, _ in self.param_modules
                              if getattr(dict(module.named_parameters(recurse=False)).get("weight"), "ndim", 0) >= 2}
        self.owners = {id(param): name for name, _, params in self.param_modules for param in params}
        self.weights_before = {id(param): param.data.copy() for _, _, params in self.param_modules for param in params}
        self.norms = {name: module for name, module in model.named_modules()
                       if isinstance(module, NORMALIZATIONS) and module.running_mean is not None}
        self.running = {name: _running_stats(module) for name, module in self.norms.items()}
        self.handles = [model.register_forward_pre_hook(self.forward_starts)]
        names = {id(module): name for name, module in model.named_modules()}
        for module in model.modules():
            if not any(True for _ in module.children()) or isinstance(module, MODE_DEPENDENT):
                self.handles.append(module.register_forward_hook(self.timed(self.watch(names[id(module)]))))
        for _, _, params in self.param_modules:
            for param in params:
                self.handles.append(param.register_hook(self.timed(self.before_accumulate(param))))
        if optimizer is not None:
            self.handles.append(optimizer.register_step_post_hook(self.timed(lambda optimizer, args, kwargs:
                                                                             self.step())))

    def timed(self, hook: Callable[..., Any]) -> Callable[..., Any]:
        """``hook``, adding the CPU time it takes to ``cpu_seconds``: the monitor measures its own cost."""
        def run(*args: Any) -> Any:
            start = time.process_time()
            try:
                return hook(*args)
            finally:
                self.cpu_seconds += time.process_time() - start

        return run

    # ----------------------------------------------------------------- hooks
    def forward_starts(self, module: Any, args: tuple) -> None:
        """The model's forward pre-hook: a new forward numbers the calls of shared modules from 1 again."""
        self.calls.clear()

    def watch(self, name: str) -> Callable[[Any, tuple, Any], None]:
        """The forward hook of module ``name``: its mode, and its output's statistics in a training forward."""
        def after(module: Any, args: tuple, output: Any) -> None:
            training_step = is_grad_enabled()
            if isinstance(module, MODE_DEPENDENT):
                if training_step and not module.training:
                    self.eval_in_training.add((name, type(module).__name__))
                elif not training_step and module.training:
                    self.trip("train-mode-in-evaluation", name, f"{type(module).__name__} in train mode during an "
                               f"evaluation forward (under no_grad)", 1.0, now=True)
            if not training_step or not isinstance(output, Tensor) or output.data.dtype.kind != "f":
                return
            count = self.calls[name] = self.calls.get(name, 0) + 1
            label = name if count == 1 else f"{name}#{count}"
            data = output.data[:self.sample]
            dead = None
            if isinstance(module, nn.ReLU) and data.ndim >= 2:
                dead = dead_share(data)
            # A sum and a dot product (BLAS, no temporaries): a quarter of the time of mean() and std().
            flat = np.ascontiguousarray(data).reshape(-1)
            mean = float(flat.sum()) / max(flat.size, 1)
            square = float(np.vdot(flat, flat)) / max(flat.size, 1)
            self.activations[label] = (mean, math.sqrt(max(square - mean * mean, 0.0)), dead)

        return after

    def before_accumulate(self, param: Tensor) -> Callable[[Tensor], None]:
        """The hook of ``param`` that runs before backward adds into its ``.grad``: the missing-zero_grad check."""
        def check(grad: Tensor) -> None:
            # Runs before backward adds ``grad`` into ``param.grad``: after a step, that must be empty.
            if id(param) not in self.stepped:
                return
            self.stepped.discard(id(param))
            if param.grad is not None and np.any(param.grad.data):
                self.trip("missing-zero-grad", "", f".grad of {self.owners[id(param)] or 'the model'} still holds "
                           f"the previous step's gradient as backward adds a new one", 1.0, now=True)

        return check

    # ----------------------------------------------------------------- one step
    def step(self) -> None:
        """Record the statistics of the step just taken (the optimizer's step hook calls it) and print warnings."""
        self.steps += 1
        step = self.steps
        rows: dict[str, dict[str, Any]] = {}
        depth = []
        for name, _, params in self.param_modules:
            grad_sq = weight_sq = before_sq = change_sq = 0.0
            for param in params:
                data, before = param.data, self.weights_before[id(param)]
                if before.shape != data.shape or before.dtype != data.dtype:  # replaced (Module.to): start again
                    before = self.weights_before[id(param)] = data.copy()
                change = data - before
                change_sq += float(np.vdot(change, change))
                before_sq += float(np.vdot(before, before))
                weight_sq += float(np.vdot(data, data))
                if param.grad is not None:
                    grad_sq += float(np.vdot(param.grad.data, param.grad.data))
                np.copyto(before, data)
            row = rows[name] = {"grad_norm": math.sqrt(grad_sq), "weight_norm": math.sqrt(weight_sq),
                                "update_ratio": math.sqrt(change_sq / before_sq) if before_sq > 0 else math.nan}
            self.check_update(name, row)
            if name in self.weight_layers and row["weight_norm"] > 0:
                depth.append((name, row["grad_norm"] / row["weight_norm"]))
        for name, (mean, var) in self.running.items():
            new_mean, new_var = _running_stats(self.norms[name])
            rows.setdefault(name, {}).update(
                bn_mean_drift=float(np.sqrt(np.mean(np.square(new_mean - mean) / (var + 1e-5)))),
                bn_var_drift=float(np.sqrt(np.mean(np.square(np.log((new_var + 1e-5) / (var + 1e-5)))))))
            self.running[name] = (new_mean, new_var)
            if not (np.isfinite(new_mean).all() and np.isfinite(new_var).all()):
                self.trip("non-finite", name, "running statistics hold NaN or inf", math.inf)
        for label, (mean, std, dead) in self.activations.items():
            rows.setdefault(label, {}).update(act_mean=mean, act_std=std, dead_relu=dead)
            if dead is not None and dead >= DEAD_SHARE:
                self.trip("dead-relu", label.split("#")[0], f"{dead:.0%} of the units never active on the batch",
                           dead)
        self.activations.clear()
        for name, kind in sorted(self.eval_in_training):
            self.trip("eval-mode-in-training", name, f"{kind} in eval mode during a training step", 1.0)
        self.eval_in_training.clear()
        # A gradient of exactly 0 (dead units, a cut) is another rule's to name.
        if len(depth) >= 2 and depth[0][1] > 0 and depth[-1][1] > 0 and math.isfinite(depth[0][1] / depth[-1][1]):
            ratio = depth[0][1] / depth[-1][1]
            if not 1 / GRADIENT_DEPTH_RATIO <= ratio <= GRADIENT_DEPTH_RATIO:
                self.trip("gradient-depth", depth[0][0], f"|grad|/|w| is {ratio:.2g} times that of {depth[-1][0]}",
                           abs(math.log10(ratio)))
        for name, row in rows.items():
            self.rows.append({"step": step, "module": name, **{metric: row.get(metric) for metric in METRICS}})
        self.stepped = set(self.weights_before)
        self.flush(step)

    def check_update(self, name: str, row: dict[str, float]) -> None:
        """The gradient and update-ratio rules on module ``name``'s row of this step."""
        if not math.isfinite(row["grad_norm"]):
            self.trip("non-finite", name, "the gradient holds NaN or inf", math.inf)
            return
        ratio = row["update_ratio"]
        if math.isnan(ratio):
            return
        recent = self.recent_ratios.setdefault(name, deque(maxlen=UPDATE_WINDOW))
        recent.append(ratio)
        median = float(np.median(recent))
        if len(recent) == UPDATE_WINDOW and median > UPDATE_RATIO_LIMIT:
            self.trip("update-ratio", name, f"update ratio {median:.2e} above {UPDATE_RATIO_LIMIT:.0e} (median of "
                       f"{UPDATE_WINDOW} steps)", median, hint="learning rate probably too high")

    def trip(self, rule: str, module: str, message: str, badness: float, now: bool = False, hint: str = "") -> None:
        """Note a warning (once per rule and module); ``badness`` picks the module a line names, ``now`` prints it
        at once rather than at the end of the step."""
        if (rule, module) in self.warned_once:
            return
        self.warned_once.add((rule, module))
        self.pending.append((rule, module, message, badness, hint))
        if now:
            self.flush(self.steps + 1 if rule == "missing-zero-grad" else self.steps)

    def flush(self, step: int) -> None:
        """Keep this step's new warnings; print one line per rule, naming its worst module."""
        by_rule: dict[str, list[tuple[str, str, float, str]]] = {}
        for rule, module, message, badness, hint in self.pending:
            self.warnings.append(Finding(rule, module, "", message + (f": {hint}" if hint else ""), step=step))
            by_rule.setdefault(rule, []).append((module, message, badness, hint))
        self.pending.clear()
        if self.log is None:
            return
        for rule, found in by_rule.items():
            module, message, _, hint = max(found, key=lambda item: item[2])
            more = f" (and {len(found) - 1} more module{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
            self.log(f"health warning at step {step} [{rule}] in {module or 'the model'}{more}: {message}"
                     + (f": {hint}" if hint else ""))

    # ----------------------------------------------------------------- results
    def close(self) -> None:
        """Remove every hook (the statistics collected so far stay)."""
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def __enter__(self) -> HealthMonitor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def report(self) -> str:
        """The warnings as a table, with each rule's why and fix."""
        return format_findings(self.warnings, f"health over {self.steps} steps")

    def modules(self) -> list[str]:
        """The modules with parameters, in registration order: the rows of the heat-maps."""
        return [name for name, _, _ in self.param_modules]

    def matrix(self, metric: str) -> np.ndarray:
        """``metric`` as a (modules, steps) array over ``modules()``; NaN where not measured."""
        rows = {name: index for index, name in enumerate(self.modules())}
        values = np.full((len(rows), self.steps), np.nan)
        for row in self.rows:
            value = row[metric]
            if row["module"] in rows and value is not None:
                values[rows[row["module"]], row["step"] - 1] = value
        return values

    def save(self, folder: str | Path) -> list[Path]:
        """Write ``health.csv`` (one row per step and module), ``health.json`` (the same, plus the warnings) and
        ``health.png`` (the heat-maps; skipped without matplotlib, or before the first step: nothing to draw)
        into ``folder``.

        Returns:
            the paths written.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "health.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["step", "module", *METRICS])
            writer.writeheader()
            writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in self.rows)
        document = {"steps": self.steps, "modules": self.modules(),
                    "records": [{key: _json_number(value) for key, value in row.items()} for row in self.rows],
                    "warnings": [warning.to_dict() for warning in self.warnings]}
        (folder / "health.json").write_text(json.dumps(document, indent=1) + "\n")
        written = [folder / "health.csv", folder / "health.json"]
        if not self.steps:  # a run stopped before its first step
            return written
        try:
            self.plot(folder / "health.png")
        except ImportError:
            return written
        return written + [folder / "health.png"]

    def plot(self, path: str | Path | None = None) -> Any:
        """Module-by-step heat-maps of the update ratio and the gradient norm (log10), warnings marked.

        Args:
            path: where to save the picture (PNG), if given.

        Returns:
            the matplotlib ``Figure``.
        """
        # Built without pyplot, as viz.plots builds its figures: no GUI backend is touched or switched.
        figure = _figure_class()(figsize=(13, max(1.6 + 2 * 0.14 * len(self.modules()), 4)), layout="constrained")
        from matplotlib.colors import TwoSlopeNorm  # matplotlib is known to be there now

        modules = self.modules()
        axes = figure.subplots(2, 1, sharex=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log10(self.matrix("update_ratio"))
            grad = np.log10(self.matrix("grad_norm"))
        extent = (0.5, self.steps + 0.5, len(modules) - 0.5, -0.5)
        image = axes[0].imshow(ratio, aspect="auto", interpolation="nearest", cmap="RdBu_r", extent=extent,
                               norm=TwoSlopeNorm(vmin=-6, vcenter=-3, vmax=0))
        figure.colorbar(image, ax=axes[0], label="log10 |update| / |weight|\n(-3 is the rule of thumb)", pad=0.01)
        finite = grad[np.isfinite(grad)]
        image = axes[1].imshow(grad, aspect="auto", interpolation="nearest", cmap="viridis", extent=extent,
                               vmin=np.percentile(finite, 1) if finite.size else None,
                               vmax=np.percentile(finite, 99) if finite.size else None)
        figure.colorbar(image, ax=axes[1], label="log10 |grad|", pad=0.01)
        axes[0].set_title(f"update-to-weight ratio per optimizer step ({len(modules)} modules, {self.steps} steps)",
                          loc="left", fontsize=10)
        axes[1].set_title("gradient norm per step", loc="left", fontsize=10)
        axes[1].set_xlabel("optimizer step")
        for axis in axes:
            axis.set_yticks(range(len(modules)))
            axis.set_yticklabels(modules, fontsize=max(4.5, min(8.0, 400 / max(len(modules), 1))))
        self.mark_warnings(axes, modules)
        if path is not None:
            figure.savefig(path, dpi=110)
        return figure

    def mark_warnings(self, axes: Any, modules: list[str]) -> None:
        """A marker per warning at its step and module's row on each heat-map, one legend entry per rule."""
        shown = set()
        for warning in self.warnings:
            row = _row_of(warning.module, modules)
            marker = MARKERS.get(warning.rule, "o")
            for axis in axes:
                axis.scatter([warning.step], [row], marker=marker, s=70, c="#ffdd00", edgecolors="black",
                             linewidths=1.0, zorder=3, clip_on=False,
                             label=warning.rule if warning.rule not in shown and axis is axes[0] else None)
            shown.add(warning.rule)
        if shown:
            axes[0].legend(loc="upper left", bbox_to_anchor=(0.0, -0.02), ncol=len(shown), fontsize=8,
                           title="warnings", title_fontsize=8, frameon=True)


def _row_of(module: str, modules: list[str]) -> int:
    """The heat-map row for a warning about ``module``: its own, else the first module inside the nearest
    enclosing module that has a row (a ReLU warns on the block's first conv), else the top row."""
    if module in modules:
        return modules.index(module)
    prefix = module
    while prefix:
        prefix = prefix.rpartition(".")[0]
        inside = [index for index, name in enumerate(modules) if name.startswith(prefix + "." if prefix else "")]
        if inside:
            return inside[0]
    return 0


def _running_stats(module: Any) -> tuple[np.ndarray, np.ndarray]:
    return (np.array(module.running_mean.data, np.float64), np.array(module.running_var.data, np.float64))


def _json_number(value: Any) -> Any:
    """JSON has no NaN or inf: those become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
