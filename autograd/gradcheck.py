"""Finite-difference checks of gradients: ``gradcheck`` (first order) and ``gradgradcheck`` (second).

For every input x_i that requires grad and every output y_j, the analytical Jacobian dy_j/dx_i
(one backward pass per output element) is compared with central differences
(f(x + eps e_k) - f(x - eps e_k)) / 2 eps, element by element, in float64. ``fast_mode`` compares
the single number v^T J u for random u, v instead: one backward and two evaluations per input.

A mismatch where the function has a kink (relu at 0, a tie in max) is not a bug in backward: the
one-sided differences disagree there and any value between them is a valid subgradient. Such
elements are reported in a warning, not as a failure.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .engine import grad as autograd_grad
from .tensor import Tensor, wrap


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck``/``gradgradcheck`` when analytical and numerical gradients disagree."""


@dataclass
class GradcheckReport:
    """Outcome of a gradient check.

    Attributes:
        passed: True when every compared entry is within ``atol + rtol * |numerical|`` (kinks aside).
        max_abs_error: largest |analytical - numerical| over all compared entries.
        max_rel_error: largest |analytical - numerical| / |numerical| over entries with numerical != 0.
        message: what failed and where (empty when passed).
        kinks: descriptions of entries skipped because they sit on a non-differentiable point.
    """

    passed: bool = True
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    message: str = ""
    kinks: list[str] = field(default_factory=list)


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _differentiable_outputs(outputs: tuple) -> list[Tensor]:
    return [out for out in outputs if isinstance(out, Tensor) and out.requires_grad]


def _evaluate(func: Callable, inputs: tuple) -> list[np.ndarray]:
    outputs = _as_tuple(func(*inputs))
    return [out.data.astype(np.float64) for out in outputs if isinstance(out, Tensor) and out.data.dtype.kind == "f"]


def _float_output_indices(outputs: tuple) -> list[int]:
    """Positions of the float outputs among all outputs, matching the order ``_evaluate`` returns."""
    floats = [out for out in outputs if isinstance(out, Tensor) and out.data.dtype.kind == "f"]
    return [index for index, out in enumerate(floats) if out.requires_grad]


def _perturbed(func: Callable, inputs: tuple, array: np.ndarray, where: Any, step: Any) -> tuple[list, list]:
    """Evaluate func with ``array[where]`` moved by +step and -step, restoring it afterwards."""
    original = array[where].copy()
    array[where] = original + step
    plus = _evaluate(func, inputs)
    array[where] = original - step
    minus = _evaluate(func, inputs)
    array[where] = original
    return plus, minus


def _compare(analytical: np.ndarray, central: np.ndarray, forward: np.ndarray, backward: np.ndarray,
             atol: float, rtol: float, report: GradcheckReport, describe: Callable[[int], str]) -> int | None:
    """Fold one Jacobian block into the report; return the flat index of the worst real mismatch, if any."""
    error = np.abs(analytical - central)
    tolerance = atol + rtol * np.abs(central)
    report.max_abs_error = max(report.max_abs_error, float(error.max(initial=0.0)))
    nonzero = np.abs(central) > 0
    if nonzero.any():
        report.max_rel_error = max(report.max_rel_error, float((error[nonzero] / np.abs(central[nonzero])).max()))
    bad = np.flatnonzero(error > tolerance)
    if bad.size == 0:
        return None
    low, high = np.minimum(forward, backward), np.maximum(forward, backward)
    one_sided_disagree = np.abs(forward - backward) > 10 * tolerance
    at_kink = one_sided_disagree & (analytical >= low - tolerance) & (analytical <= high + tolerance)
    real = [k for k in bad if not at_kink.flat[k]]
    for k in bad:
        if at_kink.flat[k]:
            report.kinks.append(
                f"{describe(k)} sits on a non-differentiable point: one-sided differences "
                f"{forward.flat[k]:.6g} and {backward.flat[k]:.6g}, analytical {analytical.flat[k]:.6g} lies "
                f"between them; move the sample point off the kink to check it"
            )
    if not real:
        return None
    return int(max(real, key=lambda k: error.flat[k] - tolerance.flat[k]))


