"""The backward engine: an iterative walk of the graph in dependency order (Kahn's algorithm).

1. Starting from the roots, an explicit-stack DFS counts, for every reachable node, how many
   edges point at it. No recursion, so a chain of a million ops is fine.
2. A node runs once every node that feeds it a gradient has run; gradients arriving along several
   paths are summed in its buffer first. A node's backward sees the fully summed gradient.
3. ``AccumulateGrad`` nodes add the result into ``leaf.grad``; ``autograd.grad`` instead captures
   the gradients of the requested inputs and only runs the nodes that lead to them.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Callable, Sequence

import numpy as np

from .anomaly import AnomalyMode
from .device import get_array_module
from .function import AccumulateGrad, Function, freed_graph_error, get_gradient_edge
from .grad_mode import grad_mode
from .tensor import SCALAR_DTYPES, SCALAR_TYPES, ScalarTensor, Tensor, scalar_tensor, wrap


_accumulating = threading.Lock()


def _new_accumulating_lock() -> None:
    global _accumulating
    _accumulating = threading.Lock()  # a forked child must not inherit it held by a thread it does not have


os.register_at_fork(after_in_child=_new_accumulating_lock)


def backward(tensors: Sequence[Tensor], grad_tensors: Sequence[Tensor | None] | None = None,
             retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """Accumulate into the leaves' ``.grad`` the gradient of ``tensors`` (weighted by ``grad_tensors``).

    Args:
        tensors: outputs to differentiate.
        grad_tensors: gradient w.r.t. each output; may be None for one-element outputs.
        retain_graph: keep saved tensors for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass so the gradients are differentiable.
    """
    roots = _roots(tensors, grad_tensors)
    _execute(roots, create_graph if retain_graph is None else retain_graph, create_graph, targets=None)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Return the gradients of ``outputs`` w.r.t. ``inputs`` without touching any ``.grad``.

    Args:
        outputs: tensor(s) to differentiate.
        inputs: tensor(s) (leaves or intermediate) to differentiate with respect to.
        grad_outputs: gradient w.r.t. each output (the "vector" of the vector-Jacobian product);
            None means ones, allowed for one-element outputs.
        retain_graph: keep saved tensors for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass so the results can be differentiated again.
        allow_unused: return None for inputs the outputs do not depend on instead of raising.

    Returns:
        tuple with one gradient (same shape as the input) per input.
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    for index, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad(): input {index} (shape {tensor.shape}) does not require grad")
    targets = {(edge.node, edge.output_nr) for edge in map(get_gradient_edge, inputs)}
    captured = _execute(_roots(outputs, grad_outputs), create_graph if retain_graph is None else retain_graph,
                        create_graph, targets)
    results = []
    for index, tensor in enumerate(inputs):
        edge = get_gradient_edge(tensor)
        value = captured.get((edge.node, edge.output_nr))
        if value is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {index} (shape {tensor.shape}) was not used to compute the outputs; "
                f"pass allow_unused=True to get None for it"
            )
        results.append(value)
    return tuple(results)


def _roots(tensors: Sequence[Tensor], grad_tensors: Sequence[Tensor | None] | None) -> list[tuple]:
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: got {len(tensors)} tensors but {len(grad_tensors)} gradients")
    roots = []
    for index, (tensor, gradient) in enumerate(zip(tensors, grad_tensors)):
        if not tensor.requires_grad:
            raise RuntimeError(
                f"element {index} of tensors does not require grad and does not have a grad_fn: nothing to "
                f"differentiate (did you compute it under no_grad, or from tensors without requires_grad=True?)"
            )
        if gradient is None:
            if tensor.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for one-element outputs, but the output has shape "
                    f"{tensor.shape}: pass `gradient` (a tensor of that shape), or reduce the output (e.g. .sum())"
                )
            gradient = wrap(np.ones_like(tensor.data))
        elif not isinstance(gradient, Tensor):
            gradient = wrap(np.asarray(gradient, dtype=tensor.data.dtype))
        if gradient.shape != tensor.shape:
            raise RuntimeError(f"backward: gradient has shape {gradient.shape} but the output has shape {tensor.shape}")
        roots.append((get_gradient_edge(tensor), gradient))
    return roots


def _reachable(roots: list[tuple]) -> tuple[dict, list]:
    """Count incoming edges for every node reachable from the roots; also return the nodes in DFS order."""
    dependencies: dict = {}
    seen = {edge.node for edge, _ in roots}
    stack = list(seen)
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for edge in node._edges:
            if edge is None:
                continue
            child = edge[0]  # edge.node, indexed: this runs for every edge of the graph
            count = dependencies.get(child)
            if count is None:
                dependencies[child] = 1
                if child not in seen:  # (a root reached from another root)
                    seen.add(child)
                    stack.append(child)
            else:
                dependencies[child] = count + 1
    return dependencies, order


def _prune(order: list, targets: set) -> tuple[dict, set]:
    """Keep the nodes from which some target is reachable; recount dependencies among them."""
    parents: dict = {}
    for node in order:
        for edge in node._edges:
            if edge is not None:
                parents.setdefault(edge.node, []).append(node)
    reachable = set(order)
    needed = {node for node, _ in targets if node in reachable}
    stack = list(needed)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in needed:
                needed.add(parent)
                stack.append(parent)
    dependencies: dict = {}
    for node in needed:
        for edge in node._edges:
            if edge is not None and edge.node in needed:
                dependencies[edge.node] = dependencies.get(edge.node, 0) + 1
    return dependencies, needed


class _RunningPasses(threading.local):
    """Per thread, the callbacks queued for each backward pass running in it (innermost last)."""

    def __init__(self) -> None:
        self.callbacks: list[list[Callable[[], None]]] = []


_running = _RunningPasses()


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` when the backward pass now running in this thread has finished.

    Called from a hook during backward (``torch.autograd.Variable._execution_engine.queue_callback``): data-parallel
    training queues the wait for its last gradient reductions this way. Callbacks run in the order queued, after
    every gradient was accumulated, and not at all if the pass fails.

    Args:
        callback: a function of no arguments.
    """
    if not _running.callbacks:
        raise RuntimeError("queue_callback: no backward pass is running in this thread; call it from a hook that "
                           "runs during backward")
    _running.callbacks[-1].append(callback)


