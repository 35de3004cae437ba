"""``Optimizer``: the base class that holds parameter groups and per-parameter state, and runs the update loop."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from autograd import device as _device
from autograd.grad_mode import enable_grad, no_grad
from autograd.hooks import RemovableHandle, add_hook
from autograd.serialization import cast_problem
from autograd.tensor import Tensor, wrap, zero_grads


class Optimizer:
    """Base class of all optimizers.

    A subclass passes its hyperparameters as ``defaults`` and implements ``_update(param, grad, state, group)``,
    which changes ``param`` (an ndarray) in place. The base class owns the bookkeeping shared by every
    optimizer: parameter groups, state, ``zero_grad``, ``step`` and (de)serialization.

    Args:
        params: an iterable of Tensors, or of dicts that define parameter groups (each with a ``"params"``
            entry and any hyperparameters that override ``defaults`` for that group).
        defaults: the hyperparameters used by groups that do not set their own.

    Attributes:
        param_groups: list of dicts, one per group: ``"params"`` (list of Tensors) and the group's options.
        state: dict from parameter (Tensor) to its state dict (buffers as Tensors, step counts as ints).
        defaults: the default options.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor")
        _check_ordered(params)
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        # Scratch arrays for the temporaries of an update, reused across parameters and steps so that a
        # step allocates nothing once the state exists.
        self._scratch: dict[tuple[np.dtype, int], np.ndarray] = {}
        self._step_pre_hooks: dict = {}
        self._step_post_hooks: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing options are taken from ``defaults``).

        Args:
            param_group: dict with ``"params"`` (a Tensor or an iterable of Tensors) and optional options.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        _check_ordered(params)
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(param) for param in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        known = {id(param) for group in self.param_groups for param in group["params"]}
        if any(id(param) in known for param in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: set ``.grad`` to None (frees memory; the default) instead of filling it with zeros.
        """
        zero_grads((param for group in self.param_groups for param in group["params"]), set_to_none)

    def register_step_pre_hook(self, hook: Callable[[Optimizer, tuple, dict], None]) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step`` (as in PyTorch; ``viz.HealthMonitor`` uses it).

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable[[Optimizer, tuple, dict], None]) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``, once every parameter was updated.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return add_hook(self._step_post_hooks, hook)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient.

        Args:
            closure: optional function that re-evaluates the model and returns the loss (it runs with grad
                recording on, before the update).

        Returns:
            the closure's loss, or None.
        """
        for hook in tuple(self._step_pre_hooks.values()):
            hook(self, (), {"closure": closure})
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            updated = [[param for param in group["params"] if param.grad is not None] for group in self.param_groups]
            # Checked before any update, so that a gradient of the wrong shape leaves every parameter as it was.
            for param in (param for params in updated for param in params):
                if param.grad.data.shape != param.data.shape:
                    raise RuntimeError(f"{type(self).__name__}.step: a parameter of shape {param.data.shape} has a "
                                       f"gradient of shape {param.grad.data.shape}")
            for group, params in zip(self.param_groups, updated):
                self._update_group(params, group)
                for param in params:
                    # Graphs that saved this parameter before the update must refuse to run backward.
                    param._version[0] += 1
        for hook in tuple(self._step_post_hooks.values()):
            hook(self, (), {"closure": closure})
        return loss

    def _update_group(self, params: list[Tensor], group: dict[str, Any]) -> None:
        """Apply one step of the algorithm to ``params`` in place, the parameters of ``group`` that have a gradient:
        one by one with ``_update``, unless the optimizer updates a group at once (as SGD does)."""
        for param in params:
            self._update(param.data, param.grad.data, self.state.setdefault(param, {}), group)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Apply one step of the algorithm to ``param`` in place (implemented by each optimizer)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- helpers for _update
    def _buffer(self, like: np.ndarray, slot: int) -> np.ndarray:
        """A scratch array shaped like ``like``; ``slot`` tells apart the temporaries alive at the same time."""
        key = (like.dtype, slot, type(like))  # the scratch lives on the parameter's device
        flat = self._scratch.get(key)
        if flat is None or flat.size < like.size:
            flat = self._scratch[key] = _device.get_array_module(like).empty(like.size, like.dtype)
        return flat[:like.size].reshape(like.shape)

    def _direction(self, param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
        """The gradient the algorithm follows: negated for ``maximize``, plus ``weight_decay * param`` (L2).

        Returns ``grad`` itself when neither applies, else scratch slot 0 (never writes into ``grad``).
        """
        if not weight_decay and not maximize:
            return grad
        out = self._buffer(param, 0)
        if weight_decay:
            np.multiply(param, weight_decay, out=out)
            (np.subtract if maximize else np.add)(out, grad, out=out)
        else:
            np.negative(grad, out=out)
        return out

    # ----------------------------------------------------------------- serialization
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data, with parameters replaced by their index (as in PyTorch).

        Returns:
            ``{"state": {index: {name: Tensor or number}}, "param_groups": [{option: value, "params": [index]}]}``,
            which ``autograd.save`` can write.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for param in group["params"]:
                index.setdefault(id(param), len(index))
            groups.append({**group, "params": [index[id(param)] for param in group["params"]]})
        state = {index[id(param)]: dict(values) for param, values in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state and options saved by ``state_dict``.

        Buffers are copied and cast to their parameter's dtype; the current parameters are matched to
        the saved ones by position. Everything is checked before anything changes: the group layout,
        every state entry's parameter index, and every buffer's shape (the parameter's, or a scalar)
        and dtype (numeric, castable to the parameter's), so a bad entry leaves the optimizer as it was.

        Args:
            state_dict: a dict returned by ``state_dict`` (possibly after ``autograd.save``/``load``).

        Raises:
            ValueError: the layout differs, or an entry cannot be restored (named as ``state[index][name]``).
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"but the optimizer has {len(self.param_groups)}")
        params: dict[int, Tensor] = {}
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group of {len(saved['params'])} parameters "
                                 f"that doesn't match the size of optimizer's group ({len(group['params'])})")
            params.update(zip((int(index) for index in saved["params"]), group["params"]))
        state = {}
        for index, values in state_dict["state"].items():
            param = params.get(int(index))
            if param is None:
                raise ValueError(f"loaded state dict has state for parameter {index}, which none of its parameter "
                                 f"groups lists")
            state[param] = {name: _restore(value, param, f"state[{index}][{name!r}]") for name, value in values.items()}
        self.state = state
        self.param_groups = [{**saved, "params": group["params"]}
                             for group, saved in zip(self.param_groups, saved_groups)]


def _check_ordered(params: Any) -> None:
    """Refuse a set: state_dict() names parameters by position, and a set's order changes between runs,
    so a saved state would be loaded into the wrong parameters."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                        "tensors in sets will change between runs. Please use a list instead.")


def _restore(value: Any, param: Tensor, where: str) -> Any:
    """A private copy of a saved state value; floating (and complex) buffers take the parameter's dtype.

    Raises:
        ValueError: an array of another shape than the parameter's (other than a scalar) or of a dtype
            that cannot be cast, naming ``where``.
    """
    if isinstance(value, (Tensor, np.ndarray)):
        array = _device.to_device(value.data if isinstance(value, Tensor) else value, "cpu")
        if array.ndim and array.shape != param.shape:
            raise ValueError(f"loaded state dict: {where} has shape {array.shape}, but its parameter has shape "
                             f"{param.shape}")
        dtype = param.dtype if array.dtype.kind in "fc" else array.dtype
        problem = cast_problem(array, dtype)
        if problem:
            raise ValueError(f"loaded state dict: {where} cannot be restored as {dtype}: {problem}")
        # On the parameter's device, as PyTorch's load_state_dict puts it.
        return wrap(_device.to_device(np.array(array, dtype=dtype, copy=True), param.device))
    return value
