"""Run a registry op on another device and compare it with the CPU: what ``tests/test_device.py`` checks on the
test device and ``benchmarks/gpu_check.py`` on a real GPU, in one place."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .. import device as _device
from ..opinfo import OpInfo, Sample
from ..tensor import Tensor


def _moved(value: Any, device: Any) -> Any:
    """``value`` with its Tensors (also in lists and tuples) as fresh leaves on ``device``, and its arrays (masks,
    indices) copied there, as a caller on that device would pass them."""
    if isinstance(value, Tensor):
        leaf = Tensor(_device.to_device(value.detach().data.copy(), device))
        return leaf.requires_grad_(True) if value.requires_grad else leaf
    if isinstance(value, np.ndarray):
        return _device.to_device(value.copy(), device)
    if type(value) in (list, tuple):
        return type(value)(_moved(item, device) for item in value)
    return value


def _leaves(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value] if value.requires_grad else []
    if type(value) in (list, tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


def _outputs(result: Any) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, tuple):
        return [item for item in result if isinstance(item, Tensor)]
    return []


def compare_op(info: OpInfo, sample: Sample, device: Any, rtol: float | None = None,
               atol: float = 1e-12) -> list[str]:
    """Run ``info.op`` on the sample on the CPU and on ``device``, forward and backward, and list what differs.

    The backward pass differentiates the sum of each floating output times fixed random weights. Checked: every
    output and gradient is an array of ``device`` (nothing came back as a host array), and equals the CPU's
    within ``rtol`` (1e-5 for float32, 1e-10 for float64 by default).

    Returns:
        one message per problem; empty when the device agrees with the CPU.
    """
    device = _device.Device(device)
    problems: list[str] = []
    runs = []
    for where in (_device.CPU, device):
        args, kwargs = _moved(sample.args, where), {key: _moved(value, where) for key, value in sample.kwargs.items()}
        if "module" in kwargs:  # a layer's sample (opinfo.layers): its arguments end with the layer's parameters
            kwargs["module"] = copy.deepcopy(kwargs["module"]).to(where)
            args = (*args[:kwargs["count"]], *kwargs["module"].parameters())
        try:
            outputs = _outputs(info.op(*args, **kwargs))
        except Exception as error:  # reported, not raised: the caller lists every op that fails
            return [f"forward on {where}: {type(error).__name__}: {error}"]
        strays = [index for index, output in enumerate(outputs) if not _device.is_on(output.data, where)]
        if strays:
            return [f"output {strays[0]}: came back on {_device.device_of(outputs[strays[0]].data)}, not {where}"]
        leaves = _leaves((args, tuple(kwargs.values())))
        rng = np.random.default_rng(0)
        loss = None
        for output in outputs:
            if output.requires_grad:
                weights = Tensor(_device.to_device(rng.standard_normal(output.shape).astype(output.dtype), where))
                term = (output * weights).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            try:
                loss.backward()
            except Exception as error:
                return [f"backward on {where}: {type(error).__name__}: {error}"]
        runs.append((outputs, [leaf.grad for leaf in leaves]))
    (cpu_outputs, cpu_grads), (outputs, grads) = runs
    for kind, expected, got in (("output", cpu_outputs, outputs), ("gradient", cpu_grads, grads)):
        for index, (want, have) in enumerate(zip(expected, got)):
            if want is None or have is None:
                if (want is None) != (have is None):
                    problems.append(f"{kind} {index}: None on one device only")
                continue
            if not _device.is_on(have.data, device):
                problems.append(f"{kind} {index}: came back on {_device.device_of(have.data)} "
                                f"({type(have.data).__name__}), not {device}")
                continue
            host = _device.to_device(have.data, "cpu")
            tolerance = rtol if rtol is not None else (1e-5 if want.dtype.itemsize <= 4 else 1e-10)
            if host.shape != want.shape or host.dtype != want.dtype:
                problems.append(f"{kind} {index}: {host.dtype}{host.shape} on {device}, {want.dtype}{want.shape} "
                                f"on the CPU")
            elif not np.allclose(host, want.data, rtol=tolerance, atol=atol, equal_nan=True):
                problems.append(f"{kind} {index}: differs from the CPU's by up to "
                                f"{np.max(np.abs(host - want.data)):.3g}")
    return problems