def _execute(roots: list[tuple], retain_graph: bool, create_graph: bool, targets: set | None) -> dict:
    callbacks: list[Callable[[], None]] = []
    _running.callbacks.append(callbacks)
    try:
        captured = _run_graph(roots, retain_graph, create_graph, targets)
        for callback in callbacks:  # the list may grow as this runs: a callback may queue another
            callback()
    finally:
        _running.callbacks.pop()
    return captured


def _run_graph(roots: list[tuple], retain_graph: bool, create_graph: bool, targets: set | None) -> dict:
    dependencies, order = _reachable(roots)
    needed = None
    if targets is not None:
        dependencies, needed = _prune(order, targets)

    buffers: dict = {}
    owned: dict = {}  # accumulator -> the gradient in its buffer, if nobody outside the engine can hold it
    for edge, gradient in roots:  # the caller's gradients: never owned
        _deliver(buffers, owned, edge.node, edge.output_nr, gradient, create_graph, False)
    ready = [node for node in buffers if dependencies.get(node, 0) == 0]
    captured: dict = {}

    previous_mode = grad_mode.enabled
    grad_mode.enabled = create_graph
    numbers_made = False  # whether some gradient in the buffers may be a number (see ``scalar_backward``)
    stand_ins: dict = {}  # per node type, what a backward on numbers reads instead of the node
    on_numbers = not create_graph and targets is None and not AnomalyMode.enabled
    try:
        while ready:
            node = ready.pop()
            gradients = buffers.pop(node)
            hooks = node._hooks
            node_type = type(node)
            if (on_numbers and hooks is None and node_type is not AccumulateGrad and node_type.scalar_backward
                    and node._scalar):
                # A node the scalar path recorded, whose backward runs on numbers: no Tensor per gradient. Inline,
                # as the delivery of the numbers it returns: for a graph of scalars this loop is the whole cost.
                input_gradients = _run_backward_on_numbers(node, gradients, retain_graph, stand_ins)
                numbers_made = True
                for edge, gradient in zip(node._edges, input_gradients):
                    if edge is None:
                        continue
                    child, output_nr, shape, dtype = edge
                    # A number of the edge's dtype (the dtypes of numbers are numpy's canonical instances).
                    if SCALAR_DTYPES.get(type(gradient)) is dtype and output_nr == 0 and shape == ():
                        buffer = buffers.get(child)
                        if buffer is None:
                            buffers[child] = [gradient]
                        elif type(buffer[0]) in _NUMBERS:
                            buffer[0] = buffer[0] + gradient
                        else:
                            _deliver(buffers, owned, child, 0, gradient, create_graph, False)
                    else:
                        if gradient is not None:
                            gradient = _checked(node, node._edges.index(edge), _as_tensor(gradient))
                        _deliver(buffers, owned, child, output_nr, gradient, create_graph, False)
                    remaining = dependencies[child] - 1
                    dependencies[child] = remaining
                    if remaining == 0:
                        ready.append(child)
                continue
            if numbers_made:
                gradients = [_as_tensor(gradient) for gradient in gradients]
            if hooks is not None:
                gradients = _run_prehooks(node, hooks, gradients)
            if targets is not None:
                for output_nr, gradient in enumerate(gradients):
                    if (node, output_nr) in targets:
                        captured[(node, output_nr)] = gradient
            if type(node) is AccumulateGrad:
                if targets is None and gradients[0] is not None:
                    # A hook may have kept the gradient: only one nothing else saw may become .grad as it is.
                    engine_owned = owned.pop(node, None) is gradients[0] and hooks is None
                    _accumulate(node.variable, gradients[0], create_graph, engine_owned)
                if hooks is not None and hooks.post:
                    _run_posthooks(node, hooks, (), gradients)
                continue
            if needed is not None and node not in needed:
                continue
            input_gradients = _run_backward(node, gradients, retain_graph)
            hooked = hooks is not None and bool(hooks.post)  # a hook may return tensors it keeps
            if hooked:
                input_gradients = _run_posthooks(node, hooks, input_gradients, gradients)
            _send(node, input_gradients, buffers, owned, dependencies, ready, needed, create_graph, gradients, hooked)
    finally:
        grad_mode.enabled = previous_mode
    return captured


