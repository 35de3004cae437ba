"""``Function``: the one mechanism behind every differentiable op, built-in or user-defined.

A ``Function`` subclass pairs a ``forward`` with its ``backward``. Calling ``MyOp.apply(...)``
creates an instance that is both the ``ctx`` handed to ``forward``/``backward`` and the node of
the computation graph (the result's ``grad_fn``). Nodes point at the nodes of their inputs
(``next_functions``); leaves that require grad are reached through an ``AccumulateGrad`` node
that adds the incoming gradient into ``leaf.grad``.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from typing import Any, Callable, NamedTuple

import numpy as np

from .anomaly import AnomalyMode
from .grad_mode import grad_mode
from .hooks import RemovableHandle, add_hook


class Edge(NamedTuple):
    """Where a gradient flows: into output ``output_nr`` of ``node``, for an input of ``shape`` and ``dtype``
    (the engine checks each gradient a backward returns against them)."""

    node: Node
    output_nr: int
    shape: tuple[int, ...]
    dtype: np.dtype


# The NamedTuple's own constructor is a Python function; this builds the same tuple at a third of the cost, which
# every recorded op pays once per input.
_new_edge = tuple.__new__


class SavedArray(NamedTuple):
    """One array a node keeps for its backward: ``saved[i]`` (``save_for_backward``) or a ctx attribute's name."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int


class NodeHooks:
    """A node's hooks, each a dict from handle id to hook: created with the first hook (most nodes have none)."""

    __slots__ = ("tensor", "pre", "post")

    def __init__(self) -> None:
        self.tensor: dict[int, dict] = {}  # output_nr -> the hooks of the Tensor that is that output
        self.pre: dict = {}
        self.post: dict = {}


class Node:
    """A node of the backward graph, with the API of ``torch.autograd.graph.Node`` that tools build on.

    ``viz``, ``autograd.audit`` and user code read the graph through this API only: ``name()``,
    ``next_functions``/``next_edges``, ``metadata``, ``register_hook``/``register_prehook``, ``saved_arrays()``
    and ``attributes()``.
    """

    __slots__ = ("_edges", "__weakref__", "__dict__")

    # Rarely set, so they live on the class until a node needs its own (saves work on every op).
    _hooks: NodeHooks | None = None
    _created_at: list[str] | None = None
    _metadata: dict | None = None
    _output_meta: tuple | None = None  # (shape, dtype) per output, kept by nodes with several outputs

    broadcasts_inputs: bool = False
    """Whether backward sums the gradient of a broadcast input back to that input's shape (``Add``, ``Mul``...):
    then the edge from a smaller input is a broadcast."""

    def __init__(self) -> None:
        self._edges: tuple[Edge | None, ...] = ()

    @property
    def next_edges(self) -> tuple[Edge | None, ...]:
        """The ``Edge`` each input's gradient flows along, None for inputs that need no gradient."""
        return self._edges

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        """``(node, output_nr)`` for each input, ``(None, 0)`` where no gradient flows (as in PyTorch)."""
        return tuple((edge.node, edge.output_nr) if edge is not None else (None, 0) for edge in self._edges)

    @property
    def num_outputs(self) -> int:
        """How many outputs the op's forward returned (how many gradients its backward receives)."""
        return 1 if self._output_meta is None else len(self._output_meta)

    @property
    def output_metadata(self) -> tuple[tuple[tuple[int, ...], np.dtype], ...] | None:
        """``(shape, dtype)`` of each output for a node with several outputs; None for a single-output node,
        whose output's shape is on the ``next_edges`` of the nodes that consume it."""
        return self._output_meta

    @property
    def metadata(self) -> dict:
        """A dict that lives as long as the node, for users and tools to keep notes on it (as in PyTorch)."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def name(self) -> str:
        """The op's name as shown in reprs, error messages and graph renderings."""
        return type(self).__name__

    def attributes(self) -> dict[str, Any]:
        """The op's user-facing settings that differ from their defaults, as a user would write them.

        For example ``{"stride": 2, "padding": 1}`` for a strided convolution. ``repr``, ``viz`` and the graph
        audit show them; an op overrides this to describe itself (internal bookkeeping never appears).
        """
        return {}

    def register_prehook(self, hook: Callable[[tuple], tuple | None]) -> RemovableHandle:
        """Call ``hook(grad_outputs)`` before this node's backward runs; a returned tuple replaces the gradients.

        Args:
            hook: receives one gradient (or None) per output of the node.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._own_hooks().pre, hook)

    def register_hook(self, hook: Callable[[tuple, tuple], tuple | None]) -> RemovableHandle:
        """Call ``hook(grad_inputs, grad_outputs)`` after this node's backward ran; a returned tuple replaces
        ``grad_inputs`` (the gradients it sends to its inputs, None where an input needs none).

        For a leaf's ``AccumulateGrad`` node, ``grad_inputs`` is empty and the hook runs once the gradient was
        added into ``.grad``.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._own_hooks().post, hook)

    def _own_hooks(self) -> NodeHooks:
        if self._hooks is None:
            self._hooks = NodeHooks()
        return self._hooks

    def saved_arrays(self) -> tuple[SavedArray, ...]:
        """What the node keeps for backward (nothing once backward freed it, see ``saved_freed``)."""
        return ()

    @property
    def saved_freed(self) -> bool:
        """Whether a backward pass already freed what this node saved (``retain_graph=False``)."""
        return False

    def __repr__(self) -> str:
        settings = "".join(f" {name}={value!r}" for name, value in self.attributes().items())
        return f"<{self.name()}{settings}>"


