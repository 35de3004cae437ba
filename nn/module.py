"""``Module``: the base class of every layer and model, with PyTorch's registration rules.

Assigning an ``nn.Parameter``, a ``Module`` or (through ``register_buffer``) a Tensor to an
attribute records it in one of three ordered dicts; ``parameters()``, ``state_dict()``, ``train()``
and printing walk those dicts, so a model is described by plain attribute assignments in
``__init__``.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import numpy as np

from autograd import device as _device
from autograd.grad_mode import no_grad
from autograd.hooks import RemovableHandle, add_hook
from autograd.serialization import cast_problem
from autograd.tensor import Tensor, zero_grads

from .parameter import Parameter


# What the keys of a DistributedDataParallel's state dict start with (it holds the model as ``module``).
_DDP_PREFIX = "module."


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (nested module reprs)."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


class Module:
    """Base class for layers and models.

    Subclasses call ``super().__init__()`` first, assign their parameters, sub-modules and buffers
    as attributes, and define ``forward``. Calling the module runs the forward pre-hooks,
    ``forward`` and the forward hooks.

    Example::

        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = nn.Linear(4, 8)
        ...         self.fc2 = nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc2(F.relu(self.fc1(x)))
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__ because our own __setattr__ reads these dicts.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in tuple(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ----------------------------------------------------------------- registration
    def _check_name(self, name: Any, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a placeholder such as a disabled bias) under ``name``."""
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state that is not trained but belongs to the module (running statistics).

        Args:
            name: attribute name.
            tensor: the buffer, or None (then it is skipped by ``buffers()`` and ``state_dict()``).
            persistent: whether the buffer is part of ``state_dict()``.
        """
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            f"(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a sub-module under ``name`` (same as assigning the attribute)."""
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self.add_module(name, value)
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                f"(nn.Module or None expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from wherever it was registered, so that it can be registered anew."""
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self._modules.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: look in the registries, else fail loudly.
        state = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in state and name in state[registry]:
                return state[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    # ----------------------------------------------------------------- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module (name ``''``) and every descendant, once each."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[Module]:
        """Yield this module and every descendant."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct sub-modules."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or value in seen:
                    continue
                seen.add(value)
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)``, each shared parameter once.

        Args:
            prefix: prepended to every name.
            recurse: include the parameters of sub-modules (default True).
        """
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield the parameters (those of sub-modules too unless ``recurse=False``)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted_name, buffer)`` for every buffer, persistent or not."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Yield the buffers."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ----------------------------------------------------------------- modes and in-place changes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and its descendants.

        Returns:
            self.
        """
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        # Through each child's own train(), so that a submodule overriding it (to keep its batch
        # norm frozen, say) is obeyed, as in PyTorch.
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off, batch norm uses its running statistics. Returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter (freeze with False). Returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (default) or to zeros in place."""
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on self, e.g. for custom init.

        Returns:
            self.
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Module:
        """Move parameters and buffers (and their gradients) to ``device`` and/or cast the floating-point ones to
        ``dtype``, in place: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``.

        The Parameter objects stay the same, so optimizers built before still update them. Integer
        buffers (``num_batches_tracked``) keep their dtype but move.

        Returns:
            self.
        """
        for arg in args:
            if isinstance(arg, (str, _device.Device)):
                device = arg
            else:
                dtype = arg
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: only floating point dtypes are supported, got {dtype}")
        if device is not None:
            _device.module_for(device)  # the clear "no CuPy" / "no GPU" error before anything moves
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            for holder in (tensor, tensor.grad):
                if holder is None:
                    continue
                if device is not None:
                    holder.data = _device.to_device(holder.data, device)
                if dtype is not None and holder.data.dtype.kind == "f":
                    holder.data = holder.data.astype(dtype)
        return self

    def cuda(self, device: int | None = None) -> Module:
        """Move parameters and buffers to GPU ``device`` (default 0) in place. Returns self."""
        return self.to(_device.Device("cuda", device))

    def cpu(self) -> Module:
        """Move parameters and buffers to host memory in place. Returns self."""
        return self.to("cpu")

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32. Returns self."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64. Returns self."""
        return self.to(np.float64)

    # ----------------------------------------------------------------- state dict
    def _state_items(self, prefix: str) -> Iterator[tuple[str, Tensor]]:
        """Parameters and persistent buffers in PyTorch's order: own entries first, then each child's."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield prefix + name, buffer
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(prefix + name + ".")

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """The module's state as an ordered ``{dotted_name: tensor}`` dict, with PyTorch's key names.

        Args:
            prefix: prepended to every key.
            keep_vars: return the Parameter objects themselves instead of detached tensors sharing their data.

        Returns:
            OrderedDict of parameters and persistent buffers (such as ``running_mean`` and
            ``num_batches_tracked`` of batch norm).
        """
        items = self._state_items(prefix)
        return OrderedDict((name, tensor if keep_vars else tensor.detach()) for name, tensor in items)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Values may be Tensors or numpy arrays (e.g. a PyTorch state dict converted with ``.numpy()``);
        they are cast to each target's dtype (see ``cast_problem`` for what a cast may not lose).
        Nothing is copied unless every key, shape and value passes.

        Args:
            state_dict: mapping from dotted names to values.
            strict: require the keys to match exactly (shape and value problems are errors either way).

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            TypeError: ``state_dict`` is not a mapping.
            RuntimeError: listing every missing key, unexpected key, shape mismatch and value that cannot
                be cast at once, each by its key.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}")
        targets = OrderedDict(self._state_items(""))
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{key}"' for key in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{key}"' for key in unexpected) + ".")
            if missing and all(key.startswith(_DDP_PREFIX) for key in unexpected) and {
                    key[len(_DDP_PREFIX):] for key in unexpected} >= set(missing):
                errors.append(f'The keys start with "{_DDP_PREFIX}": this is the state dict of a '
                              f"DistributedDataParallel; save ddp.module.state_dict() instead, or load "
                              f"{{key.removeprefix('{_DDP_PREFIX}'): value for key, value in state_dict.items()}}.")
        pairs = []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            try:
                array = value.data if isinstance(value, Tensor) else np.asarray(value)
            except (ValueError, TypeError) as error:  # a ragged list, say
                errors.append(f"cannot copy {key}: its value is not an array ({error}).")
                continue
            if array.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {array.shape} from checkpoint, "
                              f"the shape in current model is {target.shape}.")
                continue
            problem = cast_problem(array, target.dtype)
            if problem:
                errors.append(f"cannot copy {key} into the {target.dtype} tensor: {problem}.")
            pairs.append((target, array))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for target, array in pairs:
                target.copy_(array)
        return IncompatibleKeys(missing, unexpected)

    # ----------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the positional args.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces the output.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._forward_hooks, hook)

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr line (its constructor arguments)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        children = [f"({name}): {module!r}" for name, module in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return type(self).__name__ + "(\n  " + "\n  ".join(_indent(line, 2) for line in lines) + "\n)"