def _send(node, input_gradients: tuple, buffers: dict, owned: dict, dependencies: dict, ready: list, needed,
          create_graph: bool, gradients: list, hooked: bool) -> None:
    """Deliver the gradients ``node``'s backward returned to the nodes of its inputs; queue those now ready."""
    for index, (edge, gradient) in enumerate(zip(node._edges, input_gradients)):
        if edge is None:
            continue
        child = edge.node
        if needed is not None and child not in needed:
            continue
        gradient_type = type(gradient)
        if gradient_type in _NUMBERS:  # checked without making an array
            if edge.shape != () or gradient.dtype != edge.dtype or AnomalyMode.enabled:
                gradient = _checked(node, index, _as_tensor(gradient))
        elif gradient_type is ScalarTensor:
            if edge.shape != () or gradient._value.dtype != edge.dtype or AnomalyMode.enabled:
                gradient = _checked(node, index, gradient)
        elif gradient is not None and (gradient_type is not Tensor or gradient.data.shape != edge.shape
                                       or gradient.data.dtype != edge.dtype or AnomalyMode.enabled):
            gradient = _checked(node, index, gradient)
        # Checked at a leaf's first gradient only: the later ones are summed into a new array anyway. A number or a
        # ScalarTensor has no array to adopt: .grad gets one made from its value.
        new = (type(child) is AccumulateGrad and child not in buffers and type(gradient) is Tensor
               and not hooked and _makes_new_gradients(type(node))
               and _is_new(gradient, gradients, input_gradients))
        _deliver(buffers, owned, child, edge.output_nr, gradient, create_graph, new)
        remaining = dependencies[child] - 1
        dependencies[child] = remaining
        if remaining == 0:
            ready.append(child)


_NUMBERS = frozenset(SCALAR_TYPES)


