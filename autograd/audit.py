"""Graph audit: re-check every op of a recorded graph against finite differences, at its real shapes.

A unit test checks an op at the shapes someone thought of; a model runs it at others (a stride that
does not divide the input, a batch of one, a broadcast bias). ``gradcheck_graph`` takes the graph a
model actually recorded and re-runs each node's op on float64 copies of its real inputs, comparing
its backward with central differences (``gradcheck_report``). A wrong custom ``Function`` deep
inside a model is then the one failing row.

Graph nodes keep only what their backward saved, not their inputs, so the audit records them:
inside ``record_inputs()``, ``Function.apply`` hands every node it records, with its arguments, to
an observer (one attribute test per op when nobody observes).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from . import random as _random
from .function import AccumulateGrad, Function, Node, node_observer
from .graph import walk_graph
from .grad_mode import no_grad
from .gradcheck import gradcheck_report
from .tensor import Tensor, wrap


@contextmanager
def record_inputs() -> Iterator[list[Function]]:
    """Keep the arguments of every op recorded inside the block.

    The inputs of each node are then available through ``recorded_inputs(node)`` (the audit re-runs
    the op on them; ``viz`` shows intermediate values with them). They stay alive as long as the
    graph does, like saved tensors. Blocks nest.

    Yields:
        the list of nodes recorded in the block, in creation order (filled as the block runs).
    """
    nodes: list[Function] = []
    previous = node_observer.callback

    def observe(node: Function, args: tuple, kwargs: dict) -> None:
        versions = tuple(arg._version[0] if isinstance(arg, Tensor) else None for arg in args)
        node.metadata["recorded_inputs"] = (args, kwargs, versions)
        nodes.append(node)
        if previous is not None:
            previous(node, args, kwargs)

    node_observer.callback = observe
    try:
        yield nodes
    finally:
        node_observer.callback = previous


def recorded_inputs(node: Node) -> tuple[tuple, dict] | None:
    """The ``(args, kwargs)`` a node was applied to, if it was recorded inside ``record_inputs()``."""
    recorded = node.metadata.get("recorded_inputs")
    return None if recorded is None else recorded[:2]


@dataclass
class AuditRow:
    """The check of one op instance.

    Attributes:
        node_id: ``f"n{index}"`` with the node's index in ``walk_graph`` order (the id ``viz`` uses).
        op: the op's name.
        input_shapes: shapes of the Tensor inputs (None for other arguments).
        status: ``"pass"``, ``"FAIL"`` or ``"skip"`` (not recorded, or an input changed in place since).
        max_abs_error: largest |analytical - numerical| (nan when skipped or crashed).
        max_rel_error: the same relative to |numerical|.
        fast: whether the random-projection mode was used.
        message: why it failed or was skipped.
        node: the graph node itself.
    """

    node_id: str
    op: str
    input_shapes: tuple
    status: str
    max_abs_error: float = float("nan")
    max_rel_error: float = float("nan")
    fast: bool = False
    message: str = ""
    node: Node | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        """False only for a failed check (skipped rows are not failures)."""
        return self.status != "FAIL"


@dataclass
class GraphAudit:
    """The result of ``gradcheck_graph``: one ``AuditRow`` per op node. ``str()`` gives a table."""

    rows: list[AuditRow]

    @property
    def passed(self) -> bool:
        """True when no op failed."""
        return all(row.passed for row in self.rows)

    @property
    def failures(self) -> list[AuditRow]:
        """The rows that failed."""
        return [row for row in self.rows if not row.passed]

    def __iter__(self) -> Iterator[AuditRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        header = (f"{'node':<7} {'op':<18} {'input shapes':<40} {'mode':<5} {'max abs err':>11} "
                  f"{'max rel err':>11}  result")
        lines = [header, "-" * len(header)]
        for row in self.rows:
            shapes = ", ".join("-" if shape is None else "x".join(map(str, shape)) or "()"
                               for shape in row.input_shapes)
            lines.append(f"{row.node_id:<7} {row.op[:18]:<18} {shapes[:40]:<40} {'fast' if row.fast else 'full':<5} "
                         f"{row.max_abs_error:>11.2e} {row.max_rel_error:>11.2e}  {row.status}"
                         + (f"  {row.message.splitlines()[0]}" if row.message else ""))
        lines.append("-" * len(header))
        counts = {status: sum(row.status == status for row in self.rows) for status in ("pass", "FAIL", "skip")}
        lines.append(f"{counts['pass']} passed, {counts['FAIL']} failed, {counts['skip']} skipped "
                     f"({len(self.rows)} ops)")
        return "\n".join(lines)


def gradcheck_graph(loss: Tensor | Callable[[], Tensor], *, eps: float = 1e-6, atol: float = 1e-5,
                    rtol: float = 1e-3, fast_threshold: int = 256) -> GraphAudit:
    """Check the backward of every op in a graph against finite differences, at the op's real inputs.

    Each op node is re-run (``type(node).apply``) on float64 copies of the inputs it was applied to,
    and ``gradcheck_report`` compares its backward with central differences, for the inputs that
    required grad. Float ``dtype`` arguments become float64 too, so casts do not lose precision.
    The random generator is reset before each evaluation, so ops that draw random numbers (dropout)
    see the same draws every time. The model's own tensors are never modified.

    Args:
        loss: a function of no arguments that builds the graph and returns its output (it is run
            once inside ``record_inputs()``), or an output Tensor whose graph was built inside
            ``record_inputs()``. Run it before backward, or the graph's saved tensors are gone
            (the audit does not need them, but ``record_inputs`` must have seen the forward).
        eps: finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        fast_threshold: ops whose checked inputs or outputs have more elements than this are
            checked with one random projection v^T J u (``fast_mode``) instead of the full Jacobian.

    Returns:
        a ``GraphAudit`` with one row per op, in ``walk_graph`` order from the output
        (``print(report)`` shows the table; ``viz.make_dot(loss, audit=report)`` marks failures).

    Raises:
        ValueError: if ``loss`` has no graph, or none of its nodes was recorded.

    Example::

        >>> report = autograd.gradcheck_graph(lambda: F.cross_entropy(model(x), y))
        >>> report.failures
        [AuditRow(node_id='n7', op='MyBrokenOp', ...)]
    """
    if callable(loss) and not isinstance(loss, Tensor):
        with record_inputs():
            loss = loss()
    if not isinstance(loss, Tensor) or loss.grad_fn is None:
        raise ValueError("gradcheck_graph: expected an output Tensor with a graph (a grad_fn), or a function "
                         "returning one; got " + (f"a tensor of shape {loss.shape} without grad_fn"
                                                  if isinstance(loss, Tensor) else type(loss).__name__))
    nodes = walk_graph([loss.grad_fn])
    if not any(recorded_inputs(node) is not None for node in nodes):
        raise ValueError("gradcheck_graph: the graph's inputs were not recorded; build it inside "
                         "`with autograd.record_inputs():`, or pass a function that builds it "
                         "(gradcheck_graph(lambda: loss_fn(model(x), y)))")
    rows = [_check_node(f"n{index}", node, eps, atol, rtol, fast_threshold)
            for index, node in enumerate(nodes) if not isinstance(node, AccumulateGrad)]
    return GraphAudit(rows)


def _check_node(node_id: str, node: Function, eps: float, atol: float, rtol: float,
                fast_threshold: int) -> AuditRow:
    recorded = node.metadata.get("recorded_inputs")
    if recorded is None:
        return AuditRow(node_id, node.name(), (), "skip", message="inputs not recorded", node=node)
    args, kwargs, versions = recorded
    shapes = tuple(arg.data.shape if isinstance(arg, Tensor) else None for arg in args)
    row = AuditRow(node_id, node.name(), shapes, "skip", node=node)
    for arg, version in zip(args, versions):
        if isinstance(arg, Tensor) and arg._version[0] != version:
            row.message = "an input was modified in place after the op ran"
            return row
    inputs = tuple(_float64_copy(arg, needed) for arg, needed in zip(args, node.needs_input_grad))
    kwargs = {name: _float64_copy(value, False) for name, value in kwargs.items()}
    op = type(node)
    state = _random.generator().bit_generator.state

    def function(*arguments: Any) -> Any:
        _random.generator().bit_generator.state = state
        return op.apply(*arguments, **kwargs)

    try:
        with no_grad():
            outputs = function(*inputs)
        sizes = [out.data.size for out in (outputs if isinstance(outputs, tuple) else (outputs,))
                 if isinstance(out, Tensor)]
        row.fast = max(sizes + [arg.data.size for arg in inputs if isinstance(arg, Tensor)]) > fast_threshold
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = gradcheck_report(function, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=row.fast)
            if not report.passed:
                # Real activations sit on kinks all the time (zeros after a ReLU, ties in a max-pool
                # window), where no backward matches finite differences. A correct op passes a step away.
                nearby = gradcheck_report(function, _jittered(inputs), eps=eps, atol=atol, rtol=rtol,
                                          fast_mode=row.fast)
                if nearby.passed:
                    report = nearby
                    row.message = ("the recorded inputs sit on a kink (ties or zeros); checked at a point "
                                   "1e-4 away instead")
    except Exception as error:  # a crash while re-running the op is a failure of that op, reported on its row
        row.status, row.message = "FAIL", f"{type(error).__name__}: {error}"
        return row
    row.status = "pass" if report.passed else "FAIL"
    row.max_abs_error, row.max_rel_error = report.max_abs_error, report.max_rel_error
    row.message = report.message or row.message
    return row


def _jittered(inputs: tuple) -> tuple:
    """The inputs that require grad moved by relative noise of 1e-4, which breaks ties and leaves zeros."""
    rng = np.random.default_rng(0)
    moved = []
    for value in inputs:
        if isinstance(value, Tensor) and value.requires_grad:
            scale = 1e-4 * max(1.0, float(np.abs(value.data).max(initial=0.0)))
            value = wrap(value.data + scale * rng.standard_normal(value.data.shape))
            value.requires_grad = True
        moved.append(value)
    return tuple(moved)


def _float64_copy(value: Any, requires_grad: bool) -> Any:
    """A private float64 copy of a float argument (other Tensors and arrays copied as they are)."""
    if isinstance(value, Tensor):
        data = value.data.astype(np.float64) if value.data.dtype.kind == "f" else value.data.copy()
        copy = wrap(data)
        copy.requires_grad = requires_grad
        return copy
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.dtype) and value.kind == "f":
        return np.dtype(np.float64)
    return value