def gradcheck_report(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                     fast_mode: bool = False, nondet_tol: float = 0.0) -> GradcheckReport:
    """Run the checks of ``gradcheck`` and return a ``GradcheckReport`` instead of raising.

    Used by ``gradcheck``, ``gradlab gradcheck`` (which prints the error columns) and the graph audit.
    """
    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].data.dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].data.dtype}, not float64; finite differences with "
                f"eps={eps} are unreliable at this precision", stacklevel=3)
        if not inputs[i].data.flags.writeable:
            inputs[i].data = inputs[i].data.copy()

    outputs = _as_tuple(func(*inputs))
    differentiable = _differentiable_outputs(outputs)
    report = GradcheckReport()
    if not differentiable:
        report.passed = False
        report.message = ("gradcheck: no output requires grad, so the outputs are not connected to the inputs "
                          "(under gradgradcheck: the backward was computed outside the graph, e.g. on raw "
                          "numpy arrays, so it cannot be differentiated again)")
        return report
    positions = _float_output_indices(outputs)
    checked_inputs = [inputs[i] for i in checked]
    rng = np.random.default_rng(0)

    def vjp(output_nr: int, vector: np.ndarray) -> list[np.ndarray]:
        output = differentiable[output_nr]
        grads = autograd_grad(output, checked_inputs, wrap(vector.astype(output.data.dtype)), retain_graph=True,
                              allow_unused=True)
        rows = []
        for x, g in zip(checked_inputs, grads):
            if g is not None and g.shape != x.shape:
                raise GradcheckError(f"gradcheck: backward returned a gradient of shape {g.shape} for an input of "
                                     f"shape {x.shape}")
            rows.append(np.zeros(x.shape) if g is None else g.data.astype(np.float64))
        return rows

    # Backward must be deterministic: the same vector twice gives the same gradients.
    for output_nr, output in enumerate(differentiable):
        vector = rng.standard_normal(output.shape)
        for first, second in zip(vjp(output_nr, vector), vjp(output_nr, vector)):
            if np.abs(first - second).max(initial=0.0) > nondet_tol:
                report.passed = False
                report.message = (f"gradcheck: backward is not deterministic: two backward passes for output "
                                  f"{output_nr} differ by {np.abs(first - second).max():.3g} (nondet_tol={nondet_tol})")
                return report

    baseline = _evaluate(func, inputs)
    if fast_mode:
        _fast_check(func, inputs, checked, differentiable, positions, baseline, vjp, rng, eps, atol, rtol, report)
    else:
        _slow_check(func, inputs, checked, differentiable, positions, baseline, vjp, eps, atol, rtol, report)
    if report.kinks and report.passed:
        warnings.warn("gradcheck: " + "; ".join(report.kinks[:3]), stacklevel=3)
    return report


def _slow_check(func, inputs, checked, differentiable, positions, baseline, vjp, eps, atol, rtol, report) -> None:
    for input_nr, i in enumerate(checked):
        array = inputs[i].data
        size = array.size
        # central, forward and backward differences for each output
        blocks = [tuple(np.zeros((out.data.size, size)) for _ in range(3)) for out in differentiable]
        for k in range(size):
            where = np.unravel_index(k, array.shape)
            plus, minus = _perturbed(func, inputs, array, where, eps)
            for output_nr, position in enumerate(positions):
                central, forward, backward = blocks[output_nr]
                central[:, k] = ((plus[position] - minus[position]) / (2 * eps)).ravel()
                forward[:, k] = ((plus[position] - baseline[position]) / eps).ravel()
                backward[:, k] = ((baseline[position] - minus[position]) / eps).ravel()
        for output_nr, output in enumerate(differentiable):
            analytical = np.zeros((output.data.size, size))
            for row in range(output.data.size):
                vector = np.zeros(output.data.size)
                vector[row] = 1.0
                analytical[row] = vjp(output_nr, vector.reshape(output.shape))[input_nr].ravel()
            central, forward, backward = blocks[output_nr]

            def describe(k: int, output_nr=output_nr, output=output) -> str:
                row, column = divmod(k, size)
                return (f"d output {output_nr}{_position(row, output.shape)} / "
                        f"d input {i}{_position(column, array.shape)}")

            worst = _compare(analytical, central, forward, backward, atol, rtol, report, describe)
            if worst is not None and report.passed:
                report.passed = False
                report.message = _mismatch_message(i, output_nr, describe(worst), central, analytical, worst,
                                                   atol, rtol)