def _as_tensor(gradient):
    """A gradient a backward on numbers computed, as a Tensor (for hooks, ``.grad`` and Tensor backwards)."""
    return scalar_tensor(gradient) if type(gradient) in _NUMBERS else gradient


def _as_number(gradient):
    """A 0-d gradient as a numpy scalar, for a backward that runs on numbers."""
    kind = type(gradient)
    if kind is ScalarTensor:
        return gradient._value
    if kind is Tensor:
        return gradient.data[()]
    return gradient  # a number already, or None


def _run_backward_on_numbers(node: Function, gradients: list, retain_graph: bool, stand_ins: dict) -> tuple:
    """``node``'s backward on numbers (``Function.scalar_backward``): the gradient and ``saved_tensors`` are numpy
    scalars, after the saved tensors were checked (freed, changed in place) as ``saved_tensors`` always checks.
    ``stand_ins``: the pass's stand-ins for nodes, one per node type, reused from node to node."""
    gradient = gradients[0]
    if type(gradient) not in _NUMBERS:
        gradient = _as_number(gradient)
    saved = node._saved
    if saved is None:
        raise freed_graph_error(node)
    if gradient is None:
        result: tuple = (None,) * len(node._edges)
    elif not type(node).scalar_saves_inputs:
        result = type(node).backward(node, gradient)  # it saved numbers (a mask) or nothing: read as they are
    else:
        # What backward reads from saved_tensors: the inputs as numbers, checked as saved_tensors checks them. A
        # ScalarTensor cannot have changed: an in-place op makes its array first, and it is a Tensor from then on.
        versions = node._saved_versions
        numbers = []
        for value, version in zip(saved, versions):
            kind = type(value)
            if kind is ScalarTensor:
                numbers.append(value._value)
            elif kind is Tensor:
                if value._version[0] != version:
                    node.saved_tensors  # raises the error that names the tensor
                numbers.append(value.data[()])
            else:
                numbers.append(value)
        # Backward reads them from a stand-in for the node (what ``scalar_backward`` lets it read: saved_tensors,
        # next_edges, needs_input_grad), not from the node: another thread may be differentiating through this
        # retained graph meanwhile and must see the saved tensors (swapping numbers into the node gave it a second
        # derivative without its graph, silently wrong).
        node_type = type(node)
        on_numbers = stand_ins.get(node_type)
        if on_numbers is None:
            on_numbers = stand_ins[node_type] = node_type.__new__(node_type)
            on_numbers._saved_versions = ()
        on_numbers._edges = node._edges
        on_numbers.needs_input_grad = node.needs_input_grad
        on_numbers._saved = tuple(numbers)
        result = node_type.backward(on_numbers, gradient)
    if type(result) is not tuple:
        result = (result,)
    if len(result) < len(node._edges):
        raise RuntimeError(f"function {node.name()}.backward returned {len(result)} gradients, but forward had "
                           f"{len(node._edges)} positional inputs: return one gradient (or None) per input")
    if not retain_graph:
        node._saved = None
    return result


def _deliver(buffers: dict, owned: dict, node, output_nr: int, gradient: Tensor | None, create_graph: bool,
             new: bool) -> None:
    """Add ``gradient`` into the buffer of ``node``'s output ``output_nr`` (creating the buffer).

    ``owned`` records, for leaves' accumulators, a buffer's gradient that nobody outside the engine has seen (``new``:
    a new array from one of gradlab's own ops, or a sum made here): ``.grad`` may adopt it without a copy.
    """
    buffer = buffers.get(node)
    if buffer is None:
        buffer = buffers[node] = [None] * (output_nr + 1)
    elif len(buffer) <= output_nr:
        buffer.extend([None] * (output_nr + 1 - len(buffer)))
    if gradient is None:
        return
    current = buffer[output_nr]
    if current is None:
        buffer[output_nr] = gradient
        if new:
            owned[node] = gradient
    elif create_graph:
        buffer[output_nr] = current + gradient
    elif type(current) in _NUMBERS and type(gradient) in _NUMBERS:
        buffer[output_nr] = current + gradient  # numbers from backwards on numbers
    elif type(current) is ScalarTensor and type(gradient) is ScalarTensor:
        buffer[output_nr] = scalar_tensor(current._value + gradient._value)  # owned: goes to .grad as a new array
    else:
        current, gradient = _as_tensor(current), _as_tensor(gradient)
        total = current.data + gradient.data
        if isinstance(total, np.generic):
            total = np.asarray(total)  # two 0-d arrays sum to a numpy scalar: .data is always an array
        total = buffer[output_nr] = wrap(total)
        if type(node) is AccumulateGrad:
            owned[node] = total


