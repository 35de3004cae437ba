"""Devices: where a tensor's array lives, and the array module that computes on it (Chainer's idea).

A tensor has no device field: its device is read off its array's type, numpy's ``ndarray`` for the CPU and
CuPy's ``ndarray`` for a GPU, so the two can never disagree. Code that creates arrays takes its module from the
data (``xp = get_array_module(x)``; ``xp.zeros(...)``), so one source runs on both. A third kind of array, the
test device of ``autograd.testing.device_array``, registers itself here with ``register_backend`` so that the
CPU-only CI can check that no host array slips in beside a device one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import OpError

CUDA_INSTALL_HINT = "pip install cupy-cuda12x (CUDA 12) or cupy-cuda13x (CUDA 13)"


class Device:
    """Where a tensor's data lives: ``Device("cpu")``, ``Device("cuda")``, ``Device("cuda:1")``, ``Device("cuda", 1)``.

    Args:
        type: ``"cpu"``, ``"cuda"`` or a registered type, optionally with ``":index"``; or a Device (returned
            as is).
        index: the device number (CUDA's ordinal); None for "the current one" (0 when a tensor is put there).

    Attributes:
        type: the device type.
        index: the device number, None for the CPU and for an unnumbered device.

    Devices compare equal to their strings (``t.device == "cpu"``); ``Device("cuda") == Device("cuda:0")`` is
    False, as in PyTorch, but every tensor reports a numbered GPU.
    """

    __slots__ = ("type", "index")

    def __new__(cls, type: str | Device, index: int | None = None) -> Device:
        if isinstance(type, Device):
            return type
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu' or 'cuda:0', got {type.__class__.__name__}")
        kind, _, number = type.partition(":")
        if number:
            if index is not None:
                raise ValueError(f"device(): the index is given twice, in {type!r} and as {index}")
            if not number.isdigit():
                raise ValueError(f"device(): invalid device index {number!r} in {type!r}")
            index = int(number)
        if kind not in _KNOWN_TYPES and kind not in _backends:
            raise ValueError(f"device(): expected one of {sorted({*_KNOWN_TYPES, *_backends})} device type at the "
                             f"start of the device string, got {type!r}")
        if kind == "cpu" and index not in (None, 0):
            raise ValueError(f"device(): the CPU has no device {index}")
        if index is not None and index < 0:
            raise ValueError(f"device(): the index must be non-negative, got {index}")
        device = object.__new__(cls)
        device.type = kind
        device.index = None if kind == "cpu" else index
        return device

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except ValueError:
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type={self.type!r})" if self.index is None else \
            f"device(type={self.type!r}, index={self.index})"

    def __reduce__(self) -> tuple:
        return Device, (self.type, self.index)


@dataclass(frozen=True)
class Backend:
    """A device type other than the CPU: its array type, array module and the two copies across.

    Attributes:
        type: the device type (``"cuda"``).
        array_type: the class of its arrays.
        module: the namespace that makes and computes on them (``cupy``).
        from_host: ``from_host(array, index)`` copies a numpy array to device ``index``.
        index_of: ``index_of(array)``, the device number of one of its arrays.
    """

    type: str
    array_type: Any  # a class (``cupy.ndarray``)
    module: Any
    from_host: Callable[[np.ndarray, int], Any]
    index_of: Callable[[Any], int]


_KNOWN_TYPES = ("cpu", "cuda")
_backends: dict[str, Backend] = {}
_by_array_type: dict[type, Backend] = {}
CPU = Device("cpu")


def register_backend(backend: Backend) -> None:
    """Make ``backend.type`` a device type (done by CuPy's loader and by the test device)."""
    _backends[backend.type] = backend
    _by_array_type[backend.array_type] = backend


# Types that are never device arrays: answered first, since type promotion asks about every Python number.
_HOST_TYPES = frozenset({np.ndarray, int, float, complex, bool, type(None)})


def _backend_of(array: Any) -> Backend | None:
    kind = type(array)
    if kind in _HOST_TYPES or isinstance(array, np.generic):
        return None
    backend = _by_array_type.get(kind)
    if backend is None and "cuda" not in _backends:
        # A CuPy array made before gradlab was asked for "cuda": nothing can be a CuPy array before cupy is imported.
        cupy = sys.modules.get("cupy")
        if cupy is not None and isinstance(array, cupy.ndarray):
            backend = _load_cupy()
    if backend is None and not isinstance(array, np.ndarray):
        backend = next((b for b in _backends.values() if isinstance(array, b.array_type)), None)
    return backend


def device_of(array: Any) -> Device:
    """The device that ``array`` (a numpy, CuPy or registered device array, or a number) lives on."""
    backend = _backend_of(array)
    return CPU if backend is None else Device(backend.type, backend.index_of(array))


def get_array_module(*arrays: Any) -> Any:
    """The array module of the first device array among ``arrays`` (Tensors, arrays, numbers): ``cupy`` for
    CuPy arrays, the test device's module for its arrays, ``numpy`` otherwise (Chainer's ``get_array_module``).

    Forward and backward code creates arrays with it (``xp.zeros(shape)`` where it wrote ``np.zeros``) so that
    they land on the device of the data they go with.
    """
    for array in arrays:
        if type(array) is np.ndarray:
            continue
        backend = _backend_of(array.data if isinstance(array, Tensor) else array)
        if backend is not None:
            return backend.module
    return np


def module_for(device: Device | str) -> Any:
    """The array module of ``device`` (``numpy`` for the CPU), checking that the device can be used.

    Raises:
        RuntimeError: for ``"cuda"`` when CuPy is not installed, or when it is and no GPU (or not that many GPUs)
            can be used; the message says which.
    """
    device = Device(device)
    if device.type == "cpu":
        return np
    return _backend(device).module


def _backend(device: Device) -> Backend:
    if device.type == "cuda":
        backend = _load_cupy()
        count = _cuda_device_count()
        if device.index is not None and device.index >= count:
            raise RuntimeError(f"cuda: device {device} was asked for, but only {count} GPU(s) are visible")
        return backend
    if device.type not in _backends:
        raise RuntimeError(f"{device.type}: this device type is not registered (import its backend first, e.g. "
                           f"autograd.testing.device_array for 'test')")
    return _backends[device.type]


def _load_cupy() -> Backend:
    if "cuda" in _backends:
        return _backends["cuda"]
    try:
        import cupy
    except ImportError as error:
        raise RuntimeError(f"cuda: CuPy is not installed, and gradlab runs on NVIDIA GPUs through it "
                           f"({CUDA_INSTALL_HINT}); import failed with: {error}") from None

    def from_host(array: np.ndarray, index: int) -> Any:
        with cupy.cuda.Device(index):
            return cupy.asarray(array)

    backend = Backend("cuda", cupy.ndarray, cupy, from_host, lambda array: array.device.id)
    register_backend(backend)
    return backend


def _cuda_device_count() -> int:
    """The number of GPUs CuPy sees; raises the "no GPU" error when there are none."""
    cupy = _load_cupy().module
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDARuntimeError without a driver; its class lives in a compiled module
        raise RuntimeError(f"cuda: CuPy {cupy.__version__} is installed but no CUDA GPU can be used "
                           f"({type(error).__name__}: {error})") from None
    if count == 0:
        raise RuntimeError(f"cuda: CuPy {cupy.__version__} is installed but no CUDA GPU is visible")
    return count


def to_device(array: Any, device: Device | str) -> Any:
    """``array`` copied to ``device`` (the array itself when it is there already).

    Args:
        array: a numpy, CuPy or registered device array.
        device: the target.

    Returns:
        an array of the target's module with the same values, dtype and shape.
    """
    device = Device(device)
    source = _backend_of(array)
    if device.type == "cpu":
        return array if source is None else array.get()
    target = _backend(device)
    index = 0 if device.index is None else device.index
    if source is target and target.index_of(array) == index:
        return array
    host = array if source is None else array.get()
    return target.from_host(np.asarray(host), index)


def check_same_device(op: str, *arrays: Any) -> None:
    """Raise an ``OpError`` for ``op`` given arrays on different devices ("expected all tensors to be on the same
    device, but found at least two devices, cuda:0 and cpu"), as PyTorch does; return when they share one. Called
    after a TypeError, which is how CuPy refuses to mix devices, naming neither."""
    devices = []
    for array in arrays:
        if isinstance(array, np.ndarray) or _backend_of(array) is not None:
            device = device_of(array)
            if device not in devices:
                devices.append(device)
    if len(devices) > 1:
        raise OpError(f"{op}: expected all tensors to be on the same device, but found at least two devices, "
                      f"{devices[0]} and {devices[1]}") from None


def is_on(array: Any, device: Device | str) -> bool:
    """Whether ``array`` is on ``device`` (an unnumbered device means its device 0)."""
    device, here = Device(device), device_of(array)
    return here.type == device.type and (here.index or 0) == (device.index or 0)


# Imported here: the Tensor module imports this one at its end, once Tensor and Function can be defined.
from .function import Function  # noqa: E402
from .tensor import Tensor  # noqa: E402


class ToDevice(Function):
    """y = x copied to another device; the gradient is copied back to x's device."""

    @staticmethod
    def forward(ctx, x: Tensor, device: Device) -> Any:
        ctx.source = device_of(x.data)
        return to_device(x.data, device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return ToDevice.apply(grad, ctx.source), None
