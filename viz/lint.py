"""``lint``: run one training step of a model on an example batch and report the wiring and settings mistakes
that make CNN training fail quietly (a flat loss curve hours later), before training starts.

Each rule reads the recorded graph through the public API (``autograd.graph``: node names, edges, attributes,
the inputs recorded by ``autograd.record_inputs``, the creation stacks of ``autograd.detect_anomaly``) and the
modules through their forward hooks, so a new op needs no edit here: rules name only the ops they are about
(softmax before cross-entropy, say), and everything else is read from values, shapes and gradients.

The rules (``RULES``) are shared with ``viz.HealthMonitor``, which checks the ones that need a training loop
(a missing ``zero_grad``, the update-to-weight ratio) step by step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

import nn
from autograd.anomaly import created_at, detect_anomaly
from autograd.audit import record_inputs, recorded_inputs
from autograd.grad_mode import no_grad
from autograd.graph import AccumulateGrad, Node, walk_graph
from autograd.tensor import Tensor

from .dot import Digraph
from .graph import GraphNode, _produced_tensors
from .model import _first_tensor, draw_model


@dataclass(frozen=True)
class Rule:
    """One kind of mistake: its id, how bad it is, why it matters and how to fix it (one sentence each)."""

    id: str
    severity: str
    why: str
    fix: str


RULES: dict[str, Rule] = {rule.id: rule for rule in (
    Rule("unused-parameter", "warning", "a parameter that never reaches the loss gets no gradient and never trains",
         "use it in forward, delete it, or freeze it on purpose with requires_grad_(False)"),
    Rule("unused-module", "warning", "the module runs in forward but its output never reaches the loss, so its "
         "compute is wasted and its parameters never train", "feed its output into the rest of the model, or stop "
         "calling it"),
    Rule("detached-branch", "error", "a tensor cut from autograd (.detach(), .data or a round trip through numpy) "
         "stops every gradient to the layers before it", "keep the computation in gradlab ops on the tensor itself"),
    Rule("softmax-before-loss", "error", "cross_entropy applies log_softmax itself (binary_cross_entropy_with_logits "
         "applies sigmoid), so applying it first squashes the logits and shrinks the gradients",
         "pass the raw logits to the loss"),
    Rule("clipped-logits", "warning", "a clipping activation right before softmax or cross-entropy turns every "
         "negative logit into the same value, so the model cannot rank the classes it rules out",
         "remove the activation after the last layer"),
    Rule("relu-before-residual", "warning", "a clipping activation at the end of a residual branch makes F(x) >= 0, "
         "so the block can only add to its input", "apply the activation after the addition: relu(x + F(x))"),
    Rule("eval-mode-in-training", "error", "BatchNorm and Dropout in eval mode during a training step use frozen "
         "statistics and no dropout, so training does not do what the model was designed for",
         "call model.train() before the training loop (and after each evaluation)"),
    Rule("train-mode-in-evaluation", "error", "BatchNorm and Dropout in train mode during evaluation normalise with "
         "the test batch, update the running statistics and drop units, so the scores are noisy and wrong",
         "call model.eval() before evaluating"),
    Rule("dtype-mismatch", "warning", "a tensor whose dtype differs from the parameters' silently runs the rest of "
         "the forward in the wider dtype: twice the memory and time for float64, or a lossy cast",
         "cast the batch to the parameters' dtype (x.float()) where it is made"),
    Rule("bias-before-norm", "warning", "batch norm subtracts the per-channel mean right after, so the layer's bias "
         "cancels out and is wasted", "build the layer with bias=False"),
    Rule("activation-scale", "warning", "a layer that scales its activations far more than Xavier or He "
         "initialisation would makes the scale grow or shrink layer by layer, saturating or starving what follows",
         "initialise the layer with nn.init.kaiming_normal_ (ReLU) or xavier_uniform_ (tanh), or normalise"),
    Rule("saturated-units", "warning", "saturated sigmoid or tanh units have a derivative near 0 and pass almost no "
         "gradient back", "scale the inputs or the initialisation down, or normalise before the activation"),
    Rule("dead-relu", "warning", "a ReLU unit that is never active on the batch passes no gradient and stops "
         "learning for good", "lower the learning rate, initialise the biases at 0, or use leaky_relu"),
    Rule("gradient-depth", "warning", "gradients that shrink or grow by orders of magnitude from the last layer to "
         "the first train the early layers far slower or faster than the late ones",
         "add normalisation or residual connections, or use He initialisation"),
    Rule("non-finite", "error", "a NaN or inf spreads through every later op and every gradient",
         "fix the op named here (a log of 0, a division by 0, an overflow), e.g. with an epsilon or a clamp"),
    Rule("missing-zero-grad", "error", ".grad still held the previous step's gradient when a new backward added "
         "into it, so every step follows the sum of all gradients so far", "call optimizer.zero_grad() in every "
         "step, before backward"),
    Rule("update-ratio", "warning", "the update-to-weight ratio of an optimizer step (about 1e-3 is healthy) tells "
         "whether a layer learns too fast or at all", "lower the learning rate if it is far above 1e-3, raise it if "
         "it is far below"),
)}

# The ops a rule is about; an op missing here is simply not checked by that rule.
LOSSES_WITH_SOFTMAX = ("CrossEntropy",)
SOFTMAXES = ("Softmax", "LogSoftmax")
CLIPPING = ("Relu", "Clamp")
SATURATING = {"Sigmoid": 0.01, "Tanh": 0.02}  # how close to the output's bounds counts as saturated
# Thresholds, documented in the README's lint section.
SATURATED_SHARE = 0.5
DEAD_SHARE = 0.5
GAIN_TOLERANCE = 2.0
GRADIENT_DEPTH_RATIO = 1e3
# The modules whose behaviour differs between train and eval mode.
MODE_DEPENDENT = (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm, nn.Dropout, nn.Dropout2d)
NORMALIZATIONS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm)


@dataclass
class Finding:
    """One problem found.

    Attributes:
        rule: the rule's id (a key of ``RULES``).
        module: dotted name of the module concerned ("" for the model itself).
        op: the op concerned (its ``name()``), or "" when the finding is about a module.
        message: what was measured, in one line ("Relu clips the values fed to CrossEntropy: 67% of them equal its
            minimum").
        node_id: the graph node it is drawn on (``n<index>`` as in ``viz.draw_model``), if any.
        step: the training step (``viz.HealthMonitor`` warnings), or None.
    """

    rule: str
    module: str
    op: str
    message: str
    node_id: str | None = None
    step: int | None = None

    @property
    def severity(self) -> str:
        """``"error"`` or ``"warning"``."""
        return RULES[self.rule].severity

    @property
    def why(self) -> str:
        """One sentence on why it matters."""
        return RULES[self.rule].why

    @property
    def fix(self) -> str:
        """One sentence on the fix."""
        return RULES[self.rule].fix

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready data, with its rule's severity, why and fix."""
        return {"rule": self.rule, "severity": self.severity, "module": self.module, "op": self.op,
                "message": self.message, "why": self.why, "fix": self.fix, "node_id": self.node_id,
                "step": self.step}


@dataclass
class LayerStats:
    """What ``lint`` measured at one weight layer (a module with a weight of 2 or more dimensions).

    Attributes:
        module: its dotted name.
        rms_in, rms_out: root mean square of its input and output on the example batch.
        gain: ``rms_out / rms_in``.
        expected: the range of gains Xavier, He and PyTorch's default initialisation give for its fans.
        grad_ratio: ``|grad| / |weight|`` of its weight (None without a gradient).
    """

    module: str
    rms_in: float
    rms_out: float
    gain: float
    expected: tuple[float, float]
    grad_ratio: float | None = None


@dataclass
class LintReport:
    """The findings of ``lint``; ``print(report)`` shows them as a table, ``report.draw()`` on the graph.

    Attributes:
        findings: the problems, in rule order.
        layers: per weight layer, in forward order: activation scale and gradient ratio.
        dead: per ReLU op (by module), the share of units never active on the batch.
        replay: draws the model's graph again with the given ``draw_model`` options (what ``draw`` calls);
            None for a report that has no graph (an evaluation lint, or a model cut from autograd whole).
    """

    findings: list[Finding]
    layers: list[LayerStats] = field(default_factory=list)
    dead: dict[str, float] = field(default_factory=dict)
    replay: Callable[..., Digraph] | None = field(default=None, repr=False)

    @property
    def clean(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    def rules(self) -> set[str]:
        """The ids of the rules that found something."""
        return {finding.rule for finding in self.findings}

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __str__(self) -> str:
        return format_findings(self.findings, "lint")

    def draw(self, depth: int | None = 1, rankdir: str = "TB") -> Digraph:
        """The model's graph (``viz.draw_model``, gradients shown) with each finding as a badge on its node.

        Findings about something that is not on the graph (an unused parameter) are listed in the graph's label.

        Args:
            depth: module levels drawn as clusters, as in ``draw_model`` (None: every op).
            rankdir: graphviz layout direction.

        Returns:
            a ``Digraph``; ``.render("lint", format="svg")`` writes it.
        """
        if self.replay is None:
            raise RuntimeError("lint: this report has no graph to draw: an evaluation lint (training=False) runs "
                               "under no_grad, and a model whose output is cut from autograd records none")
        badges: dict[str, list[str]] = {}
        elsewhere = []
        for finding in self.findings:
            if finding.node_id is None:
                elsewhere.append(f"{finding.rule}: {finding.module or 'model'}: {finding.message}")
            else:
                badges.setdefault(finding.node_id, []).append(f"{finding.rule}: {_short(finding.message)}")
        dot = self.replay(depth=depth, rankdir=rankdir, badges=badges, show_grads=True, rollup=False)
        if elsewhere:
            dot.attr(label="lint, not on the graph:\\l" + "\\l".join(elsewhere) + "\\l", labelloc="t", labeljust="l")
        return dot


def format_findings(findings: Sequence[Finding], title: str) -> str:
    """A plain-text table of findings: severity, rule, step (if any), module, op and what was found, then the
    why and the fix of each rule once.

    Args:
        findings: what to list, in the order given.
        title: the first word of the header line ("lint", "health over 120 steps").

    Returns:
        the table, or ``"{title}: clean (0 findings)"`` when there is nothing to list.
    """
    if not findings:
        return f"{title}: clean (0 findings)"
    errors = sum(finding.severity == "error" for finding in findings)
    header = f"{title}: {_count(len(findings), 'finding')} ({_count(errors, 'error')}, " \
             f"{_count(len(findings) - errors, 'warning')})"
    with_steps = any(finding.step is not None for finding in findings)
    columns = ["severity", "rule"] + (["step"] if with_steps else []) + ["module", "op", "found"]
    rows = [[finding.severity, finding.rule] + ([str(finding.step)] if with_steps else [])
            + [finding.module or "(model)", finding.op or "-", finding.message] for finding in findings]
    widths = [max(len(column), *(len(row[index]) for row in rows)) for index, column in enumerate(columns[:-1])]
    lines = [header, "  ".join(column.ljust(width) for column, width in zip(columns, widths)) + "  found"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    lines.append("")
    for rule_id in dict.fromkeys(finding.rule for finding in findings):
        rule = RULES[rule_id]
        lines.append(f"{rule_id}: {rule.why}.")
        lines.append(f"{' ' * len(rule_id)}  fix: {rule.fix}.")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _NoGraph(Exception):
    """The model's output does not require grad: there is no graph to lint."""


@dataclass
class _Call:
    """One forward call of a module, seen by its forward hook."""

    name: str
    module: Any
    inputs: tuple[Tensor, ...]
    output: Tensor | None
    start: int  # how many ops had been recorded when the call started
    created: int  # ... and when it returned


def lint(model: nn.Module, example_input: Any, loss_fn: Callable[[Any], Tensor] | None = None, *,
         training: bool = True) -> LintReport:
    """Check a model for the mistakes that make training fail quietly, on one forward and backward of an example.

    The model's parameters, their ``.grad`` and the buffers (batch norm's running statistics) are left as they
    were. The rules are listed in ``viz.LINT_RULES``; the README's lint section lists their thresholds.

    Args:
        model: the ``nn.Module`` to check, in the mode it would train in.
        example_input: one batch (a Tensor, or a tuple of the forward's arguments).
        loss_fn: maps the model's output to the scalar loss (``lambda logits: F.cross_entropy(logits, labels)``).
            None: cross-entropy against fixed random labels for an ``(N, C)`` output, else half the mean square.
        training: check a training step (forward and backward). False: check an evaluation forward (under
            ``no_grad``): only the modes of the modules and the dtypes.

    Returns:
        a ``LintReport``: ``print(report)`` for the table, ``report.clean``, ``report.draw()`` for the graph.

    Example::

        >>> report = viz.lint(model, images, lambda logits: F.cross_entropy(logits, labels))
        >>> print(report)
        lint: clean (0 findings)
    """
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    buffers = _copy_buffers(model)
    try:
        if not training:
            return _lint_evaluation(model, inputs)
        return _Linter(model, inputs, loss_fn).run()
    finally:
        _restore(buffers)


def _copy_buffers(model: nn.Module) -> list[tuple[Tensor, np.ndarray]]:
    """The buffers (batch norm's running statistics) and a copy of their values, for ``_restore``."""
    return [(buffer, buffer.data.copy()) for buffer in model.buffers()]


def _restore(buffers: list[tuple[Tensor, np.ndarray]]) -> None:
    for buffer, data in buffers:
        buffer.data = data


def _floating(value: Any) -> bool:
    return isinstance(value, Tensor) and value.data.dtype.kind == "f"


def _param_dtype(model: nn.Module) -> np.dtype | None:
    """The dtype most floating parameters have."""
    dtypes = [param.data.dtype for param in model.parameters() if param.data.dtype.kind == "f"]
    return max(set(dtypes), key=dtypes.count) if dtypes else None


def _watch_calls(model: nn.Module, calls: list[_Call], created: list | None) -> list:
    """Forward hooks on every module that append a ``_Call`` per call; returns their handles."""
    names = {id(module): name for name, module in model.named_modules()}
    starts: dict[int, list[int]] = {}

    def before(module: Any, args: tuple) -> None:
        starts.setdefault(id(module), []).append(len(created) if created is not None else 0)

    def after(module: Any, args: tuple, output: Any) -> None:
        calls.append(_Call(names[id(module)], module, tuple(arg for arg in args if isinstance(arg, Tensor)),
                           _first_tensor(output), starts[id(module)].pop(), len(created) if created is not None else 0))

    handles = [module.register_forward_pre_hook(before) for module in model.modules()]
    return handles + [module.register_forward_hook(after) for module in model.modules()]


def _mode_findings(calls: list[_Call], training: bool) -> list[Finding]:
    findings, seen = [], set()
    for call in calls:
        module = call.module
        if isinstance(module, MODE_DEPENDENT) and module.training != training and call.name not in seen:
            seen.add(call.name)
            rule = "train-mode-in-evaluation" if not training else "eval-mode-in-training"
            findings.append(Finding(rule, call.name, "", f"{type(module).__name__} is in "
                                    f"{'train' if module.training else 'eval'} mode during "
                                    f"{'a training step' if training else 'evaluation'}"))
    return findings


def _dtype_findings(model: nn.Module, inputs: tuple, calls: list[_Call]) -> list[Finding]:
    """The input, or the first module, whose floating dtype differs from the parameters'."""
    expected = _param_dtype(model)
    if expected is None:
        return []
    for position, value in enumerate(inputs):
        if _floating(value) and value.data.dtype != expected:
            first = next((call.name for call in calls if call.name and any(
                param.data.dtype == expected for param in call.module.parameters(recurse=False))), "")
            return [Finding("dtype-mismatch", first, "", f"input {position} is {value.data.dtype} but the parameters "
                            f"are {expected}, so the forward runs in {np.result_type(value.data.dtype, expected)}")]
    for call in calls:
        output = call.output
        if _floating(output) and output.data.dtype != expected and all(
                not _floating(value) or value.data.dtype == expected for value in call.inputs):
            return [Finding("dtype-mismatch", call.name, "", f"{type(call.module).__name__} turns {expected} "
                            f"inputs into a {output.data.dtype} output")]
    return []


def _lint_evaluation(model: nn.Module, inputs: tuple) -> LintReport:
    calls: list[_Call] = []
    handles = _watch_calls(model, calls, None)
    try:
        with no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return LintReport(_mode_findings(calls, training=False) + _dtype_findings(model, inputs, calls))


def _default_loss(output: Tensor) -> Tensor:
    """Cross-entropy against fixed random labels for ``(N, C)`` logits; half the mean square otherwise.

    Not ``output.sum()``: its gradient is the same for every sample, and batch norm removes such a gradient
    entirely, so every layer before the last batch norm would look as if its gradient vanished.
    """
    if output.ndim == 2:
        labels = np.random.default_rng(0).integers(0, output.shape[1], size=output.shape[0])
        return nn.functional.cross_entropy(output, Tensor(labels))
    return (output * output).mean() * 0.5


def dead_share(values: np.ndarray) -> float:
    """The share of a ReLU's units never active on a batch.

    Args:
        values: the ReLU's output, ``(N, C, *)``: a unit is a channel (a feature for ``(N, C)``).

    Returns:
        the share of units whose output is 0 for every sample and position.
    """
    return float(np.mean(values.max(axis=(0,) + tuple(range(2, values.ndim))) <= 0))


def _rms(array: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(array, dtype=np.float64))))


def _where(node: Node) -> str:
    """``file:line`` of the innermost frame outside gradlab's own packages that created ``node``, if recorded."""
    stack = created_at(node)
    if not stack:
        return ""
    for frame in reversed(stack):
        location = frame.strip().splitlines()[0]
        if not any(f"/{package}/" in location for package in ("autograd", "nn", "viz", "optim")):
            return " (created at " + location.removeprefix("File ").replace('", line ', ":").strip('"') + ")"
    return ""


class _Linter:
    """One run of the rules over one recorded training step."""

    def __init__(self, model: nn.Module, inputs: tuple, loss_fn: Callable[[Any], Tensor] | None) -> None:
        self.model = model
        # A copy of the batch that requires grad: then every tensor computed from it should too, and one that
        # does not was cut from the graph.
        self.inputs = tuple(value.detach().requires_grad_() if _floating(value) else value for value in inputs)
        self.batch = next((value.shape[0] for value in inputs if isinstance(value, Tensor) and value.ndim), None)
        self.loss_fn = loss_fn or _default_loss
        self.modules = dict(model.named_modules())
        self.findings: list[Finding] = []

    def run(self) -> LintReport:
        model = self.model
        calls: list[_Call] = []
        anomaly = detect_anomaly()
        outputs: list[Any] = []

        def loss(output: Any) -> Tensor:
            # The forward ran in anomaly mode, so every op knows the line that created it. Backward runs outside
            # it: its error would stop backward before the graph is drawn; node hooks do the same check instead.
            anomaly.__exit__(None, None, None)
            outputs.append(output)
            tensor = _first_tensor(output)
            if tensor is None or not tensor.requires_grad:
                raise _NoGraph("the model's output")
            value = self.loss_fn(output)
            if not value.requires_grad:
                raise _NoGraph("the loss")
            for node in walk_graph([value.grad_fn]):
                if not isinstance(node, AccumulateGrad):
                    node.register_hook(self.watch_backward(node))
            return value

        graph = where = None
        self.made_nan: Node | None = None
        with record_inputs() as created:
            handles = _watch_calls(model, calls, created)
            anomaly.__enter__()
            try:
                graph = draw_model(model, *self.inputs, depth=None, show_grads=True, loss_fn=loss).graph
            except _NoGraph as cut:
                where = str(cut)
            finally:
                anomaly.__exit__(None, None, None)
                for handle in handles:
                    handle.remove()
        self.calls, self.created = calls, created
        self.findings += _mode_findings(calls, training=True)
        self.findings += _dtype_findings(model, self.inputs, calls)
        if graph is None:
            self.findings.insert(0, Finding("detached-branch", "", "output", f"{where} does not require grad (cut "
                                            f"by .detach(), .data, numpy or no_grad): nothing can train"))
            return LintReport(self.findings)
        self.graph = graph
        self.by_node = {node.node: node for node in graph.nodes if node.node is not None}
        self.by_id = {node.id: node for node in graph.nodes}
        self.inputs_of: dict[str, list[tuple[Any, GraphNode]]] = {}
        for edge in graph.edges:
            self.inputs_of.setdefault(edge.target, []).append((edge, self.by_id[edge.source]))
        self.values = _produced_tensors(list(created), (_first_tensor(outputs[0]),))
        explained = self.cuts()
        self.unused(explained)
        self.losses()
        self.residuals()
        self.biases()
        layers = self.scales()
        dead = self.units()
        self.depth(layers)
        self.non_finite()
        order = list(RULES)
        self.findings.sort(key=lambda finding: order.index(finding.rule))
        model_inputs = self.inputs
        loss_fn = self.loss_fn

        def replay(**options: Any) -> Digraph:
            buffers = _copy_buffers(model)
            try:
                return draw_model(model, *model_inputs, loss_fn=loss_fn, **options)
            finally:
                _restore(buffers)

        return LintReport(self.findings, layers, dead, replay)

    # ----------------------------------------------------------------- helpers
    def node_of_module(self, name: str) -> str | None:
        """The id of the first op node the module made (where its badges go)."""
        return next((node.id for node in self.graph.nodes if node.kind == "op" and node.module == name), None)

    def value(self, node: GraphNode) -> np.ndarray | None:
        tensor = self.values.get((node.node, 0))
        return None if tensor is None else tensor.data

    def producer(self, node: GraphNode, position: int = 0) -> GraphNode | None:
        inputs = [source for edge, source in self.inputs_of.get(node.id, []) if source.kind == "op"]
        return inputs[position] if len(inputs) > position else None

    def add(self, rule: str, node: GraphNode | None, message: str, module: str | None = None) -> None:
        self.findings.append(Finding(rule, node.module if module is None and node is not None else module or "",
                                     node.name if node is not None and node.kind == "op" else "", message,
                                     None if node is None else node.id))

    # ----------------------------------------------------------------- rules
    def cuts(self) -> set:
        """Tensors computed from the batch that no longer require grad; returns the graph nodes upstream of the
        cuts (their parameters and modules get no gradient because of the cut, and are not reported again)."""
        params = {id(tensor) for tensor in self.model.parameters()}
        known = params | {id(tensor) for tensor in self.model.buffers()} | {id(value) for value in self.inputs}
        in_graph = set(self.by_node)
        explained: set = set()
        seen: set[int] = set()
        model_end = next(call.created for call in self.calls if call.module is self.model)
        for position, consumer in enumerate(self.created):
            recorded = recorded_inputs(consumer)
            if recorded is None or consumer not in in_graph or position >= model_end:
                continue  # the loss's own constants (targets) are not the model's activations
            for argument in recorded[0]:
                if not _floating(argument) or argument.requires_grad or id(argument) in known or id(argument) in seen:
                    continue
                if self.batch is None or argument.ndim == 0 or argument.shape[0] != self.batch:
                    continue  # a constant (a mask, a table), not an activation of the batch
                if np.all((argument.data == 0) | (argument.data == 1)):
                    continue  # a mask made by a comparison ((x > 0).float()), which has no gradient by nature
                seen.add(id(argument))
                node = self.by_node[consumer]
                source = self.source_of(position)
                if source is None:
                    how, upstream = "a tensor made outside autograd", []
                else:
                    owner = self.owner_of(source)
                    how = f"the output of {source.name()}" + (f" in {owner}" if owner else "")
                    upstream = walk_graph([source])
                    explained.update(upstream)
                lost = sum(isinstance(item, AccumulateGrad) and id(item.variable) in params for item in upstream)
                self.add("detached-branch", node, f"{node.name} reads {how}, cut from autograd (.detach(), .data "
                         f"or numpy)" + (f": {lost} parameters before it get no gradient" if lost else ""))
        return explained

    def source_of(self, position: int) -> Node | None:
        """The op a tensor read by the op at ``position`` was most likely cut from: the latest op recorded
        before it that never reaches the loss."""
        return next((node for node in reversed(self.created[:position]) if node not in self.by_node), None)

    def owner_of(self, node: Node) -> str:
        """The innermost module whose forward recorded ``node``."""
        index = self.created.index(node)
        calls = [call for call in self.calls if call.start <= index < call.created]
        return min(calls, key=lambda call: call.created - call.start).name if calls else ""

    def unused(self, explained: set) -> None:
        reached = {id(node.node.variable) for node in self.graph.nodes if isinstance(node.node, AccumulateGrad)}
        lost = {id(node.variable) for node in explained if isinstance(node, AccumulateGrad)}
        by_module: dict[str, list[str]] = {}
        for name, param in self.model.named_parameters():
            if param.requires_grad and id(param) not in reached and id(param) not in lost:
                owner, _, leaf = name.rpartition(".")
                by_module.setdefault(owner, []).append(leaf)
        for owner, names in by_module.items():
            self.findings.append(Finding("unused-parameter", owner, "", f"{', '.join(names)} never reach the loss"
                                         if len(names) > 1 else f"{names[0]} never reaches the loss"))
        unused = {}
        for call in self.calls:
            output = call.output
            if call.name and output is not None and output.grad_fn is not None and output.grad_fn not in self.by_node \
                    and output.grad_fn not in explained:
                unused[call.name] = call
        for name, call in unused.items():
            parts = name.split(".")
            if any(".".join(parts[:depth]) in unused for depth in range(1, len(parts))):
                continue  # inside an unused module: that one is reported
            self.findings.append(Finding("unused-module", name, "", f"the output of this {type(call.module).__name__} "
                                         f"never reaches the loss"))

    def losses(self) -> None:
        for node in self.graph.nodes:
            if node.kind != "op":
                continue
            feeds_loss = node.name in LOSSES_WITH_SOFTMAX
            producer = self.producer(node)
            if producer is None:
                continue
            if feeds_loss and producer.name in SOFTMAXES:
                self.add("softmax-before-loss", producer, f"{producer.name} feeds {node.name}, which applies "
                         f"log_softmax itself")
            if node.name == "Softplus":  # binary_cross_entropy_with_logits is built on softplus(+-x)
                source = producer if producer.name != "Neg" else self.producer(producer)
                if source is not None and source.name == "Sigmoid" and not any(
                        finding.node_id == source.id for finding in self.findings):
                    self.add("softmax-before-loss", source, "Sigmoid feeds binary_cross_entropy_with_logits, which "
                             "applies sigmoid itself")
            if (feeds_loss or node.name in SOFTMAXES) and producer.name in CLIPPING and not any(
                    finding.node_id == producer.id and finding.rule == "clipped-logits" for finding in self.findings):
                values = self.value(producer)
                share = "" if values is None else f": {np.mean(values == values.min()):.0%} of them equal its minimum"
                self.add("clipped-logits", producer, f"{producer.name} clips the values fed to {node.name}{share}")

    def residuals(self) -> None:
        for node in self.graph.nodes:
            if not node.residual:
                continue
            for edge, source in self.inputs_of.get(node.id, []):
                if not edge.skip and source.kind == "op" and source.name in CLIPPING:
                    self.add("relu-before-residual", source, f"{source.name} ends the residual branch added by "
                             f"{node.name}")

    def biases(self) -> None:
        for node in self.graph.nodes:
            module = self.modules.get(node.module)
            if node.kind != "op" or not isinstance(module, NORMALIZATIONS):
                continue
            producer = self.producer(node)
            if producer is None or producer.module == node.module:
                continue
            owner = self.modules.get(producer.module)
            bias = getattr(owner, "bias", None) if owner is not None else None
            if isinstance(bias, Tensor) and any(isinstance(source.node, AccumulateGrad) and source.node.variable is bias
                                                for _, source in self.inputs_of.get(producer.id, [])):
                self.add("bias-before-norm", producer, f"{producer.name} adds a bias that the {type(module).__name__} "
                         f"after it ({node.module}) cancels")

    def scales(self) -> list[LayerStats]:
        """Per weight layer, its gain (rms out / rms in) against what Xavier, He and PyTorch's default init give."""
        layers, seen = [], set()
        grads = {id(node.node.variable): node.grad for node in self.graph.nodes
                 if isinstance(node.node, AccumulateGrad) and node.grad is not None}
        for call in self.calls:
            weight = dict(call.module.named_parameters(recurse=False)).get("weight")
            if weight is None or weight.ndim < 2 or call.name in seen or not call.inputs or call.output is None:
                continue
            if not _floating(call.inputs[0]):
                continue  # a lookup (an embedding reads indices): no product of weights and inputs to scale
            seen.add(call.name)
            rms_in, rms_out = _rms(call.inputs[0].data), _rms(call.output.data)
            receptive = int(np.prod(weight.shape[2:]))
            fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
            # Gains (rms out / rms in) of zero-mean weights: sqrt(fan_in * var(w)). He gives sqrt(2) with
            # mode="fan_in" and sqrt(2 fan_in / fan_out) with "fan_out", Xavier sqrt(2 fan_in / (fan_in + fan_out)),
            # PyTorch's default (kaiming_uniform_, a=sqrt(5)) 1/sqrt(3).
            gains = (math.sqrt(2), math.sqrt(2 * fan_in / fan_out), math.sqrt(2 * fan_in / (fan_in + fan_out)),
                     1 / math.sqrt(3))
            expected = (min(gains), max(gains))
            grad = grads.get(id(weight))
            weight_norm = float(np.linalg.norm(weight.data))
            ratio = grad.norm / weight_norm if grad is not None and weight_norm > 0 else None
            gain = rms_out / rms_in if rms_in > 0 else math.nan
            layers.append(LayerStats(call.name, rms_in, rms_out, gain, expected, ratio))
            low, high = expected[0] / GAIN_TOLERANCE, expected[1] * GAIN_TOLERANCE
            if math.isfinite(gain) and not low <= gain <= high:
                self.findings.append(Finding("activation-scale", call.name, "", f"scales the activations' rms by "
                                             f"{gain:.3g} (Xavier/He give {expected[0]:.2f}-{expected[1]:.2f}): "
                                             f"{rms_in:.3g} -> {rms_out:.3g}", self.node_of_module(call.name)))
        return layers

    def units(self) -> dict[str, float]:
        dead_shares = {}
        for node in self.graph.nodes:
            values = self.value(node) if node.kind == "op" else None
            if values is None or values.size == 0 or values.dtype.kind != "f":
                continue
            if node.name in SATURATING:
                margin = SATURATING[node.name]
                low = 0.0 if node.name == "Sigmoid" else -1.0
                share = float(np.mean((values < low + margin) | (values > 1.0 - margin)))
                if share >= SATURATED_SHARE:
                    self.add("saturated-units", node, f"{share:.0%} of the {node.name} outputs are saturated")
            elif node.name == "Relu" and values.ndim >= 2:
                share = dead_share(values)
                dead_shares[node.module or node.id] = share
                if share >= DEAD_SHARE:
                    self.add("dead-relu", node, f"{share:.0%} of the {values.shape[1]} units are never active on the "
                             f"batch of {values.shape[0]}")
        return dead_shares

    def depth(self, layers: list[LayerStats]) -> None:
        ratios = [layer for layer in layers if layer.grad_ratio is not None and math.isfinite(layer.grad_ratio)]
        if len(ratios) < 2 or ratios[-1].grad_ratio == 0:
            return
        first, last = ratios[0], ratios[-1]
        ratio = first.grad_ratio / last.grad_ratio
        if not 1 / GRADIENT_DEPTH_RATIO <= ratio <= GRADIENT_DEPTH_RATIO:
            kind = "vanish" if ratio < 1 else "explode"
            self.findings.append(Finding("gradient-depth", first.module, "", f"gradients {kind} with depth: |grad|/|w| "
                                         f"is {first.grad_ratio:.2g} at {first.module} and {last.grad_ratio:.2g} at "
                                         f"{last.module} (ratio {ratio:.2g})", self.node_of_module(first.module)))

    def non_finite(self) -> None:
        """The first op (in creation order) whose output is NaN or inf from finite inputs; else the first op
        whose backward made a non-finite gradient from a finite one."""
        for position, value in enumerate(self.inputs):
            if _floating(value) and not np.isfinite(value.data).all():
                self.findings.append(Finding("non-finite", "", "input", f"input {position} holds NaN or inf"))
                return
        for op in self.created:
            node = self.by_node.get(op)
            recorded = recorded_inputs(op)
            output = self.values.get((op, 0))
            if node is None or recorded is None or output is None or np.isfinite(output.data).all():
                continue
            if all(not _floating(argument) or np.isfinite(argument.data).all() for argument in recorded[0]):
                self.add("non-finite", node, f"{node.name} made NaN or inf in the forward from finite inputs"
                         f"{_where(op)}")
                return
        if self.made_nan is not None:
            node = self.by_node[self.made_nan]
            self.add("non-finite", node, f"the backward of {node.name} made a NaN or inf gradient from a finite "
                     f"one{_where(self.made_nan)}")

    def watch_backward(self, node: Node) -> Callable[[tuple, tuple], None]:
        """A node hook that remembers the first node whose backward turns finite gradients into non-finite ones
        (what anomaly detection checks, without stopping backward)."""

        def check(grad_inputs: tuple, grad_outputs: tuple) -> None:
            if self.made_nan is None and all(grad is None or np.isfinite(grad.data).all() for grad in grad_outputs) \
                    and not all(grad is None or np.isfinite(grad.data).all() for grad in grad_inputs):
                self.made_nan = node

        return check
