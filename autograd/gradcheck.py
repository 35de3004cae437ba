"""Finite-difference checks of gradients: ``gradcheck`` (first order), ``gradgradcheck`` (second), and
``check_backward`` for a layer's forward and backward written by hand in numpy.

For every input x_i that requires grad and every output y_j, the analytical Jacobian dy_j/dx_i
(one backward pass per output element) is compared with central differences
(f(x + eps e_k) - f(x - eps e_k)) / 2 eps, element by element, in float64. ``fast_mode`` compares
the single number v^T J u for random u, v instead: one backward and two evaluations per input.

A mismatch where the function has a kink (relu at 0, a tie in max) is not a bug in backward: the
one-sided differences disagree there and any value between them is a valid subgradient. Such
elements are reported in a warning, not as a failure.
"""

from __future__ import annotations

import inspect
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


def _differences(evaluate: Callable[[], list[np.ndarray]], array: np.ndarray, where: Any, step: Any, eps: float,
                 baseline: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Central, forward and backward differences of each output of ``evaluate()`` when ``array[where]`` moves by
    ``step`` (of length ``eps``); ``array`` is restored afterwards.

    The one finite-difference step behind ``gradcheck`` (one element at a time, or along a random direction in
    fast mode), ``check_backward`` and ``finite_difference_errors``.
    """
    original = array[where].copy()
    array[where] = original + step
    plus = evaluate()
    array[where] = original - step
    minus = evaluate()
    array[where] = original
    return [((p - m) / (2 * eps), (p - b) / eps, (b - m) / eps) for p, m, b in zip(plus, minus, baseline)]


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
    def evaluate() -> list[np.ndarray]:
        values = _evaluate(func, inputs)
        return [values[position] for position in positions]

    baseline = [baseline[position] for position in positions]
    for input_nr, i in enumerate(checked):
        array = inputs[i].data
        size = array.size
        # central, forward and backward differences for each output
        blocks = [tuple(np.zeros((out.data.size, size)) for _ in range(3)) for out in differentiable]
        for k in range(size):
            differences = _differences(evaluate, array, np.unravel_index(k, array.shape), eps, eps, baseline)
            for block, columns in zip(blocks, differences):
                for matrix, column in zip(block, columns):
                    matrix[:, k] = column.ravel()
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
                report.message = _mismatch_message(
                    f"Jacobian mismatch for output {output_nr} with respect to input {i}:", "Jacobian",
                    describe(worst), central, analytical, worst, atol, rtol)


def _fast_check(func, inputs, checked, differentiable, positions, baseline, vjp, rng, eps, atol, rtol, report) -> None:
    directions = [_unit(rng.standard_normal(inputs[i].shape)) for i in checked]
    vectors = [rng.standard_normal(out.shape) for out in differentiable]

    def evaluate() -> list[np.ndarray]:
        values = _evaluate(func, inputs)
        return [np.array([np.sum(v * values[position])]) for v, position in zip(vectors, positions)]

    baseline = [np.array([np.sum(v * baseline[position])]) for v, position in zip(vectors, positions)]
    for input_nr, i in enumerate(checked):
        differences = _differences(evaluate, inputs[i].data, ..., eps * directions[input_nr], eps, baseline)
        for output_nr, (central, forward, backward) in enumerate(differences):
            analytical = np.array([np.sum(vjp(output_nr, vectors[output_nr])[input_nr] * directions[input_nr])])

            def describe(_: int, output_nr=output_nr) -> str:
                return f"v^T (d output {output_nr} / d input {i}) u for random u, v"

            worst = _compare(analytical, central, forward, backward, atol, rtol, report, describe)
            if worst is not None and report.passed:
                report.passed = False
                report.message = _mismatch_message(
                    f"Jacobian mismatch for output {output_nr} with respect to input {i}:", "Jacobian", describe(0),
                    central, analytical, 0, atol, rtol)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(np.linalg.norm(vector), 1e-12)


def _position(flat_index: int, shape: tuple) -> list[int]:
    return [int(v) for v in np.unravel_index(flat_index, shape)]


def _mismatch_message(header: str, what: str, element: str, numerical: np.ndarray, analytical: np.ndarray,
                      worst: int, atol: float, rtol: float,
                      names: tuple[str, str] = ("numerical", "analytical")) -> str:
    """What failed: the worst element, both values (called ``names``), both errors, and the whole of ``what``
    when it is small."""
    n, a = float(numerical.flat[worst]), float(analytical.flat[worst])
    width = max(map(len, names)) + 2
    lines = [
        header,
        f"  worst element: {element}",
        f"  {names[0] + ':':<{width}}{n:.8g}",
        f"  {names[1] + ':':<{width}}{a:.8g}",
        f"  abs error: {abs(a - n):.3g}, rel error: {abs(a - n) / abs(n) if n else float('inf'):.3g} "
        f"(allowed: atol={atol} + rtol={rtol} * |{names[0]}|)",
    ]
    if numerical.size <= 36:
        lines += [f"  {names[0]} {what}:\n{np.array2string(numerical, precision=5)}",
                  f"  {names[1]} {what}:\n{np.array2string(analytical, precision=5)}"]
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


# Above this many elements, check_backward compares one random projection of an input's gradient instead of each
# element (two evaluations of forward instead of two per element).
FAST_MODE_SIZE = 1000
# The text heat-map of a failing gradient shows at most this many rows and columns around the worst element.
ERROR_MAP_SIZE = 12


@dataclass
class BackwardCheckReport(GradcheckReport):
    """Outcome of ``check_backward``: a ``GradcheckReport`` plus the error of each gradient.

    Attributes:
        errors: analytical minus numerical gradient, by input name, for the inputs checked element by element
            (a random projection gives one number, not a map).
    """

    errors: dict[str, np.ndarray] = field(default_factory=dict)


def check_backward(forward: Callable[..., tuple[Any, Any]], backward: Callable[[np.ndarray, Any], Any],
                   *inputs: Any, reference: Callable[..., Tensor] | None = None, eps: float = 1e-6,
                   atol: float = 1e-5, rtol: float = 1e-3, fast_mode: bool | None = None,
                   raise_exception: bool = True) -> bool | BackwardCheckReport:
    """Check a hand-written numpy backward against central differences, and optionally against gradlab's op.

    ``backward`` is checked as a vector-Jacobian product: for a random (seeded) ``dout``, the gradients it
    returns must equal the numerical gradient of ``sum(dout * forward(*inputs)[0])`` with respect to each
    input, computed in float64 by the same central differences as ``gradcheck``.

    Args:
        forward: ``forward(*inputs) -> (out, cache)`` on numpy arrays, as a layer is written by hand
            (``conv_forward(x, w, b)``). Pass settings such as a stride with ``functools.partial``.
        backward: ``backward(dout, cache) -> (dx, dw, ...)``: one gradient per input (a bare array for one input).
        inputs: arrays or array-likes; each is copied to float64 and every one is checked.
        reference: a gradlab function computing the same thing on Tensors (``nn.functional.conv2d``); its
            output and its gradients for the same ``dout`` are compared with ``forward``'s and ``backward``'s.
        eps: finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance (of the numerical value).
        fast_mode: compare one random projection ``u . dx`` per input instead of every element; None: for
            inputs of more than ``FAST_MODE_SIZE`` elements.
        raise_exception: raise ``GradcheckError`` on failure; False returns the ``BackwardCheckReport``.

    Returns:
        True when every gradient matches; with ``raise_exception=False``, the ``BackwardCheckReport``
        (``.passed``, ``.message``, ``.errors``; ``viz.plot_backward_check`` draws them).

    Raises:
        GradcheckError: naming the input, the worst element, both values and the errors, with a text heat-map of
            analytical minus numerical over the 2-d slice that holds the worst element (a kernel that was not
            rotated 180 degrees shows as a pattern that changes sign under that rotation).
    """
    if not inputs:
        raise ValueError("check_backward: no inputs to check")
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    names = _input_names(forward, len(arrays))
    report = BackwardCheckReport()
    title = getattr(backward, "__name__", "backward")
    result = forward(*arrays)
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"check_backward: forward must return a pair (out, cache), got {type(result).__name__}"
                        + (f" of {len(result)}" if isinstance(result, tuple) else ""))
    out, cache = result
    out = np.asarray(out, dtype=np.float64)
    dout = np.random.default_rng(0).standard_normal(out.shape)
    grads = backward(dout.copy(), cache)  # a copy: a backward that writes into dout must not change the check
    grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
    report.message = _gradient_count_problem(title, grads, arrays, names)
    if report.message:
        report.passed = False
        return _verdict(report, raise_exception)
    grads = [np.asarray(g, dtype=np.float64) for g in grads]

    def evaluate() -> list[np.ndarray]:
        return [np.array([np.sum(dout * np.asarray(forward(*arrays)[0], dtype=np.float64))])]

    baseline = evaluate()
    rng = np.random.default_rng(1)
    wrong = {}  # input name -> what is wrong with its gradient
    for i, (name, array, analytical) in enumerate(zip(names, arrays, grads)):
        header = f"check_backward: {title} disagrees with central differences for input {name!r} (input {i})"
        if (array.size > FAST_MODE_SIZE) if fast_mode is None else fast_mode:
            direction = _unit(rng.standard_normal(array.shape))
            [(central, ahead, behind)] = _differences(evaluate, array, ..., eps * direction, eps, baseline)
            projected = np.array([np.sum(analytical * direction)])
            if _compare(projected, central, ahead, behind, atol, rtol, report, lambda _: f"u . d{name}") is not None:
                wrong[name] = _mismatch_message(f"{header}, compared along one random unit direction u:",
                                                "projection", f"u . d{name}", central, projected, 0, atol, rtol)
            continue
        central, ahead, behind = (np.zeros(array.size) for _ in range(3))
        for k in range(array.size):
            [columns] = _differences(evaluate, array, np.unravel_index(k, array.shape), eps, eps, baseline)
            central[k], ahead[k], behind[k] = (float(column[0]) for column in columns)
        numerical = central.reshape(array.shape)
        report.errors[name] = analytical - numerical
        worst = _compare(analytical.ravel(), central, ahead, behind, atol, rtol, report,
                         lambda k: f"d{name}{_position(k, array.shape)}")
        if worst is not None:
            wrong[name] = "\n".join([
                _mismatch_message(f"{header}:", "gradient", f"d{name}{_position(worst, array.shape)}", numerical,
                                  analytical, worst, atol, rtol),
                _error_map(name, report.errors[name], worst, atol + rtol * np.abs(numerical))])
    if wrong:
        report.passed = False
        report.message = next(iter(wrong.values())) + "\n  per input: " + ", ".join(
            f"d{name} {'WRONG' if name in wrong else 'ok'}" for name in names)
    elif reference is not None:
        _check_reference(reference, arrays, out, dout, grads, names, atol, rtol, report)
    if report.kinks and report.passed:
        warnings.warn("check_backward: " + "; ".join(report.kinks[:3]), stacklevel=2)
    return _verdict(report, raise_exception)


def _verdict(report: BackwardCheckReport, raise_exception: bool) -> bool | BackwardCheckReport:
    if report.passed and raise_exception:
        return True
    if raise_exception:
        raise GradcheckError(report.message)
    return report


def _input_names(forward: Callable, count: int) -> list[str]:
    """The names of forward's positional parameters (``x``, ``w``, ``b``), or ``input0``, ``input1``..."""
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        parameters = []
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= count:
        return positional[:count]
    return [f"input{i}" for i in range(count)]


def _gradient_count_problem(title: str, grads: tuple, arrays: list[np.ndarray], names: list[str]) -> str:
    """Why the gradients ``backward`` returned cannot be compared (wrong count or shape), or ""."""
    if len(grads) != len(arrays):
        return (f"check_backward: {title} returned {len(grads)} gradients for {len(arrays)} inputs "
                f"({', '.join(names)}); return one per input, in order")
    for name, array, gradient in zip(names, arrays, grads):
        shape = np.shape(gradient)
        if shape != array.shape:
            return (f"check_backward: {title} returned d{name} of shape {shape} for input {name!r} of shape "
                    f"{array.shape}; a gradient has its input's shape")
    return ""


def worst_plane(name: str, error: np.ndarray, worst: int) -> tuple[tuple[int, ...], np.ndarray, str]:
    """The 2-d slice of a gradient's ``error`` that holds element ``worst`` (a flat index), for showing it.

    Args:
        name: the input's name.
        error: analytical minus numerical gradient, of any number of dimensions.
        worst: flat index of the element to show.

    Returns:
        the leading indices of the slice, the slice (at least 2-d), and its label (``dw[3, 0]``).
    """
    where = np.unravel_index(worst, error.shape)
    lead = tuple(int(k) for k in where[:-2])
    label = f"d{name}[{', '.join(map(str, lead))}]" if lead else f"d{name}"
    return lead, np.atleast_2d(error[lead]), label


def _error_map(name: str, error: np.ndarray, worst: int, tolerance: np.ndarray) -> str:
    """analytical - numerical as signed digits over the 2-d slice holding the worst element (cropped around it)."""
    lead, full_plane, sliced = worst_plane(name, error, worst)
    plane, allowed = full_plane, np.atleast_2d(tolerance[lead])
    # The worst element's row and column in the slice (0-d and 1-d errors are one row).
    row, column = ((0, 0) + tuple(np.unravel_index(worst, error.shape)))[-2:]
    top = int(np.clip(row - ERROR_MAP_SIZE // 2, 0, max(plane.shape[0] - ERROR_MAP_SIZE, 0)))
    left = int(np.clip(column - ERROR_MAP_SIZE // 2, 0, max(plane.shape[1] - ERROR_MAP_SIZE, 0)))
    window = (slice(top, top + ERROR_MAP_SIZE), slice(left, left + ERROR_MAP_SIZE))
    plane, allowed = plane[window], allowed[window]
    scale = float(np.abs(plane).max())
    digits = np.clip(np.ceil(np.abs(plane) / scale * 9), 1, 9).astype(int).astype(str)
    cells = np.where(np.abs(plane) <= allowed, " .", np.char.add(np.where(plane > 0, "+", "-"), digits))
    shown = "" if plane.shape == full_plane.shape else \
        f" rows {top}..{top + plane.shape[0] - 1}, columns {left}..{left + plane.shape[1] - 1},"
    lines = [f"  analytical - numerical over {sliced}{shown} (sign, then |error| from 1 to 9 where 9 is "
             f"{scale:.3g}; '.' within tolerance):"]
    lines += ["    " + " ".join(cells_row) for cells_row in cells]
    return "\n".join(lines)


def _check_reference(reference: Callable[..., Tensor], arrays: list[np.ndarray], out: np.ndarray, dout: np.ndarray,
                     grads: list[np.ndarray], names: list[str], atol: float, rtol: float,
                     report: BackwardCheckReport) -> None:
    """Compare forward's output and backward's gradients with gradlab's op on the same inputs and dout."""
    title = getattr(reference, "__qualname__", repr(reference))
    tensors = [Tensor(array.copy(), requires_grad=True) for array in arrays]
    result = reference(*tensors)
    if result.shape != out.shape:
        report.passed = False
        report.message = (f"check_backward: reference {title} returned shape {result.shape} but forward returned "
                          f"{out.shape}")
        return
    expected = autograd_grad(result, tensors, wrap(dout), allow_unused=True)
    pairs = [("output", "forward's output", out, result.data)]
    pairs += [(f"d{name}", f"the gradient of input {name!r}", gradient, np.zeros(gradient.shape) if ref is None
               else ref.data) for name, gradient, ref in zip(names, grads, expected)]
    for label, what, mine, theirs in pairs:
        worst = _compare(mine.ravel(), theirs.ravel(), theirs.ravel(), theirs.ravel(), atol, rtol, report,
                         lambda k: label)
        if worst is not None:
            report.passed = False
            report.message = _mismatch_message(
                f"check_backward: {what} disagrees with the reference {title}:", "values",
                f"{label}{_position(worst, mine.shape)}", theirs, mine, worst, atol, rtol, ("reference", "yours"))
            return


def finite_difference_errors(func: Callable, inputs: Any, steps: Sequence[float]) -> dict[str, np.ndarray]:
    """The relative error of a central difference against backward's gradient, for each step, in float32 and
    float64: the measurement behind ``viz.plot_gradcheck_sweep``.

    The quantity differentiated is ``v . func(x)`` along a random unit direction ``u`` of each input that
    requires grad (as ``gradcheck``'s fast mode); the exact value comes from backward in float64. Large steps
    show the truncation error of the central difference (falling as step**2), small steps the round-off of
    evaluating ``func`` (rising as machine epsilon / step), which in float32 swamps every step.

    Args:
        func: function of ``inputs`` returning a Tensor or a tuple of Tensors, as in ``gradcheck``.
        inputs: a Tensor or tuple of arguments; Tensors with ``requires_grad=True`` are perturbed.
        steps: the finite-difference steps to try.

    Returns:
        ``{"float32": errors, "float64": errors}``, each an array of ``|numerical - exact| / |exact|`` per step.
    """
    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("finite_difference_errors: no input requires grad, so there is nothing to differentiate")
    rng = np.random.default_rng(0)
    exact64 = [Tensor(x.data.astype(np.float64), requires_grad=True) if i in checked else x
               for i, x in enumerate(inputs)]
    results = _as_tuple(func(*exact64))
    outputs = _differentiable_outputs(results)
    positions = _float_output_indices(results)
    vectors = [rng.standard_normal(out.shape) for out in outputs]
    directions = {i: _unit(rng.standard_normal(inputs[i].shape)) for i in checked}
    grads = autograd_grad(outputs, [exact64[i] for i in checked], [wrap(v) for v in vectors], allow_unused=True)
    exact = sum(float(np.sum(g.data * directions[i])) for i, g in zip(checked, grads) if g is not None)
    errors = {}
    for dtype in (np.float32, np.float64):
        copies = tuple(Tensor(x.data.astype(dtype)) if i in checked else x for i, x in enumerate(inputs))

        def evaluate() -> list[np.ndarray]:
            values = _evaluate(func, copies)
            return [np.array([sum(np.sum(v * values[p]) for v, p in zip(vectors, positions))])]

        baseline = evaluate()
        numerical = np.array([sum(float(_differences(evaluate, copies[i].data, ..., step * directions[i], step,
                                                     baseline)[0][0][0]) for i in checked) for step in steps])
        errors[np.dtype(dtype).name] = np.abs(numerical - exact) / max(abs(exact), np.finfo(np.float64).tiny)
    return errors
