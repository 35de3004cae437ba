"""A second "device" on the CPU, so that CI without a GPU checks what CuPy would refuse.

``DeviceArray`` is a numpy subclass registered as the device type ``"test"``. Like a CuPy array it refuses to
meet a plain numpy array in a ufunc (``x + host``), an array function (``np.concatenate([x, host])``) or an index
(``x[host_indices]``, ``x[...] = host``): CuPy raises there rather than copy between host and device behind the
user's back. It has CuPy's ``.get()`` (the copy to the host), returns 0-d arrays where numpy returns scalars
(CuPy's reductions do), and its ``flags`` lack ``writeable`` (CuPy's do). ``xp`` mirrors the numpy namespace
but makes DeviceArrays (``xp.zeros``, ``xp.arange``, ``xp.asarray(host)`` for an explicit copy).

It lives in the package, not in ``tests/``, because ``benchmarks/gpu_check.py --device test`` and users testing
their own ops for device leaks import it too. Importing this module registers the device.

Inside ``record_mixes()`` a mix is counted (by the line of code that made it) instead of raised, so one run lists
every site: ``with record_mixes() as mixes: step(); print(mixes.most_common())``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import types
from typing import Any, Callable, Iterator

import numpy as np

from .. import device as _device

DEVICE = "test"

# Functions of ``xp`` that copy host data onto the device on purpose, as ``cupy.asarray`` does.
_TRANSFERS = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray", "copy"})

_mixes: collections.Counter | None = None  # set inside record_mixes()
_HERE = os.path.abspath(__file__)
_NUMPY = os.path.dirname(np.__file__)


class DeviceMixError(TypeError):
    """A host (numpy) array met a device array in one operation (CuPy raises TypeError there too)."""


def _site() -> str:
    """``file:line`` of the innermost frame outside this module and numpy: the code that mixed."""
    frame = sys._getframe(1)
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if name != _HERE and not name.startswith(_NUMPY):
            return f"{os.path.relpath(name)}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def _mix(op: str, what: str) -> None:
    if _mixes is not None:
        _mixes[(_site(), op)] += 1
        return
    raise DeviceMixError(f"{op}: a host numpy array ({what}) met a '{DEVICE}' device array; move it with "
                         f"xp.asarray(...) or to_device(...) first, as CuPy requires")


def _unwrap(value: Any, op: str, allow_host: bool = False) -> Any:
    """``value`` with DeviceArrays (also inside lists, tuples and dicts) as plain numpy views."""
    if isinstance(value, DeviceArray):
        return value.view(np.ndarray)
    if isinstance(value, np.ndarray):
        if not allow_host:
            _mix(op, f"shape {value.shape}")
        return value
    if type(value) in (list, tuple):
        return type(value)(_unwrap(item, op, allow_host) for item in value)
    if type(value) is dict:
        return {key: _unwrap(item, op, allow_host) for key, item in value.items()}
    return value


def _wrap(value: Any) -> Any:
    """Results as DeviceArrays; numpy scalars become 0-d DeviceArrays, as CuPy returns them."""
    if isinstance(value, np.ndarray):
        return value if isinstance(value, DeviceArray) else value.view(DeviceArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(DeviceArray)
    if type(value) in (list, tuple):
        return type(value)(_wrap(item) for item in value)
    if hasattr(value, "_fields") and isinstance(value, tuple):  # numpy's named results (np.linalg.slogdet)
        return type(value)(*(_wrap(item) for item in value))
    return value


class _Flags:
    """CuPy's ``flags``: contiguity and ownership, no ``writeable``."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, flags: Any) -> None:
        self.c_contiguous, self.f_contiguous, self.owndata = flags.c_contiguous, flags.f_contiguous, flags.owndata

    def __getitem__(self, key: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous, "OWNDATA": self.owndata}[key]


class DeviceArray(np.ndarray):
    """A numpy array that stands for device memory (see the module docstring)."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        op = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        out = kwargs.get("out")
        inputs = _unwrap(inputs, op)
        if out is not None:
            kwargs["out"] = _unwrap(out, op)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Callable, types: Any, args: tuple, kwargs: dict) -> Any:
        return _wrap(func(*_unwrap(args, func.__name__), **_unwrap(kwargs, func.__name__)))

    def __getitem__(self, key: Any) -> Any:
        return _wrap(np.ndarray.__getitem__(self.view(np.ndarray), _unwrap(key, "getitem")))

    def __setitem__(self, key: Any, value: Any) -> None:
        np.ndarray.__setitem__(self.view(np.ndarray), _unwrap(key, "setitem"), _unwrap(value, "setitem"))

    @property
    def flags(self) -> _Flags:  # type: ignore[override]
        """CuPy's flags (no ``writeable``), so code that writes through ``flags.writeable`` fails here as on a GPU."""
        return _Flags(np.ndarray.flags.__get__(self))

    def get(self) -> np.ndarray:
        """A host (numpy) copy, as ``cupy.ndarray.get()``."""
        return np.array(self.view(np.ndarray), copy=True)


class _Namespace(types.ModuleType):
    """numpy's namespace (or a submodule's) whose functions take and return DeviceArrays."""

    def __init__(self, namespace: types.ModuleType) -> None:
        super().__init__(f"{__name__}.xp" + namespace.__name__[len("numpy"):])
        self._namespace = namespace
        if namespace is np:
            self.ndarray = DeviceArray

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._namespace, name)
        if isinstance(value, types.ModuleType):
            value = _Namespace(value)
        elif callable(value) and not isinstance(value, type):
            value = _device_function(value, name)
        setattr(self, name, value)  # looked up once
        return value


def _device_function(func: Callable, name: str) -> Callable:
    allow_host = name in _TRANSFERS

    def call(*args: Any, **kwargs: Any) -> Any:
        return _wrap(func(*_unwrap(args, name, allow_host), **_unwrap(kwargs, name, allow_host)))

    call.__name__ = call.__qualname__ = name
    call.__doc__ = func.__doc__
    return call


xp = _Namespace(np)


def _from_host(array: np.ndarray, index: int) -> DeviceArray:
    # A fresh array that views nothing (``base`` None), as ``cupy.asarray`` makes.
    result = DeviceArray(array.shape, array.dtype)
    result.view(np.ndarray)[...] = array
    return result


_device.register_backend(_device.Backend(DEVICE, DeviceArray, xp, _from_host, lambda array: 0))


@contextlib.contextmanager
def record_mixes() -> Iterator[collections.Counter]:
    """Count host/device mixes by ``(file:line, op)`` instead of raising on the first one.

    Returns (as the context value):
        a Counter filled while the block runs; ``sum(counter.values())`` mixes at ``len(counter)`` sites.
    """
    global _mixes
    previous, _mixes = _mixes, collections.Counter()
    try:
        yield _mixes
    finally:
        _mixes = previous