class AccumulateGrad(Node):
    """Sink node of a leaf tensor: backward adds the incoming gradient into ``variable.grad``."""

    def __init__(self, variable: Tensor) -> None:
        super().__init__()
        self.variable = variable


def get_gradient_edge(tensor: Tensor) -> Edge:
    """The edge along which ``tensor`` receives its gradient: its grad_fn, or its leaf accumulator."""
    node = tensor.grad_fn
    if node is None:
        # The leaf refers to its accumulator weakly and the graph strongly, so the accumulator lives
        # exactly as long as some graph uses it and every use within one graph shares it.
        node = tensor._accumulator() if tensor._accumulator is not None else None
        if node is None:
            node = AccumulateGrad(tensor)
            tensor._accumulator = weakref.ref(node)
        return _new_edge(Edge, (node, 0, tensor.data.shape, tensor.data.dtype))
    return _new_edge(Edge, (node, tensor._output_nr, tensor.data.shape, tensor.data.dtype))


class Function(Node):
    """Base class for differentiable operations, with the contract of ``torch.autograd.Function``.

    Subclasses define two static methods:

    - ``forward(ctx, *args, **kwargs)`` computes the result from Tensors (and any other arguments)
      and returns a Tensor, an ndarray, or a tuple of them. It runs with recording switched off.
      Anything ``backward`` needs goes into ``ctx``: tensors through ``ctx.save_for_backward``,
      anything else as attributes (``ctx.stride = stride``).
    - ``backward(ctx, *grad_outputs)`` receives one gradient Tensor per output and returns one
      gradient per positional argument of ``forward`` (None for arguments that are not Tensors or
      need no gradient). Write it with Tensor ops: then ``create_graph=True`` makes it
      differentiable again.

    ``ctx.needs_input_grad`` is a tuple of bools, one per positional argument, so backward can skip
    work nobody asked for.

    Example::

        >>> class Cube(autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x.data ** 3
        ...     @staticmethod
        ...     def backward(ctx, grad):
        ...         (x,) = ctx.saved_tensors
        ...         return grad * 3 * x ** 2
        >>> y = Cube.apply(x)
    """

    # Slots rather than class defaults for what every recorded op sets: a node then needs no instance dict (one
    # object fewer for the garbage collector per op). ``_scalar``: whether the scalar path recorded the node (its
    # saved values are 0-d tensors and numbers, see ``scalar_backward``).
    __slots__ = ("needs_input_grad", "_saved", "_saved_versions", "_scalar")

    _non_differentiable: set[int] | None = None
    _saves_arrays: bool = False  # whether save_for_backward was given arrays (see ``_version_saved_arrays``)
    _array_counters: dict[int, list] | None = None  # saved array's index -> its owner's version counter

    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function subclasses must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Function, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError("Function subclasses must define a static backward(ctx, ...)")

    def save_for_backward(self, *values: Any) -> None:
        """Keep ``values`` for backward; an in-place change to a saved Tensor before then is an error.

        Unlike PyTorch, non-Tensor values (Python scalars of a ``tensor * 2`` op) may be saved too;
        they come back unchanged. An array that is the forward's own result, or an input Tensor's array, is
        checked like a Tensor: an in-place change to the output (or the input) before backward is an error.
        """
        if True not in self.needs_input_grad:
            return  # no backward will run: keep nothing alive
        # The values as given and, beside them, each Tensor's version at saving (None for other values): two
        # tuples rather than a tuple per value, fewer objects for the garbage collector to track. Arrays get a
        # version counter in ``apply`` when they are an input's or an output's own array.
        versions = []
        checked = False  # whether anything saved is checked: if not, there is no version tuple to keep
        for value in values:
            if isinstance(value, Tensor):
                versions.append(value._version[0])
                checked = True
            else:
                versions.append(None)
                # A device (CuPy) array is checked as a numpy one: the version counter lives on the Tensor.
                if type(value) is np.ndarray or type(value) in _device_array_types:
                    self._saves_arrays = checked = True
        self._saved = values
        self._saved_versions = tuple(versions) if checked else ()

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, checked against in-place modification."""
        saved = self._saved
        if saved is None:
            raise freed_graph_error(self)
        versions = self._saved_versions
        if not versions:
            return saved  # nothing to check (numbers, or a backward on numbers that checked before it started)
        counters = self._array_counters
        if counters is None:  # the common case first, without indices: this runs in every backward
            for value, version in zip(saved, versions):
                if version is not None and value._version[0] != version:
                    break
            else:
                return saved
        for index, (value, version) in enumerate(zip(saved, versions)):
            if version is None:
                continue
            counter = value._version if counters is None or index not in counters else counters[index]
            if counter[0] != version:
                raise RuntimeError(
                    f"one of the tensors needed for gradient computation has been modified by an in-place "
                    f"operation: saved tensor {index} of {self.name()} (shape {tuple(value.shape)}) is at "
                    f"version {counter[0]}, expected version {version}. Clone it before modifying it (or the "
                    f"tensor it is a view of), or modify it after backward."
                )
        return saved

    def saved_arrays(self) -> tuple[SavedArray, ...]:
        """The arrays kept for backward: the saved tensors' (and saved arrays), then ndarray attributes of ctx."""
        arrays = []
        for position, value in enumerate(self._saved or ()):
            array = value.data if isinstance(value, Tensor) else value
            if isinstance(array, np.ndarray):
                arrays.append(SavedArray(f"saved[{position}]", array.shape, array.dtype, array.nbytes))
        for name, value in vars(self).items():
            if not name.startswith("_") and isinstance(value, np.ndarray):
                arrays.append(SavedArray(name, value.shape, value.dtype, value.nbytes))
        return tuple(arrays)

    @property
    def saved_freed(self) -> bool:
        """Whether a backward pass already freed what this node saved (``retain_graph=False``)."""
        return self._saved is None

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Declare outputs of forward (e.g. indices) that never receive a gradient."""
        self._non_differentiable = {id(output) for output in outputs}

    scalar_forward: Callable[..., Any] | None = None
    """Optional, static: ``scalar_forward(ctx, *values)``, the forward on 0-d operands given as numpy scalars (and
    Python numbers), returning a numpy scalar of their type, without arrays. When an op has it and every Tensor
    argument is a 0-d float32 (or float64, all alike), ``apply`` runs it instead of ``forward`` and returns a
    ``ScalarTensor``. It saves what ``forward`` saves: the inputs themselves are saved for it when
    ``scalar_saves_inputs`` is set; anything else it saves with ``ctx.save_for_backward``. ``backward`` is the one
    and only gradient rule either way: run on ScalarTensors, its Tensor ops take this path in turn."""

    scalar_saves_inputs: bool = False

    scalar_backward: bool = False
    """Whether ``backward`` also runs on numbers: written with operators and ``SomeFunction.apply`` calls only (no
    Tensor methods, no ``.data``), so that given a numpy scalar gradient and numpy scalars from ``saved_tensors`` it
    computes numpy scalars (``apply`` on numbers runs ``scalar_forward``). A backward pass without ``create_graph``
    then runs it that way for the nodes the scalar path recorded: the same rule, no Tensor per intermediate value.
    Its ``ctx`` is then a stand-in holding ``saved_tensors``, ``next_edges`` and ``needs_input_grad`` only (the node
    itself is left as it is, for other threads differentiating through it)."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and, when grad mode is on and some input requires grad,
        record the node so that backward can reach the inputs."""
        # This runs for every op, so it is kept lean: per-op overhead is what small graphs pay.
        if cls.scalar_forward is not None and not kwargs:
            first = args[0] if args else None
            kind = type(first)
            if kind in _SCALAR_DTYPES and (len(args) == 1 or len(args) == 2 and (
                    type(args[1]) is kind or type(args[1]) in _NUMBER_ARGUMENTS)):
                # Numbers, from a backward that runs on numbers (see ``scalar_backward``): a number back.
                return cls.scalar_forward(_unrecorded[len(args)], *args)
            if kind is not Tensor or not first.data.ndim:  # cheap refusal for tensors with dimensions
                output = _apply_scalar(cls, args)
                if output is not None:
                    return output
        ctx = cls.__new__(cls)
        ctx._saved = ()
        ctx._saved_versions = ()
        ctx._scalar = False
        if not grad_mode.enabled:
            # Nothing is recorded (no_grad, or a backward pass without create_graph): the fast path.
            ctx.needs_input_grad = _no_grad_pattern(len(args))
            try:
                result = cls.forward(ctx, *args, **kwargs)
            except TypeError:  # free when nothing is raised
                _check_devices(ctx, args, kwargs)
                raise
            except AttributeError:
                _check_tensor_input(ctx, args)
                raise
            if type(result) is tuple:
                return tuple([_as_output(value, args) for value in result])
            return _as_output(result, args)

        # One pass over the inputs finds which need a gradient and the edge each one's gradient flows along.
        needs_input_grad = []
        edges = []
        for arg in args:
            if isinstance(arg, Tensor) and arg.requires_grad:
                needs_input_grad.append(True)
                node = arg.grad_fn
                edges.append(_new_edge(Edge, (node, arg._output_nr, arg.data.shape, arg.data.dtype))
                             if node is not None else get_gradient_edge(arg))
            else:
                needs_input_grad.append(False)
                edges.append(None)
        needs_input_grad = tuple(needs_input_grad)
        # One tuple per pattern, shared by every node: a graph then holds one object fewer per op for the garbage
        # collector to track (there are at most 2 ** 4 patterns for up to four inputs).
        if len(needs_input_grad) <= 4:
            needs_input_grad = _needs_patterns.setdefault(needs_input_grad, needs_input_grad)
        ctx.needs_input_grad = needs_input_grad
        grad_mode.enabled = False
        try:
            result = cls.forward(ctx, *args, **kwargs)
        except TypeError:
            _check_devices(ctx, args, kwargs)
            raise
        except AttributeError:
            _check_tensor_input(ctx, args)
            raise
        finally:
            grad_mode.enabled = True
        record = True in needs_input_grad
        if record:
            ctx._edges = tuple(edges)
            if AnomalyMode.enabled:
                ctx._created_at = traceback.format_stack()[:-1]
            if node_observer.callback is not None:
                node_observer.callback(ctx, args, kwargs)

        if type(result) is tuple:
            outputs = tuple([_as_output(value, args) for value in result])
            if record:
                ctx._record_outputs(outputs)
                if ctx._saves_arrays:
                    ctx._version_saved_arrays(args, outputs)
            return outputs
        output = _as_output(result, args)
        if record:
            skip = ctx._non_differentiable
            if output.data.dtype.kind in "fc" and (skip is None or id(result) not in skip):
                output.requires_grad = True
                output.grad_fn = ctx
            if ctx._saves_arrays:
                ctx._version_saved_arrays(args, (output,))
        return output

    def _record_outputs(self, outputs: tuple) -> None:
        skip = self._non_differentiable or ()
        for output_nr, output in enumerate(outputs):
            if output.data.dtype.kind in "fc" and id(output) not in skip and id(output.data) not in skip:
                output.requires_grad = True
                output.grad_fn = self
                output._output_nr = output_nr
        self._output_meta = tuple((output.data.shape, output.data.dtype) for output in outputs)

    def _version_saved_arrays(self, args: tuple, outputs: tuple) -> None:
        """Give each saved array that is an output's or an input Tensor's own array that tensor's version counter.

        A forward works on arrays and may save its result array (as PyTorch's ``Exp`` saves its output) or an
        input's ``.data``: modifying that tensor in place before backward must then be caught too.
        """
        # Plain loops: this runs for every op that saves an array (a 0-d ReLU's mask), usually finding no owner.
        counters = {}
        for index, value in enumerate(self._saved):
            if type(value) is not np.ndarray and type(value) not in _device_array_types:
                continue
            for owner in outputs + args:
                if isinstance(owner, Tensor) and owner.data is value:
                    counters[index] = owner._version
                    break
        if counters:
            versions = list(self._saved_versions)
            for index, counter in counters.items():
                versions[index] = counter[0]
            self._array_counters = counters
            self._saved_versions = tuple(versions)


_needs_patterns: dict[tuple, tuple] = {}
_version_patterns: dict[tuple, tuple] = {}
_no_grad_patterns: list[tuple] = [(False,) * count for count in range(8)]


def _no_grad_pattern(count: int) -> tuple:
    """``(False,) * count``, shared: one allocation fewer per op that records nothing."""
    return _no_grad_patterns[count] if count < 8 else (False,) * count


class _Unrecorded:
    """The ``ctx`` of a ``scalar_forward`` whose node is not recorded (no grad mode, no input that requires grad, or
    numbers in a backward on numbers): it keeps nothing, and one per arity serves every such call, all threads
    alike, instead of a new node per call."""

    __slots__ = ("needs_input_grad",)

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *values: Any) -> None:
        pass


_unrecorded = [_Unrecorded(pattern) for pattern in _no_grad_patterns]  # by arity: an op takes fewer than 8


def _scalar_forward(cls: type, ctx: Function, values: list) -> Any:
    # Unpacked by hand: a call with ``*values`` costs more than the arithmetic.
    if len(values) == 2:
        return cls.scalar_forward(ctx, values[0], values[1])
    if len(values) == 1:
        return cls.scalar_forward(ctx, values[0])
    return cls.scalar_forward(ctx, *values)


def _apply_scalar(cls: type, args: tuple) -> Any:
    """``cls.apply(*args)`` computed on numpy scalars by ``cls.scalar_forward``, or None when an argument is not a 0-d
    float tensor, a number or a numpy bool (the general path then runs).

    The node it records is the one ``apply`` records (same edges, saved inputs and version checks), made with the
    fewest objects: the inputs' tuple is the saved tuple, a 0-d tensor's version counter is shared until it has an
    array (see ``ScalarTensor``), and the output holds no array. Given numpy scalars and no Tensor (a backward run
    on numbers, see ``scalar_backward``), it returns the numpy scalar.
    """
    recording = grad_mode.enabled
    kind = None
    values = []
    needs_input_grad = []  # these three only while recording
    edges = []
    versions = []
    record = tensors = False
    for arg in args:
        arg_type = type(arg)
        if arg_type is ScalarTensor:
            value = arg._value
        elif arg_type is Tensor:
            value = arg.data
            if value.ndim:
                return None
            value = value[()]
        else:
            if arg_type in _SCALAR_DTYPES:
                if kind is not arg_type:
                    if kind is not None:
                        return None
                    kind = arg_type
            elif arg_type not in _NUMBER_ARGUMENTS:
                return None
            values.append(arg)
            if recording:
                needs_input_grad.append(False)
                edges.append(None)
                versions.append(None)
            continue
        tensors = True
        value_type = type(value)
        if value_type is not kind:
            if kind is not None or value_type not in _SCALAR_DTYPES:
                return None
            kind = value_type
        values.append(value)
        if recording:
            versions.append(arg._version[0])
            if arg.requires_grad:
                record = True
                needs_input_grad.append(True)
                if arg_type is ScalarTensor and arg.grad_fn is not None:
                    edges.append(arg._edge)  # one edge per tensor, however many ops use it
                else:
                    node = arg.grad_fn
                    edges.append(_new_edge(Edge, (node, arg._output_nr, (), _SCALAR_DTYPES[value_type]))
                                 if node is not None else get_gradient_edge(arg))
            else:
                needs_input_grad.append(False)
                edges.append(None)
    if kind is None:
        return None
    if not record:
        value = _scalar_forward(cls, _unrecorded[len(args)], values)
        return scalar_tensor(value) if tensors else value
    if AnomalyMode.enabled or node_observer.callback is not None:
        return None  # the general path keeps what they ask for
    ctx = cls.__new__(cls)
    ctx._saved = ()
    ctx._saved_versions = ()
    needs_input_grad = tuple(needs_input_grad)
    ctx.needs_input_grad = _needs_patterns.setdefault(needs_input_grad, needs_input_grad)
    ctx._edges = tuple(edges)
    ctx._scalar = True
    if cls.scalar_saves_inputs:
        ctx._saved = args
        versions = tuple(versions)
        # Shared by every node with the same versions (most are all 0): one object fewer per op that saves.
        shared = _version_patterns.get(versions)
        if shared is None:
            if len(_version_patterns) > 4096:  # parameters' versions grow with every step: forget old ones
                _version_patterns.clear()
            shared = _version_patterns[versions] = versions
        ctx._saved_versions = shared
    value = _scalar_forward(cls, ctx, values)
    output = object.__new__(ScalarTensor)  # scalar_tensor(value), inline: this runs for every op
    output._value = value
    output.grad = None
    output.requires_grad = True
    output.grad_fn = ctx
    output._output_nr = 0
    output._version = _UNSHARED
    output._accumulator = None
    output._hooks = None
    output._edge = _new_edge(Edge, (ctx, 0, (), _SCALAR_DTYPES[type(value)]))
    return output


def freed_graph_error(node: Node) -> RuntimeError:
    """The error for running backward through a node whose saved tensors were already freed."""
    return RuntimeError(
        f"Trying to backward through the graph a second time (or to read the saved tensors of {node.name()} "
        f"after they were freed). Saved tensors are freed after backward; pass retain_graph=True to the first "
        f"backward() or autograd.grad() call to keep them."
    )


def _check_devices(ctx: Function, args: tuple, kwargs: dict) -> None:
    """After a TypeError out of ``ctx``'s forward: raise an ``OpError`` naming the op and two devices when its
    arguments (also inside lists, as ``cat`` takes them) are on different ones, as PyTorch does (CuPy's own
    TypeError names neither). Returns when they share one, for the caller to re-raise the TypeError."""
    arrays = []
    for arg in (*args, *kwargs.values()):
        for item in arg if type(arg) in (list, tuple) else (arg,):
            arrays.append(item.data if isinstance(item, Tensor) else item)
    check_same_device(ctx.name(), *arrays)


def _check_tensor_input(ctx: Function, args: tuple) -> None:
    """After an AttributeError out of ``ctx``'s forward: raise a TypeError naming the op when its first argument is
    a number or an array rather than a Tensor (``autograd.exp(2.0)``, which PyTorch refuses too); the forward read
    ``.data`` of it. Returns otherwise, for the caller to re-raise the AttributeError."""
    first = args[0] if args else None
    if isinstance(first, (int, float, complex, np.generic, np.ndarray)):
        raise TypeError(f"{ctx.name()}: expected a Tensor as its first argument, got {type(first).__name__} (make "
                        f"one with autograd.tensor)") from None


def _as_output(value: Any, inputs: tuple) -> Tensor:
    """A forward's result as an output Tensor; one that shares memory with an input shares its version counter."""
    if type(value) is not np.ndarray:
        if isinstance(value, (np.generic, int, float, complex)):
            return wrap(np.asarray(value))  # a number or numpy scalar: a new array, nobody else's
        if isinstance(value, Tensor):  # (else a device array, a CuPy one: kept on its device)
            if value.grad_fn is None and not value.requires_grad and not any(value is arg for arg in inputs):
                return value
            value = value.data
    output = wrap(value)
    if value.base is not None:
        _share_version_with_viewed_input(output, inputs)
    else:  # it may still be an input's own array (a forward that returns ``x.data``)
        for arg in inputs:
            if isinstance(arg, Tensor) and arg.data is value:
                output._version = arg._version
                break
    return output


def _share_version_with_viewed_input(output: Tensor, inputs: tuple) -> None:
    """Make a view share the version counter of the input it views, as PyTorch's views share their base's.

    Then an in-place change through the input (or through the view) is seen by every op that saved either.
    """
    for arg in inputs:
        if isinstance(arg, Tensor) and np.may_share_memory(output.data, arg.data):
            output._version = arg._version
            return


class NodeObserver(threading.local):
    """The callback ``Function.apply`` hands each node it records to, as ``callback(node, args, kwargs)``.

    How the graph audit and viz keep each op's inputs (``autograd.audit.record_inputs``); None in normal use.
    Per thread, so recording in one thread neither sees another thread's ops nor is left on by it.
    """

    callback: Callable[[Function, tuple, dict], None] | None = None


node_observer = NodeObserver()


# Imported last: tensor.py imports the engine and the ops, which need Function defined above.
from .tensor import _UNSHARED, SCALAR_DTYPES as _SCALAR_DTYPES, ScalarTensor, Tensor, scalar_tensor, wrap
from .device import _by_array_type as _device_array_types, check_same_device  # kept current by register_backend

_NUMBER_ARGUMENTS = frozenset({float, int, np.bool_})  # constants beside 0-d tensors: as numpy's scalars take them