_BUILT_IN_OPS = "autograd.ops."


@functools.lru_cache(maxsize=None)
def _makes_new_gradients(op: type) -> bool:
    """Whether ``op`` is one of gradlab's own ops (defined in ``autograd.ops``): its backward returns new arrays,
    or passes on a gradient it was given. A user's Function may return a tensor it also keeps elsewhere."""
    return op.__module__.startswith(_BUILT_IN_OPS)


def _is_new(gradient: Tensor, grad_outputs: list, grad_inputs: tuple) -> bool:
    """Whether a built-in op's backward made ``gradient``'s array: it owns its memory, is none of the gradients
    the op received, and went to one input only."""
    array = gradient.data
    if type(array) is not np.ndarray or array.base is not None:
        return False
    if any(received is not None and received.data is array for received in grad_outputs):
        return False
    return sum(1 for sent in grad_inputs if sent is not None and sent.data is array) == 1


def _run_prehooks(node, hooks, gradients: list) -> list:
    """The hooks of the tensors that are the node's outputs, then the node's pre-hooks, as in PyTorch."""
    gradients = gradients + [None] * (node.num_outputs - len(gradients))  # one per output, None where none came
    for output_nr, tensor_hooks in hooks.tensor.items():
        if output_nr < len(gradients) and gradients[output_nr] is not None:
            for hook in tensor_hooks.values():
                gradients[output_nr] = _run_hook(hook, gradients[output_nr], f"output {output_nr} of {node.name()}")
    for hook in hooks.pre.values():
        result = hook(tuple(gradients))
        if result is not None:
            gradients = list(_hook_gradients(hook, node, result, gradients, "pre-hook", "grad_outputs"))
    return gradients


def _run_posthooks(node, hooks, grad_inputs: tuple, grad_outputs: list) -> tuple:
    for hook in hooks.post.values():
        result = hook(tuple(grad_inputs), tuple(grad_outputs))
        if result is not None:
            grad_inputs = _hook_gradients(hook, node, result, grad_inputs, "hook", "grad_inputs")
    return grad_inputs


def _hook_gradients(hook, node, result, gradients, kind: str, what: str) -> tuple:
    """What a node hook returned instead of ``gradients``: a tuple of as many Tensors (or None)."""
    if not isinstance(result, (tuple, list)) or len(result) != len(gradients) or not all(
            gradient is None or isinstance(gradient, Tensor) for gradient in result):
        raise TypeError(f"{kind} {getattr(hook, '__name__', hook)!r} registered on {node.name()} returned "
                        f"{type(result).__name__}; it must return None or a tuple of {len(gradients)} Tensors "
                        f"(or None), one per entry of {what}")
    return tuple(result)


def _run_hook(hook, gradient: Tensor, tensor: str) -> Tensor:
    """``hook(gradient)``, or what it returned instead: a Tensor of the gradient's shape (PyTorch's rule)."""
    result = hook(gradient)
    if result is None:
        return gradient
    if not isinstance(result, Tensor):
        raise TypeError(f"hook {getattr(hook, '__name__', hook)!r} registered on {tensor} returned a "
                        f"{type(result).__name__}; a tensor hook returns None or a Tensor")
    if result.data.shape != gradient.data.shape:
        raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} registered on {tensor} changed the shape of "
                           f"its gradient from {gradient.data.shape} to {result.data.shape}; a hook may change a "
                           f"gradient's values, not its shape")
    return result