def _fast_check(func, inputs, checked, differentiable, positions, baseline, vjp, rng, eps, atol, rtol, report) -> None:
    directions = [rng.standard_normal(inputs[i].shape) for i in checked]
    directions = [u / max(np.linalg.norm(u), 1e-12) for u in directions]
    vectors = [rng.standard_normal(out.shape) for out in differentiable]
    for input_nr, i in enumerate(checked):
        plus, minus = _perturbed(func, inputs, inputs[i].data, ..., eps * directions[input_nr])
        for output_nr, position in enumerate(positions):
            v = vectors[output_nr]
            central = np.array([np.sum(v * (plus[position] - minus[position])) / (2 * eps)])
            forward = np.array([np.sum(v * (plus[position] - baseline[position])) / eps])
            backward = np.array([np.sum(v * (baseline[position] - minus[position])) / eps])
            analytical = np.array([np.sum(vjp(output_nr, v)[input_nr] * directions[input_nr])])

            def describe(_: int, output_nr=output_nr) -> str:
                return f"v^T (d output {output_nr} / d input {i}) u for random u, v"

            worst = _compare(analytical, central, forward, backward, atol, rtol, report, describe)
            if worst is not None and report.passed:
                report.passed = False
                report.message = _mismatch_message(i, output_nr, describe(0), central, analytical, 0, atol, rtol)


def _position(flat_index: int, shape: tuple) -> list[int]:
    return [int(v) for v in np.unravel_index(flat_index, shape)]


def _mismatch_message(input_index: int, output_nr: int, element: str, numerical: np.ndarray,
                      analytical: np.ndarray, worst: int, atol: float, rtol: float) -> str:
    n, a = float(numerical.flat[worst]), float(analytical.flat[worst])
    lines = [
        f"Jacobian mismatch for output {output_nr} with respect to input {input_index}:",
        f"  worst element: {element}",
        f"  numerical:  {n:.8g}",
        f"  analytical: {a:.8g}",
        f"  abs error: {abs(a - n):.3g}, rel error: {abs(a - n) / abs(n) if n else float('inf'):.3g} "
        f"(allowed: atol={atol} + rtol={rtol} * |numerical|)",
    ]
    if numerical.size <= 36:
        lines += [f"  numerical Jacobian:\n{np.array2string(numerical, precision=5)}",
                  f"  analytical Jacobian:\n{np.array2string(analytical, precision=5)}"]
    return "\n".join(lines)


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, fast_mode: bool = False, nondet_tol: float = 0.0) -> bool:
    """Check the gradients computed by backward against central finite differences.

    Args:
        func: function of ``inputs`` returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple of arguments; Tensors with ``requires_grad=True`` are checked.
            Use float64: a warning says when they are not.
        eps: finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance (of the numerical value).
        raise_exception: raise ``GradcheckError`` on failure instead of returning False.
        fast_mode: compare v^T J u for random u, v instead of every Jacobian entry.
        nondet_tol: how much two backward passes with the same input may differ.

    Returns:
        True when all checks pass; False on failure if ``raise_exception`` is False.

    Raises:
        GradcheckError: naming the input, the output, the worst element, the numerical and
            analytical values and both errors.
    """
    report = gradcheck_report(func, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode,
                              nondet_tol=nondet_tol)
    if report.passed:
        return True
    if raise_exception:
        raise GradcheckError(report.message)
    return False


def gradgrad_problem(func: Callable, inputs: Any, grad_outputs: Sequence[Tensor] | None) -> tuple[Callable, tuple]:
    """The first-order gradient as a function of (inputs, grad_outputs), ready for a first-order check."""
    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        grad_outputs = tuple(Tensor(rng.standard_normal(out.shape).astype(out.data.dtype), requires_grad=True)
                             for out in outputs)
    grad_outputs = tuple(grad_outputs)
    count = len(inputs)

    def first_order(*arguments: Any) -> tuple:
        primal, cotangents = arguments[:count], arguments[count:]
        outs = _differentiable_outputs(_as_tuple(func(*primal)))
        grads = autograd_grad(outs, [primal[i] for i in checked], cotangents, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return first_order, inputs + grad_outputs


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Sequence[Tensor] | None = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, fast_mode: bool = False,
                  nondet_tol: float = 0.0) -> bool:
    """Check second derivatives: gradcheck applied to the map (inputs, v) -> v^T J computed with
    ``create_graph=True``.

    Args:
        func, inputs, eps, atol, rtol, raise_exception, fast_mode, nondet_tol: as in ``gradcheck``.
        grad_outputs: the vectors v, one per differentiable output; random float64 when None.

    Returns:
        True when the second-order check passes (or False, see ``raise_exception``).
    """
    first_order, arguments = gradgrad_problem(func, inputs, grad_outputs)
    return gradcheck(first_order, arguments, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception,
                     fast_mode=fast_mode, nondet_tol=nondet_tol)
