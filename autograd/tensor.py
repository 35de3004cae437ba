"""``Tensor``: a numpy array that remembers how it was computed, and the factories that make one."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import random as _random
from .errors import OpError
from .grad_mode import grad_mode
from .hooks import LeafHooks, RemovableHandle, add_hook

DEFAULT_DTYPE = np.dtype(np.float32)

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data with PyTorch's rules: floats -> float32, ints -> int64, arrays keep their dtype."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, np.generic):
        array = np.asarray(data)
    elif _device.device_of(data) != _device.CPU:
        array = data  # a device (CuPy) array stays on its device: np.asarray would copy it to the host, or refuse
    else:
        array = np.asarray(data)
        if array.dtype.kind == "f":
            # With a dtype given, convert once below: tensor([0.1], dtype=float64) stays exact.
            array = array.astype(DEFAULT_DTYPE if dtype is None else dtype, copy=False)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64, copy=False)
        elif array.dtype.kind not in "bc":
            raise TypeError(f"tensor(): cannot make a tensor from {type(data).__name__} (numpy dtype {array.dtype})")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


# PyTorch's legacy type names, for ``Tensor.type()``.
_TYPE_NAMES = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
               np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor", np.dtype(np.int32): "IntTensor",
               np.dtype(np.int16): "ShortTensor", np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor",
               np.dtype(np.bool_): "BoolTensor"}


def wrap(data: np.ndarray) -> Tensor:
    """Make a Tensor around ``data`` without copying or converting (internal fast path for ops)."""
    tensor = object.__new__(Tensor)
    tensor.data = data
    tensor.grad = None
    tensor.requires_grad = False
    tensor.grad_fn = None
    tensor._output_nr = 0
    tensor._version = [0]
    tensor._accumulator = None
    tensor._hooks = None
    return tensor


def wrap_result(value: Any) -> Tensor:
    """``wrap`` for a ufunc's result, which numpy gives as a numpy scalar for 0-d operands (a 0-d array then); a
    device array stays on its device (``np.asarray`` would copy it to the host, or refuse)."""
    return wrap(np.asarray(value) if isinstance(value, np.generic) else value)


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    Args:
        data: array-like (nested lists, numbers, numpy arrays, Tensors). Python floats become
            float32 and ints int64; numpy arrays keep their dtype. The array is not copied when it
            already has the requested dtype (use ``autograd.tensor`` for a copy).
        dtype: numpy dtype to convert to, or None.
        requires_grad: whether backward should compute a gradient for this tensor.

    Attributes:
        data: the underlying ``numpy.ndarray``.
        grad: gradient accumulated by backward (a Tensor), or None.
        requires_grad: whether gradients flow to this tensor.
        grad_fn: the op (a ``Function``) that made this tensor, None for leaves.
    """

    # ``_value`` is the number a ``ScalarTensor`` holds instead of ``data``, ``_edge`` the edge its gradient flows
    # along (shared by every op that uses it); both are unset (and unread) in a Tensor.
    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_output_nr", "_version", "_accumulator", "_hooks",
                 "_value", "_edge", "__weakref__")

    # Tensors compare elementwise, so hashing stays by identity as in PyTorch.
    __hash__ = object.__hash__
    # Make numpy defer to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_priority__ = 1000

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = _to_array(data, dtype)
        self.grad = None
        self.requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        # A Tensor made around another's array shares its version counter, as a view does.
        self._version = data._version if isinstance(data, Tensor) and self.data is data.data else [0]
        self._accumulator = None
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape as a tuple."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the data."""
        return self.data.dtype

    @property
    def device(self) -> _device.Device:
        """Where the data lives (``device(type='cpu')``, ``device(type='cuda', index=0)``), read off its array type."""
        return _device.device_of(self.data)

    @property
    def is_cuda(self) -> bool:
        """Whether the data is on a GPU."""
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (user-created tensors and parameters)."""
        return self.grad_fn is None

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is (0 for leaves and single-output ops)."""
        return self._output_nr

    @property
    def T(self) -> Tensor:
        """The tensor with its dimensions reversed."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        """The tensor with its last two dimensions swapped (batched matrix transpose)."""
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None) -> Any:
        """The shape as a tuple, or the size of dimension ``dim``."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        """Number of dimensions (same as ``ndim``)."""
        return self.data.ndim

    def numel(self) -> int:
        """Total number of elements."""
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied). Refused for tensors that require grad, as in PyTorch."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if type(self.data) is not np.ndarray and self.device != _device.CPU:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                            f"tensor to host memory first.")
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule of the data, so ``torch.from_dlpack(t)`` and ``np.from_dlpack(t)`` share its memory.

        The data's array (numpy's, or CuPy's for a tensor on ``"cuda"``) makes the capsule. Refused for tensors that
        require grad, as in PyTorch (the consumer would bypass the graph); export ``t.detach()``, which shares the
        same memory. Writes through the consumer are not seen by gradlab's in-place checks, as for ``numpy()``.

        Args:
            stream: the consumer's CUDA stream, for data on a GPU (CuPy synchronises with it); None for host memory.
            max_version: the highest DLPack version the consumer understands.
            dl_device: the device the consumer wants the data on.
            copy: True to export a copy, False to refuse one, None to copy only if needed.

        Returns:
            a ``PyCapsule`` named ``dltensor`` (or ``dltensor_versioned``).
        """
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        # Only the keywords a consumer set, so an array module that predates DLPack 1.0 (numpy < 2.1) raises the
        # TypeError on which consumers such as torch retry with the old protocol.
        settings = {name: value for name, value in (("stream", stream), ("max_version", max_version),
                                                    ("dl_device", dl_device), ("copy", copy)) if value is not None}
        return self.data.__dlpack__(**settings)

    def __dlpack_device__(self) -> tuple[int, int]:
        """``(device type, device id)`` in DLPack's enumeration, from the data's array: ``(1, 0)``, the host, for
        numpy data, ``(2, i)`` for CuPy data on GPU ``i``."""
        return self.data.__dlpack_device__()

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise OpError(f"item(): only one-element tensors can be converted to Python scalars, "
                             f"got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists."""
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """Differentiable move and/or cast: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``.

        Args:
            args: a dtype, a device (``"cuda"``, ``"cpu"``, a ``Device``), both (device first), or a Tensor whose
                device and dtype to take.
            dtype, device: the same as keywords.
            non_blocking: accepted for PyTorch's scripts; copies are synchronous.
            copy: a new tensor even when nothing changes.

        Returns:
            ``self`` when it is already there with that dtype; otherwise a new tensor whose gradient flows back
            (cast back, moved back).
        """
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, _device.Device)):
                device = arg
            else:
                dtype = arg
        result = self
        if device is not None and not _device.is_on(self.data, device):
            result = _device.ToDevice.apply(result, _device.Device(device))
        if dtype is not None and result.data.dtype != np.dtype(dtype):
            result = shape_ops.Cast.apply(result, np.dtype(dtype))
        return result.clone() if copy and result is self else result

    def cuda(self, device: int | str | None = None) -> Tensor:
        """Differentiable copy to GPU ``device`` (default 0); ``self`` when it is there already."""
        return self.to(_device.Device("cuda", device) if isinstance(device, int) or device is None else device)

    def cpu(self) -> Tensor:
        """Differentiable copy to host memory; ``self`` when it is there already."""
        return self.to("cpu")

    def float(self) -> Tensor:
        """Cast to float32."""
        return self.to(float32)

    def double(self) -> Tensor:
        """Cast to float64."""
        return self.to(float64)

    def half(self) -> Tensor:
        """Cast to float16."""
        return self.to(float16)

    def long(self) -> Tensor:
        """Cast to int64 (no gradient)."""
        return wrap(self.data.astype(np.int64))

    def int(self) -> Tensor:
        """Cast to int32 (no gradient)."""
        return wrap(self.data.astype(np.int32))

    def byte(self) -> Tensor:
        """Cast to uint8 (no gradient)."""
        return wrap(self.data.astype(np.uint8))

    def type(self, dtype: Any = None) -> Any:
        """PyTorch's type name (``'torch.FloatTensor'``) without ``dtype``; with it, the tensor cast to ``dtype``.

        Args:
            dtype: a dtype, or a type name such as ``'torch.DoubleTensor'``.
        """
        if dtype is None:
            return "torch." + _TYPE_NAMES.get(self.data.dtype, "Tensor")
        if isinstance(dtype, str):
            names = {f"torch.{name}": key for key, name in _TYPE_NAMES.items()}
            if dtype not in names:
                raise ValueError(f"type(): invalid type {dtype!r}; expected one of {sorted(names)}")
            dtype = names[dtype]
        dtype = np.dtype(dtype)
        return self.to(dtype) if dtype.kind in "fc" else wrap(self.data.astype(dtype))

    def bool(self) -> Tensor:
        """Cast to bool (no gradient)."""
        return wrap(self.data.astype(np.bool_))

    def __deepcopy__(self, memo: dict) -> Tensor:
        # A field-by-field copy would share the weak link to this leaf's gradient sink, so the copy's
        # gradients could land in the original's .grad: build a fresh leaf instead, as PyTorch does.
        if self.grad_fn is not None:
            raise RuntimeError("deepcopy: only leaf tensors can be deep-copied; use tensor.detach().clone()")
        grad = None if self.grad is None else self.grad.data.copy()
        result = _rebuild(type(self), self.data.copy(), self.requires_grad, grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol: int) -> tuple:
        # Data, flag and gradient only: the graph and the gradient sink belong to this process.
        return _rebuild, (type(self), self.data, self.requires_grad, None if self.grad is None else self.grad.data)

    # ----------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor: use tensor.detach() to get a tensor outside the graph"
            )
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and version counter), cut off from the graph."""
        tensor = wrap(self.data)
        tensor._version = self._version
        return tensor

    def detach_(self) -> Tensor:
        """Cut this tensor off from the graph in place."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A differentiable copy with its own data."""
        return shape_ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        """``self`` (numpy handles strides; kept for PyTorch compatibility)."""
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None:
            return
        reference = weakref.ref(self)

        def store(grad: Tensor) -> None:
            tensor = reference()
            if tensor is not None:
                # A copy, as in PyTorch: the gradient may also go on to other tensors (both inputs of an add get it).
                tensor.grad = grad.clone() if tensor.grad is None else tensor.grad + grad

        self.register_hook(store)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            return add_hook(self._leaf_hooks().grad, hook)
        return add_hook(self.grad_fn._own_hooks().tensor.setdefault(self._output_nr, {}), hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(tensor)`` each time backward has added a gradient into this leaf's ``.grad``.

        How data-parallel training starts reducing a parameter's gradient while backward goes on. The hook stays
        registered across backward passes, and reads (or changes in place) ``tensor.grad``; it returns None.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        if self.grad_fn is not None or not self.requires_grad:
            raise RuntimeError("post accumulate grad hooks can only be registered on leaf tensors that require grad "
                               f"(this tensor of shape {self.shape} "
                               f"{'is not a leaf' if self.grad_fn is not None else 'does not require grad'})")
        return add_hook(self._leaf_hooks().post_accumulate, hook)

    def _leaf_hooks(self) -> LeafHooks:
        if self._hooks is None:
            self._hooks = LeafHooks()
        return self._hooks

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Compute the gradient of this tensor w.r.t. the graph leaves and accumulate it in their ``.grad``.

        Args:
            gradient: gradient w.r.t. this tensor; required unless it has one element.
            retain_graph: keep saved tensors so backward can run again (defaults to ``create_graph``).
            create_graph: record the backward pass too, so the gradients can be differentiated again.
        """
        engine.backward((self,), None if gradient is None else (gradient,), retain_graph, create_graph)

    # ----------------------------------------------------------------- in-place ops
    def _check_inplace(self, op: str) -> None:
        if grad_mode.enabled and self.requires_grad:
            kind = "a leaf tensor that requires grad" if self.grad_fn is None else "a tensor that is part of a graph"
            raise RuntimeError(
                f"{op}: in-place operation on {kind} (shape {self.shape}); wrap it in `with autograd.no_grad():` "
                f"(as optimizers and init do) or use the out-of-place op"
            )

    def _assign_inplace(self, op: str, result: Any) -> Tensor:
        self._check_inplace(op)
        self.data[...] = result
        self._version[0] += 1
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        """In place: ``self += alpha * other``."""
        other = other.data if isinstance(other, Tensor) else other
        return self._assign_inplace("add_", self.data + (other if alpha == 1 else alpha * other))

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        """In place: ``self -= alpha * other``."""
        other = other.data if isinstance(other, Tensor) else other
        return self._assign_inplace("sub_", self.data - (other if alpha == 1 else alpha * other))

    def mul_(self, other: Any) -> Tensor:
        """In place: ``self *= other``."""
        return self._assign_inplace("mul_", self.data * (other.data if isinstance(other, Tensor) else other))

    def div_(self, other: Any) -> Tensor:
        """In place: ``self /= other``."""
        return self._assign_inplace("div_", self.data / (other.data if isinstance(other, Tensor) else other))

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:
        """In place: clamp every element into ``[min, max]``."""
        return self._assign_inplace("clamp_", np.clip(self.data, min, max))

    def zero_(self) -> Tensor:
        """In place: set every element to 0."""
        return self._assign_inplace("zero_", 0)

    def fill_(self, value: float) -> Tensor:
        """In place: set every element to ``value``."""
        return self._assign_inplace("fill_", value.data if isinstance(value, Tensor) else value)

    def copy_(self, source: Any) -> Tensor:
        """In place: copy ``source`` (broadcast to this shape) into this tensor."""
        source = source.data if isinstance(source, Tensor) else np.asarray(source)
        # Across devices, as PyTorch's copy_ (load_state_dict of a CPU checkpoint into a model on a GPU).
        source = _device.to_device(source, _device.device_of(self.data))
        try:
            np.broadcast_to(source, self.shape)
        except ValueError:
            raise OpError(f"copy_: source of shape {source.shape} cannot be broadcast to {self.shape}") from None
        return self._assign_inplace("copy_", source)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        """In place: fill with samples from U(a, b) drawn from the global generator."""
        return self._assign_inplace("uniform_", _random.generator().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """In place: fill with samples from N(mean, std^2) drawn from the global generator."""
        return self._assign_inplace("normal_", _random.generator().normal(mean, std, self.shape))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        indexing.assign(self.data, indexing.normalize_index(key), value.data if isinstance(value, Tensor) else value)
        self._version[0] += 1

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return elementwise.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return elementwise.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return elementwise.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return elementwise.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return elementwise.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return elementwise.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return elementwise.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return elementwise.Div.apply(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return elementwise.Pow.apply(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return elementwise.Pow.apply(base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return linalg.Matmul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.Matmul.apply(other, self)

    def __neg__(self) -> Tensor:
        return elementwise.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return elementwise.Abs.apply(self)

    def __floordiv__(self, other: Any) -> Tensor:
        return rounding.RoundedDiv.apply(self, other, "floor")

    def __rfloordiv__(self, other: Any) -> Tensor:
        return rounding.RoundedDiv.apply(other, self, "floor")

    def __mod__(self, other: Any) -> Tensor:
        return rounding.Remainder.apply(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return rounding.Remainder.apply(other, self)

    # ``t += x`` is in place like PyTorch, except on a tensor that is part of a graph being recorded:
    # there it records an ordinary op and rebinds ``t`` (PyTorch would rewrite the history in place).
    def __iadd__(self, other: Any) -> Tensor:
        return self + other if self.requires_grad and grad_mode.enabled else self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self - other if self.requires_grad and grad_mode.enabled else self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self * other if self.requires_grad and grad_mode.enabled else self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self / other if self.requires_grad and grad_mode.enabled else self.div_(other)

    # ----------------------------------------------------------------- comparisons (no gradient)
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return wrap_result(self.data == unwrap(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return wrap_result(self.data != unwrap(other))

    def __lt__(self, other: Any) -> Tensor:
        return wrap_result(self.data < unwrap(other))

    def __le__(self, other: Any) -> Tensor:
        return wrap_result(self.data <= unwrap(other))

    def __gt__(self, other: Any) -> Tensor:
        return wrap_result(self.data > unwrap(other))

    def __ge__(self, other: Any) -> Tensor:
        return wrap_result(self.data >= unwrap(other))

    def __invert__(self) -> Tensor:
        return logical.bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        return logical.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return logical.bitwise_and(other, self)

    def __or__(self, other: Any) -> Tensor:
        return logical.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return logical.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Tensor:
        return logical.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return logical.bitwise_xor(other, self)

    def __lshift__(self, other: Any) -> Tensor:
        return logical.bitwise_left_shift(self, other)

    def __rlshift__(self, other: Any) -> Tensor:
        return logical.bitwise_left_shift(other, self)

    def __rshift__(self, other: Any) -> Tensor:
        return logical.bitwise_right_shift(self, other)

    def __rrshift__(self, other: Any) -> Tensor:
        return logical.bitwise_right_shift(other, self)

    def eq(self, other: Any) -> Tensor:
        """Elementwise ``==`` as a bool tensor."""
        return self == other

    def all(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
            axis: int | Sequence[int] | None = None) -> Tensor:
        """True where every element over ``dim`` (all dimensions when None) is non-zero."""
        return reduction.all(self, reduction.dim_or_axis("all", dim, axis), keepdim)

    def any(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
            axis: int | Sequence[int] | None = None) -> Tensor:
        """True where some element over ``dim`` (all dimensions when None) is non-zero."""
        return reduction.any(self, reduction.dim_or_axis("any", dim, axis), keepdim)

    # ----------------------------------------------------------------- math methods
    def add(self, other: Any) -> Tensor:
        """``self + other``."""
        return elementwise.Add.apply(self, other)

    def sub(self, other: Any) -> Tensor:
        """``self - other``."""
        return elementwise.Sub.apply(self, other)

    def mul(self, other: Any) -> Tensor:
        """``self * other``."""
        return elementwise.Mul.apply(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """``self / other``, the quotient rounded by ``rounding_mode`` (``'trunc'``, ``'floor'``) when given."""
        if rounding_mode is None:
            return elementwise.Div.apply(self, other)
        return rounding.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent: Any) -> Tensor:
        """``self ** exponent``."""
        return elementwise.Pow.apply(self, exponent)

    def matmul(self, other: Tensor) -> Tensor:
        """Matrix product, see ``autograd.matmul``."""
        return linalg.Matmul.apply(self, other)

    def neg(self) -> Tensor:
        """``-self``."""
        return elementwise.Neg.apply(self)

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return elementwise.Abs.apply(self)

    def exp(self) -> Tensor:
        """Elementwise e**x."""
        return elementwise.Exp.apply(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return elementwise.Log.apply(self)

    def log1p(self) -> Tensor:
        """Elementwise log(1 + x), accurate for small x."""
        return elementwise.Log1p.apply(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return elementwise.Sqrt.apply(self)

    def sin(self) -> Tensor:
        """Elementwise sine."""
        return elementwise.Sin.apply(self)

    def cos(self) -> Tensor:
        """Elementwise cosine."""
        return elementwise.Cos.apply(self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return elementwise.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """Elementwise logistic function 1 / (1 + e**-x)."""
        return activation.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """Elementwise max(x, 0)."""
        return activation.Relu.apply(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Clamp every element into ``[min, max]`` (either bound may be None)."""
        return elementwise.clamp(self, min, max)

    clip = clamp

    def maximum(self, other: Tensor) -> Tensor:
        """Elementwise maximum with broadcasting."""
        return elementwise.Maximum.apply(self, other)

    def minimum(self, other: Tensor) -> Tensor:
        """Elementwise minimum with broadcasting."""
        return elementwise.Minimum.apply(self, other)

    # Trigonometric, hyperbolic, exponential and logarithmic functions (autograd/ops/trig.py, exponential.py).
    def tan(self) -> Tensor:
        """Elementwise tangent."""
        return trig.Tan.apply(self)

    def asin(self) -> Tensor:
        """Elementwise arcsine."""
        return trig.Asin.apply(self)

    def acos(self) -> Tensor:
        """Elementwise arccosine."""
        return trig.Acos.apply(self)

    def atan(self) -> Tensor:
        """Elementwise arctangent."""
        return trig.Atan.apply(self)

    def atan2(self, other: Any) -> Tensor:
        """Elementwise angle of the point (other, self)."""
        return trig.Atan2.apply(self, other)

    def sinh(self) -> Tensor:
        """Elementwise hyperbolic sine."""
        return trig.Sinh.apply(self)

    def cosh(self) -> Tensor:
        """Elementwise hyperbolic cosine."""
        return trig.Cosh.apply(self)

    def asinh(self) -> Tensor:
        """Elementwise inverse hyperbolic sine."""
        return trig.Asinh.apply(self)

    def acosh(self) -> Tensor:
        """Elementwise inverse hyperbolic cosine."""
        return trig.Acosh.apply(self)

    def atanh(self) -> Tensor:
        """Elementwise inverse hyperbolic tangent."""
        return trig.Atanh.apply(self)

    def exp2(self) -> Tensor:
        """Elementwise 2**x."""
        return exponential.Exp2.apply(self)

    def expm1(self) -> Tensor:
        """Elementwise e**x - 1, accurate for small x."""
        return exponential.Expm1.apply(self)

    def log2(self) -> Tensor:
        """Elementwise base-2 logarithm."""
        return exponential.Log2.apply(self)

    def log10(self) -> Tensor:
        """Elementwise base-10 logarithm."""
        return exponential.Log10.apply(self)

    def rsqrt(self) -> Tensor:
        """Elementwise 1 / sqrt(x)."""
        return exponential.Rsqrt.apply(self)

    def erf(self) -> Tensor:
        """Elementwise error function."""
        return exponential.Erf.apply(self)

    def erfc(self) -> Tensor:
        """Elementwise complementary error function 1 - erf(x)."""
        return exponential.erfc(self)

    def logaddexp(self, other: Any) -> Tensor:
        """Elementwise log(e**self + e**other), computed stably."""
        return exponential.LogAddExp.apply(self, other)

    # Rounding, signs and remainders (autograd/ops/rounding.py): zero gradients except frac, fmod, remainder.
    def sign(self) -> Tensor:
        """Elementwise -1, 0 or 1 by sign (0 for nan)."""
        return rounding.Sign.apply(self)

    def copysign(self, other: Any) -> Tensor:
        """Elementwise |self| with the sign of ``other``."""
        return rounding.Copysign.apply(self, other)

    def trunc(self) -> Tensor:
        """Elementwise rounding towards 0."""
        return rounding.Trunc.apply(self)

    def floor(self) -> Tensor:
        """Elementwise rounding down."""
        return rounding.Floor.apply(self)

    def ceil(self) -> Tensor:
        """Elementwise rounding up."""
        return rounding.Ceil.apply(self)

    def round(self, decimals: int = 0) -> Tensor:
        """Elementwise rounding to ``decimals`` places, halves to even."""
        return rounding.round(self, decimals=decimals)

    def frac(self) -> Tensor:
        """Elementwise fractional part x - trunc(x)."""
        return rounding.frac(self)

    def fmod(self, other: Any) -> Tensor:
        """Elementwise remainder with the sign of self (C's fmod)."""
        return rounding.Fmod.apply(self, other)

    def remainder(self, other: Any) -> Tensor:
        """Elementwise remainder with the sign of ``other`` (``self % other``)."""
        return rounding.Remainder.apply(self, other)

    def floor_divide(self, other: Any) -> Tensor:
        """Elementwise quotient rounded down (``self // other``)."""
        return rounding.RoundedDiv.apply(self, other, "floor")

    def clamp_min(self, min: float) -> Tensor:
        """Raise every element to at least ``min``."""
        return elementwise.Clamp.apply(self, min, None)

    def clamp_max(self, max: float) -> Tensor:
        """Lower every element to at most ``max``."""
        return elementwise.Clamp.apply(self, None, max)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """Replace nan and infinities by numbers; see ``autograd.nan_to_num``."""
        return elementwise.NanToNum.apply(self, nan, posinf, neginf)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        """Linear interpolation ``self + weight * (end - self)``."""
        return elementwise.lerp(self, end, weight)

    # Comparisons with nan rules (autograd/ops/comparison.py).
    def fmax(self, other: Tensor) -> Tensor:
        """Elementwise maximum ignoring nan."""
        return comparison.Fmax.apply(self, other)

    def fmin(self, other: Tensor) -> Tensor:
        """Elementwise minimum ignoring nan."""
        return comparison.Fmin.apply(self, other)

    def isclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """Elementwise ``|self - other| <= atol + rtol * |other|``."""
        return comparison.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether every element is close to ``other``'s."""
        return comparison.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> bool:
        """Whether ``other`` has the same shape and values."""
        return comparison.equal(self, other)

    # Tests of values, logical and bitwise ops (autograd/ops/logical.py): no gradients.
    def isnan(self) -> Tensor:
        """Elementwise test for nan."""
        return logical.isnan(self)

    def isinf(self) -> Tensor:
        """Elementwise test for +-inf."""
        return logical.isinf(self)

    def isfinite(self) -> Tensor:
        """Elementwise test for finite values."""
        return logical.isfinite(self)

    def logical_and(self, other: Any) -> Tensor:
        """Elementwise logical and."""
        return logical.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        """Elementwise logical or."""
        return logical.logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        """Elementwise logical exclusive or."""
        return logical.logical_xor(self, other)

    def logical_not(self) -> Tensor:
        """Elementwise logical not."""
        return logical.logical_not(self)

    def bitwise_and(self, other: Any) -> Tensor:
        """Elementwise bitwise and (``self & other``)."""
        return logical.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        """Elementwise bitwise or (``self | other``)."""
        return logical.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        """Elementwise bitwise exclusive or (``self ^ other``)."""
        return logical.bitwise_xor(self, other)

    def bitwise_not(self) -> Tensor:
        """Elementwise bitwise not (``~self``)."""
        return logical.bitwise_not(self)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        """Elementwise ``self << other``."""
        return logical.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        """Elementwise ``self >> other``."""
        return logical.bitwise_right_shift(self, other)

    def softmax(self, dim: int) -> Tensor:
        """Softmax along ``dim``."""
        return activation.Softmax.apply(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        """Log of the softmax along ``dim``, computed stably."""
        return activation.LogSoftmax.apply(self, dim)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None,
            axis: int | Sequence[int] | None = None) -> Tensor:
        """Sum over ``dim`` (all dimensions when None; ``axis`` is numpy's name for it); see ``autograd.sum``."""
        if dtype is None and axis is None and self.data.dtype.kind in "fc":
            return reduction.Sum.apply(self, dim, keepdim)  # the common case, without the wrapper's checks
        return reduction.sum(self, dim, keepdim, dtype=dtype, axis=axis)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
             axis: int | Sequence[int] | None = None) -> Tensor:
        """Mean over ``dim`` (all dimensions when None; ``axis`` is numpy's name for it)."""
        return reduction.mean(self, dim, keepdim, axis=axis)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Product over ``dim`` (all elements when None); see ``autograd.prod``."""
        return scan.prod(self, dim, keepdim, dtype=dtype)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Cumulative sum along ``dim``; see ``autograd.cumsum``."""
        return scan.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Cumulative product along ``dim``; see ``autograd.cumprod``."""
        return scan.cumprod(self, dim, dtype=dtype)

    def cummax(self, dim: int) -> Any:
        """Running maximum along ``dim`` as ``(values, indices)``; see ``autograd.cummax``."""
        return scan.cummax(self, dim)

    def cummin(self, dim: int) -> Any:
        """Running minimum along ``dim`` as ``(values, indices)``; see ``autograd.cummin``."""
        return scan.cummin(self, dim)

    def logcumsumexp(self, dim: int) -> Tensor:
        """log(cumsum(exp(x))) along ``dim``, computed without overflow."""
        return scan.logcumsumexp(self, dim)

    def norm(self, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False,
             dtype: Any = None) -> Tensor:
        """The vector p-norm over ``dim``; see ``autograd.norm``."""
        return reduction.norm(self, p, dim, keepdim, dtype)

    def count_nonzero(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """How many elements over ``dim`` are non-zero (int64)."""
        return reduction.count_nonzero(self, dim)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> Any:
        """``(min, max)`` over ``dim``; see ``autograd.aminmax``."""
        return reduction.aminmax(self, dim=dim, keepdim=keepdim)

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The (lower) median, or ``(values, indices)`` along ``dim``; see ``autograd.median``."""
        return sorting.median(self, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """The most frequent value along ``dim`` as ``(values, indices)``; see ``autograd.mode``."""
        return sorting.mode(self, dim, keepdim)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """``(values, indices)`` sorted along ``dim``; see ``autograd.sort``."""
        return sorting.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The indices that sort along ``dim``."""
        return sorting.argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The ``k`` largest (or smallest) elements along ``dim`` as ``(values, indices)``."""
        return sorting.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The ``k``-th smallest element along ``dim`` as ``(values, indices)``."""
        return sorting.kthvalue(self, k, dim, keepdim)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the non-zero elements; see ``autograd.nonzero``."""
        return sorting.nonzero(self, as_tuple=as_tuple)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Any:
        """The distinct elements; see ``autograd.unique``."""
        return sorting.unique(self, sorted, return_inverse, return_counts, dim)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Variance over ``dim``; see ``autograd.var``."""
        return reduction.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Standard deviation over ``dim``; see ``autograd.std``."""
        return reduction.std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Largest element, or ``(values, indices)`` along ``dim``."""
        return reduction.max(self, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """Smallest element, or ``(values, indices)`` along ``dim``."""
        return reduction.min(self, dim, keepdim)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Maximum over ``dim``; ties share the gradient equally."""
        return reduction.Amax.apply(self, dim, keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Minimum over ``dim``; ties share the gradient equally."""
        return reduction.amin(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the largest element (of the flattened tensor when ``dim`` is None)."""
        return reduction.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the smallest element (of the flattened tensor when ``dim`` is None)."""
        return reduction.argmin(self, dim, keepdim)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``dim``, computed without overflow."""
        return reduction.LogSumExp.apply(self, dim, keepdim)

    # ----------------------------------------------------------------- shape ops
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape (one dimension may be -1)."""
        return shape_ops.reshape(self, _shape_args(shape))

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        """Reshape to ``other``'s shape."""
        return shape_ops.reshape(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim..end_dim`` into one."""
        return shape_ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Split dimension ``dim`` into ``sizes``."""
        return shape_ops.unflatten(self, dim, sizes)

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Remove dimensions of size 1 (only ``dim``, an int or a tuple, when given)."""
        return shape_ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a dimension of size 1 at ``dim``."""
        return shape_ops.unsqueeze(self, dim)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions."""
        return shape_ops.Permute.apply(self, _shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dimensions."""
        return shape_ops.transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        """Transpose of a tensor with at most 2 dimensions."""
        if self.ndim > 2:
            raise OpError(f"t(): expects a tensor with <= 2 dimensions, got shape {self.shape}")
        return self.T

    def expand(self, *sizes: Any) -> Tensor:
        """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
        return shape_ops.expand(self, _shape_args(sizes))

    def expand_as(self, other: Tensor) -> Tensor:
        """Broadcast to ``other``'s shape."""
        return shape_ops.expand(self, other.shape)

    def repeat(self, *repeats: Any) -> Tensor:
        """Tile the tensor ``repeats[i]`` times along each dimension."""
        return shape_ops.repeat(self, _shape_args(repeats))

    def flip(self, dims: int | Sequence[int]) -> Tensor:
        """Reverse the order of elements along ``dims``."""
        return shape_ops.Flip.apply(self, dims)

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Split into pieces of a given size (or list of sizes) along ``dim``."""
        return shape_ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """Split into ``chunks`` nearly equal pieces along ``dim``."""
        return shape_ops.chunk(self, chunks, dim)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        """Pick values along ``dim`` at ``index`` (same number of dimensions as self)."""
        return indexing.gather(self, dim, index)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """``gather`` with broadcasting; see ``autograd.take_along_dim``."""
        return indexing.take_along_dim(self, indices, dim)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        """A copy with ``src`` (or ``value``) written at ``index`` along ``dim``; see ``autograd.scatter``."""
        return indexing.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """A copy with ``src`` added at ``index`` along ``dim``; see ``autograd.scatter_add``."""
        return indexing.scatter_add(self, dim, index, src)

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                       include_self: bool = True) -> Tensor:
        """A copy with ``src`` combined in at ``index`` by ``reduce``; see ``autograd.scatter_reduce``."""
        return indexing.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """The slices at ``index`` along ``dim``."""
        return indexing.index_select(self, dim, index)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        """A copy with ``alpha * source`` added to the slices at ``index`` along ``dim``."""
        return indexing.index_add(self, dim, index, source, alpha=alpha)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """A copy with the slices at ``index`` along ``dim`` replaced by ``source``."""
        return indexing.index_copy(self, dim, index, source)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        """A copy with ``value`` where ``mask`` is True."""
        return indexing.masked_fill(self, mask, value)

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where ``mask`` is True, as a 1-d tensor."""
        return indexing.masked_select(self, mask)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """A copy with the positions where ``mask`` is True filled in order from ``source``."""
        return indexing.masked_scatter(self, mask, source)

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
        """Repeat each element (or slice along ``dim``) ``repeats`` times; see ``autograd.repeat_interleave``."""
        return indexing.repeat_interleave(self, repeats, dim, output_size=output_size)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dimensions, zeros elsewhere."""
        return shape_ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dimensions, zeros elsewhere."""
        return shape_ops.triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-d tensor as a diagonal matrix, or a matrix's diagonal; see ``autograd.diag``."""
        return shape_ops.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal of the matrices in ``dim1`` and ``dim2``, as the last dimension."""
        return shape_ops.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """Matrices whose diagonal is the last dimension; see ``autograd.diag_embed``."""
        return shape_ops.diag_embed(self, offset, dim1, dim2)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Shift elements cyclically along ``dims``."""
        return shape_ops.roll(self, shifts, dims)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows of ``size`` elements every ``step`` along ``dimension``, as a new last dimension."""
        return shape_ops.unfold(self, dimension, size, step)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """Elements ``start`` to ``start + length`` along ``dim``."""
        return shape_ops.narrow(self, dim, start, length)

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Move dimension(s) ``source`` to ``destination``."""
        return shape_ops.movedim(self, source, destination)

    def moveaxis(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """``movedim`` under numpy's name."""
        return shape_ops.movedim(self, source, destination)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, each without that dimension."""
        return shape_ops.unbind(self, dim)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotate by 90 degrees ``k`` times in the plane of ``dims``."""
        return shape_ops.rot90(self, k, dims)

    def outer(self, vec2: Tensor) -> Tensor:
        """Outer product with the 1-d ``vec2``."""
        return linalg.outer(self, vec2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batched matrix product, (b, n, m) @ (b, m, p)."""
        return linalg.bmm(self, mat2)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """``beta * self + alpha * mat1 @ mat2``."""
        return linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """``beta * self + alpha * bmm(batch1, batch2)``."""
        return linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A new tensor (a copy of ``data``) with this tensor's dtype unless ``dtype`` is given."""
        return tensor(data, dtype or self.dtype, requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """Zeros of shape ``size`` with this tensor's dtype unless ``dtype`` is given."""
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """Ones of shape ``size`` with this tensor's dtype unless ``dtype`` is given."""
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size: Sequence[int], fill_value: Any, *, dtype: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """``fill_value`` in shape ``size`` with this tensor's dtype unless ``dtype`` is given."""
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """An uninitialised tensor of shape ``size`` with this tensor's dtype unless ``dtype`` is given."""
        return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def __getitem__(self, key: Any) -> Tensor:
        return indexing.Index.apply(self, indexing.normalize_index(key))

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ----------------------------------------------------------------- printing
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4,
                               floatmode="maxprec_equal", threshold=1000)
        extras = []
        if self.data.dtype not in (DEFAULT_DTYPE, np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + extra for extra in extras) + ")"


_DATA = Tensor.data  # the slot ``ScalarTensor.data`` shadows, written when the array is made
_UNSHARED = (0,)  # the version of a ScalarTensor: it cannot be changed in place before it has its array
_MATERIALISING = threading.Lock()  # taken when a ScalarTensor makes its array (see ScalarTensor.data)


def _new_materialising_lock() -> None:
    global _MATERIALISING
    _MATERIALISING = threading.Lock()  # a forked child (a data-loader worker) must not inherit it held


os.register_at_fork(after_in_child=_new_materialising_lock)
SCALAR_TYPES = (np.float32, np.float64)  # the numbers ScalarTensor holds
SCALAR_DTYPES = {kind: np.dtype(kind) for kind in SCALAR_TYPES}  # numpy's canonical dtype of each


class ScalarTensor(Tensor):
    """A 0-d float Tensor that holds a numpy scalar (``np.float32`` or ``np.float64``) rather than an array.

    What ops on 0-d tensors return (``Function.scalar_forward``): numpy's scalar arithmetic costs 30 ns where a
    ufunc on 0-d arrays costs 270 ns and a new 0-d array 170 ns, which is most of what a graph of scalars (micrograd's
    demo) spends per op. Reading ``data`` makes the array and turns the tensor into a plain ``Tensor`` for good, so
    ``.data`` is an ndarray whenever it is asked for, in-place changes go through that array and its version counter,
    and code that never looks inside the tensor (``Function.apply``'s scalar path, the engine) never makes one.
    """

    __slots__ = ()  # Tensor's layout, so that ``__class__`` can become Tensor

    @property
    def data(self) -> np.ndarray:
        # Once, under a lock: two threads reading at once must get the same array and version counter, or one
        # thread's in-place write (and its version bump, which backward checks) lands in an array the tensor dropped.
        with _MATERIALISING:
            if type(self) is ScalarTensor:  # else another thread made the array while this one waited
                _DATA.__set__(self, np.asarray(self._value))
                self._version = [0]
                self.__class__ = Tensor
        return _DATA.__get__(self)

    @data.setter
    def data(self, array: np.ndarray) -> None:
        with _MATERIALISING:
            _DATA.__set__(self, array)  # first: a thread that sees the class Tensor reads the slot unlocked
            if type(self) is ScalarTensor:
                self._version = [0]
                self.__class__ = Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    @property
    def ndim(self) -> int:
        return 0

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def device(self) -> _device.Device:
        return _device.CPU  # a numpy scalar is host memory; asking must not make the array

    def item(self) -> Any:
        return self._value.item()

    def __deepcopy__(self, memo: dict) -> Tensor:
        self.data  # a plain Tensor from here on, copied as one
        return Tensor.__deepcopy__(self, memo)

    def __reduce_ex__(self, protocol: int) -> tuple:
        self.data
        return Tensor.__reduce_ex__(self, protocol)


def scalar_tensor(value: np.floating) -> ScalarTensor:
    """A ScalarTensor around the numpy scalar ``value`` (internal, as ``wrap``)."""
    tensor = object.__new__(ScalarTensor)
    tensor._value = value
    tensor.grad = None
    tensor.requires_grad = False
    tensor.grad_fn = None
    tensor._output_nr = 0
    tensor._version = _UNSHARED
    tensor._accumulator = None
    tensor._hooks = None
    return tensor


def _rebuild(cls: type, data: np.ndarray, requires_grad: bool, grad: np.ndarray | None) -> Tensor:
    """Recreate a leaf of class ``cls`` (Tensor or a subclass such as nn.Parameter) for copy and pickle."""
    tensor = object.__new__(cls)
    Tensor.__init__(tensor, data)
    tensor.requires_grad = requires_grad
    if grad is not None:
        tensor.grad = wrap(grad)
    return tensor


def zero_grads(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Reset the ``.grad`` of each parameter: to None, or to zeros in place.

    Shared by ``Module.zero_grad`` and ``Optimizer.zero_grad``. Zeroing detaches first: a gradient
    built with ``create_graph=True`` must not carry its graph into the next accumulation.

    Args:
        parameters: tensors whose gradients are reset (those without one are skipped).
        set_to_none: set ``.grad`` to None (frees memory) instead of filling it with zeros.
    """
    for param in parameters:
        if param.grad is None:
            continue
        if set_to_none:
            param.grad = None
        else:
            param.grad.detach_().zero_()


def unwrap(value: Any) -> Any:
    """The array of a Tensor; anything else (a number, an ndarray) as it is. The inverse of ``wrap``."""
    return value.data if isinstance(value, Tensor) else value


def _shape_args(args: tuple) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))`` like PyTorch."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# ----------------------------------------------------------------------------- factories
def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a new leaf tensor from ``data`` (always a copy).

    Args:
        data: numbers, nested lists, a numpy array or a Tensor. Python floats become float32,
            ints int64, bools bool; numpy arrays keep their dtype.
        dtype: numpy dtype to convert to.
        device: where to put it (``"cpu"``, ``"cuda"``...); by default where ``data`` is (the CPU for host data).
        requires_grad: whether to compute gradients for it.

    Returns:
        Tensor of the data's shape.
    """
    array = _to_array(data, dtype)
    array = array.copy() if device is None or _device.is_on(array, device) else _device.to_device(array, device)
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array`` and keeps its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor that shares memory with another library's array through the DLPack protocol (no copy).

    Args:
        ext_tensor: an object with ``__dlpack__`` and ``__dlpack_device__`` in host memory or on an NVIDIA GPU: a
            numpy or CuPy array, a torch tensor (one that requires grad is refused by torch: pass ``t.detach()``),
            a gradlab Tensor. GPU memory is taken through ``cupy.from_dlpack``, so the tensor is on ``"cuda"``.

    Returns:
        a leaf Tensor (``requires_grad=False``) viewing the same memory with the same dtype; a write on either
        side is seen on the other.

    Raises:
        RuntimeError: for GPU memory when CuPy is not installed or sees no such GPU (the device layer's error).
        BufferError: for memory on another kind of device.
    """
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack(): expected an object with __dlpack__ (a numpy array, a torch tensor...), "
                        f"got {type(ext_tensor).__name__}")
    device_type, device_id = ext_tensor.__dlpack_device__()
    if device_type == _DLPACK_CUDA:
        # wrap, not Tensor(): Tensor() converts through np.asarray, which a CuPy array refuses.
        return wrap(_device.module_for(_device.Device("cuda", int(device_id))).from_dlpack(ext_tensor))
    if device_type != _DLPACK_CPU:
        raise BufferError(f"from_dlpack(): gradlab tensors live in host memory or on CUDA GPUs, the "
                          f"{type(ext_tensor).__name__} is on DLPack device ({int(device_type)}, {device_id}); "
                          f"move it to the CPU first")
    return Tensor(np.from_dlpack(ext_tensor))


_DLPACK_CPU, _DLPACK_CUDA = 1, 2  # kDLCPU and kDLCUDA in DLPack's DLDeviceType


def set_default_dtype(d: Any) -> None:
    """Make ``d`` the dtype of Python floats, float factories and integer inputs to float functions.

    Args:
        d: float16, float32 (the initial default) or float64.
    """
    global DEFAULT_DTYPE
    dtype = np.dtype(d)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {dtype}")
    DEFAULT_DTYPE = dtype


def get_default_dtype() -> np.dtype:
    """The current default floating point dtype (float32 unless ``set_default_dtype`` changed it)."""
    return DEFAULT_DTYPE


def _factory_dtype(dtype: Any) -> np.dtype:
    return DEFAULT_DTYPE if dtype is None else np.dtype(dtype)


def _module(device: Any, like: Any = None) -> Any:
    """The array module a factory creates with: ``device``'s, else ``like``'s (a Tensor's), else numpy."""
    return _device.module_for(device) if device is not None else _device.get_array_module(like)


def _placed(array: np.ndarray, device: Any, like: Any = None) -> Any:
    """A host array made by numpy's generator, moved to ``device`` (or ``like``'s): the same values as on the CPU."""
    if device is None and like is not None:
        device = like.device
    return array if device is None else _device.to_device(array, device)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of zeros of shape ``size`` (float32 unless ``dtype`` says otherwise)."""
    return Tensor(_module(device).zeros(_shape_args(size), _factory_dtype(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of ones of shape ``size``."""
    return Tensor(_module(device).ones(_shape_args(size), _factory_dtype(dtype)), requires_grad=requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Tensor of shape ``size`` filled with ``fill_value``."""
    return Tensor(_module(device).full(tuple(size), fill_value, _factory_dtype(dtype)), requires_grad=requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of shape ``size`` with unspecified contents."""
    return Tensor(_module(device).empty(_shape_args(size), _factory_dtype(dtype)), requires_grad=requires_grad)


def zeros_like(other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``other``'s shape and dtype."""
    return Tensor(_module(device, other).zeros(other.shape, dtype or other.dtype), requires_grad=requires_grad)


def ones_like(other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``other``'s shape and dtype."""
    return Tensor(_module(device, other).ones(other.shape, dtype or other.dtype), requires_grad=requires_grad)


def full_like(other: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``other``'s shape and dtype (unless ``dtype`` is given)."""
    return Tensor(_module(device, other).full(other.shape, fill_value, dtype or other.dtype), requires_grad=requires_grad)


def empty_like(other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with ``other``'s shape and dtype (unless ``dtype`` is given)."""
    return Tensor(_module(device, other).empty(other.shape, dtype or other.dtype), requires_grad=requires_grad)


def rand_like(other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """U(0, 1) samples with ``other``'s shape and dtype, from the generator seeded by ``manual_seed``."""
    array = _random.generator().random(other.shape)
    return Tensor(_placed(array.astype(dtype or other.dtype), device, other), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can: a Tensor of that dtype is returned as it is, a numpy
    array of it is wrapped without a copy; anything else is converted as ``tensor`` does."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, Tensor):
        return data.to(dtype)
    return Tensor(data, dtype)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    array = np.arange(start, end, step)
    if dtype is None and array.dtype.kind == "f":
        dtype = DEFAULT_DTYPE
    return Tensor(_placed(array.astype(dtype or np.int64), device), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    For an integer ``dtype`` the values are computed in float64 and truncated toward zero, as in PyTorch
    (numpy's integer linspace rounds down: -6.67 becomes -7 there, -6 here).

    Args:
        start, end: the first and the last value.
        steps: how many values.
        dtype: their dtype (default: the default float dtype).
        device: where the result lives (default: the CPU).
        requires_grad: whether the result is a leaf that requires grad.

    Returns:
        a (steps,) tensor.
    """
    dtype = _factory_dtype(dtype)
    values = np.linspace(start, end, steps, dtype=np.float64 if dtype.kind in "iub" else dtype)
    return Tensor(_placed(values.astype(dtype, copy=False), device), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """2-d identity matrix of shape (n, m or n)."""
    return Tensor(_module(device).eye(n, m, dtype=_factory_dtype(dtype)), requires_grad=requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from U(0, 1) of shape ``size``, from the generator seeded by ``manual_seed``."""
    array = _random.generator().random(_shape_args(size))
    return Tensor(_placed(array.astype(_factory_dtype(dtype)), device), requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from N(0, 1) of shape ``size``, from the generator seeded by ``manual_seed``."""
    array = _random.generator().standard_normal(_shape_args(size))
    return Tensor(_placed(array.astype(_factory_dtype(dtype)), device), requires_grad=requires_grad)


def randn_like(other: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """N(0, 1) samples with ``other``'s shape and dtype."""
    array = _random.generator().standard_normal(other.shape)
    return Tensor(_placed(array.astype(dtype or other.dtype), device, other), requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Iterable[int] = (), dtype: Any = None,
            device: Any = None) -> Tensor:
    """Random integers in ``[low, high)`` of shape ``size`` (``randint(high, size=...)`` also works)."""
    if high is None:
        low, high = 0, low
    return Tensor(_placed(_random.generator().integers(low, high, tuple(size)).astype(dtype or np.int64), device))


# Imported last because the engine and the ops need Tensor defined; methods above look them up at call time.
from . import engine
from . import device as _device
from .ops import activation, elementwise, indexing, linalg, reduction
from .ops import comparison, exponential, logical, rounding, trig
from .ops import shape as shape_ops
from .ops import scan, sorting