def _run_backward(node: Function, gradients: list, retain_graph: bool) -> tuple:
    if node._saved is None:
        raise freed_graph_error(node)
    if gradients[0] is None and (len(gradients) == 1 or all(gradient is None for gradient in gradients)):
        result: tuple = (None,) * len(node._edges)
    else:
        output_meta = node._output_meta
        if output_meta is not None:
            # Like PyTorch, outputs that received no gradient get zeros, so backward sees every output.
            gradients = gradients + [None] * (len(output_meta) - len(gradients))
            xp = get_array_module(*(gradient.data for gradient in gradients if gradient is not None))
            gradients = [wrap(xp.zeros(shape, dtype)) if gradient is None else gradient
                         for gradient, (shape, dtype) in zip(gradients, output_meta)]
        result = type(node).backward(node, *gradients)
        if type(result) is not tuple:
            result = (result,)
        if len(result) < len(node._edges):
            raise RuntimeError(
                f"function {node.name()}.backward returned {len(result)} gradients, but forward had "
                f"{len(node._edges)} positional inputs: return one gradient (or None) per input"
            )
    if not retain_graph:
        node._saved = None
    return result


def _checked(node, index: int, gradient) -> Tensor:
    """Validate the gradient ``node``'s backward returned for input ``index``; cast it to the input's dtype."""
    if not isinstance(gradient, Tensor):
        if not isinstance(gradient, np.ndarray):
            raise TypeError(f"function {node.name()}.backward returned a {type(gradient).__name__}; expected a Tensor")
        gradient = wrap(gradient)
    shape, dtype = node._edges[index][2:]
    if gradient.data.shape != shape:
        raise RuntimeError(
            f"function {node.name()}.backward returned a gradient of shape {gradient.data.shape} for input "
            f"{index}, but that input has shape {shape}"
        )
    if gradient.data.dtype != dtype:
        gradient = gradient.to(dtype)
    if AnomalyMode.enabled and not np.isfinite(gradient.data).all():
        where = "".join(node._created_at or ["(created before anomaly detection was enabled)\n"])
        raise RuntimeError(
            f"function '{node.name()}' returned nan or inf in the gradient for its input {index} "
            f"(shape {shape}). The op was created here in the forward pass:\n{where}"
        )
    return gradient


def _accumulate(leaf: Tensor, gradient: Tensor, create_graph: bool, engine_owned: bool) -> None:
    """Add ``gradient`` into ``leaf.grad``; ``engine_owned``: nobody but the engine has seen ``gradient``."""
    hooks = leaf._hooks
    if hooks is not None and hooks.grad:
        engine_owned = False  # a hook may have kept it
        for hook in hooks.grad.values():
            gradient = _run_hook(hook, gradient, f"a leaf of shape {leaf.data.shape}")
    # Threads may run backward through graphs that share parameters: adding into .grad is a read-modify-write.
    with _accumulating:
        if create_graph:
            # A copy (a differentiable one) as in PyTorch: the gradient may be the caller's tensor, one an op also
            # sent to another leaf, or a read-only broadcast view, and a later backward adds into .grad in place.
            leaf.grad = gradient.clone() if leaf.grad is None else leaf.grad + gradient
        elif leaf.grad is None:
            # .grad is updated in place later, so it must not share memory with anything. A gradient gradlab's own
            # ops made, or the engine summed, is adopted as it is (as PyTorch's AccumulateGrad adopts gradients
            # nobody else refers to); any other is copied: it may be held elsewhere (the caller's gradient, a
            # hook's list, a user's backward that also keeps what it returns). The copy is C-ordered like the
            # parameter (the transposed view nn.Linear's weight gets would otherwise stay transposed), so the
            # optimizer's in-place updates run at full speed.
            if type(gradient) is ScalarTensor:
                leaf.grad = wrap(np.array(gradient._value, dtype=leaf.data.dtype))
            elif engine_owned and type(gradient.data) is np.ndarray and gradient.data.dtype == leaf.data.dtype:
                leaf.grad = gradient
            else:
                xp = get_array_module(gradient.data)
                leaf.grad = wrap(xp.array(gradient.data, dtype=leaf.data.dtype, order="C"))
        else:
            leaf.grad.data += gradient.data
            leaf.grad._version[0] += 1
    if hooks is not None:
        for hook in hooks.post_accumulate.values():
            hook(leaf)
