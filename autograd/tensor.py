"""``Tensor``: a numpy array that remembers how it was computed, and the factories that make one."""

from __future__ import annotations

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
    else:
        array = np.asarray(data)
        if array.dtype.kind == "f":
            array = array.astype(DEFAULT_DTYPE, copy=False)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64, copy=False)
        elif array.dtype.kind not in "bc":
            raise TypeError(f"tensor(): cannot make a tensor from {type(data).__name__} (numpy dtype {array.dtype})")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


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

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_output_nr", "_version", "_accumulator", "_hooks",
                 "__weakref__")

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
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

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

    def to(self, dtype: Any) -> Tensor:
        """Differentiable cast to ``dtype`` (returns ``self`` when it already has it)."""
        dtype = np.dtype(dtype)
        return self if self.data.dtype == dtype else shape_ops.Cast.apply(self, dtype)

    def float(self) -> Tensor:
        """Cast to float32."""
        return self.to(float32)

    def double(self) -> Tensor:
        """Cast to float64."""
        return self.to(float64)

    def long(self) -> Tensor:
        """Cast to int64 (no gradient)."""
        return wrap(self.data.astype(np.int64))

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
                tensor.grad = grad if tensor.grad is None else tensor.grad + grad

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
        self.data[indexing.normalize_index(key)] = value.data if isinstance(value, Tensor) else value
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
        return wrap(np.asarray(self.data == unwrap(other)))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return wrap(np.asarray(self.data != unwrap(other)))

    def __lt__(self, other: Any) -> Tensor:
        return wrap(np.asarray(self.data < unwrap(other)))

    def __le__(self, other: Any) -> Tensor:
        return wrap(np.asarray(self.data <= unwrap(other)))

    def __gt__(self, other: Any) -> Tensor:
        return wrap(np.asarray(self.data > unwrap(other)))

    def __ge__(self, other: Any) -> Tensor:
        return wrap(np.asarray(self.data >= unwrap(other)))

    def __invert__(self) -> Tensor:
        return wrap(~self.data)

    def __and__(self, other: Any) -> Tensor:
        return wrap(self.data & unwrap(other))

    def __or__(self, other: Any) -> Tensor:
        return wrap(self.data | unwrap(other))

    def eq(self, other: Any) -> Tensor:
        """Elementwise ``==`` as a bool tensor."""
        return self == other

    def all(self) -> Tensor:
        """True when every element is non-zero."""
        return wrap(np.asarray(self.data.all()))

    def any(self) -> Tensor:
        """True when some element is non-zero."""
        return wrap(np.asarray(self.data.any()))

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

    def div(self, other: Any) -> Tensor:
        """``self / other``."""
        return elementwise.Div.apply(self, other)

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

    def softmax(self, dim: int) -> Tensor:
        """Softmax along ``dim``."""
        return activation.Softmax.apply(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        """Log of the softmax along ``dim``, computed stably."""
        return activation.LogSoftmax.apply(self, dim)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Sum over ``dim`` (all dimensions when None)."""
        return reduction.Sum.apply(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Mean over ``dim`` (all dimensions when None)."""
        return reduction.mean(self, dim, keepdim)

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

    def squeeze(self, dim: int | None = None) -> Tensor:
        """Remove dimensions of size 1 (only ``dim`` when given)."""
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
        return indexing.Gather.apply(self, dim, unwrap(index))

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
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a new leaf tensor from ``data`` (always a copy).

    Args:
        data: numbers, nested lists, a numpy array or a Tensor. Python floats become float32,
            ints int64, bools bool; numpy arrays keep their dtype.
        dtype: numpy dtype to convert to.
        requires_grad: whether to compute gradients for it.

    Returns:
        Tensor of the data's shape.
    """
    array = np.array(_to_array(data, dtype), copy=True)
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array`` and keeps its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _factory_dtype(dtype: Any) -> np.dtype:
    return DEFAULT_DTYPE if dtype is None else np.dtype(dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of zeros of shape ``size`` (float32 unless ``dtype`` says otherwise)."""
    return Tensor(np.zeros(_shape_args(size), _factory_dtype(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of ones of shape ``size``."""
    return Tensor(np.ones(_shape_args(size), _factory_dtype(dtype)), requires_grad=requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of shape ``size`` filled with ``fill_value``."""
    return Tensor(np.full(tuple(size), fill_value, _factory_dtype(dtype)), requires_grad=requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Tensor of shape ``size`` with unspecified contents."""
    return Tensor(np.empty(_shape_args(size), _factory_dtype(dtype)), requires_grad=requires_grad)


def zeros_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``other``'s shape and dtype."""
    return Tensor(np.zeros(other.shape, dtype or other.dtype), requires_grad=requires_grad)


def ones_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``other``'s shape and dtype."""
    return Tensor(np.ones(other.shape, dtype or other.dtype), requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 for integer arguments."""
    if end is None:
        start, end = 0, start
    array = np.arange(start, end, step)
    if dtype is None and array.dtype.kind == "f":
        dtype = DEFAULT_DTYPE
    return Tensor(array.astype(dtype or np.int64), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return Tensor(np.linspace(start, end, steps, dtype=_factory_dtype(dtype)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """2-d identity matrix of shape (n, m or n)."""
    return Tensor(np.eye(n, m, dtype=_factory_dtype(dtype)), requires_grad=requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from U(0, 1) of shape ``size``, from the generator seeded by ``manual_seed``."""
    array = _random.generator().random(_shape_args(size))
    return Tensor(array.astype(_factory_dtype(dtype)), requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from N(0, 1) of shape ``size``, from the generator seeded by ``manual_seed``."""
    array = _random.generator().standard_normal(_shape_args(size))
    return Tensor(array.astype(_factory_dtype(dtype)), requires_grad=requires_grad)


def randn_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """N(0, 1) samples with ``other``'s shape and dtype."""
    array = _random.generator().standard_normal(other.shape)
    return Tensor(array.astype(dtype or other.dtype), requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size: Iterable[int] = (), dtype: Any = None) -> Tensor:
    """Random integers in ``[low, high)`` of shape ``size`` (``randint(high, size=...)`` also works)."""
    if high is None:
        low, high = 0, low
    return Tensor(_random.generator().integers(low, high, tuple(size)).astype(dtype or np.int64))


# Imported last because the engine and the ops need Tensor defined; methods above look them up at call time.
from . import engine
from .ops import activation, elementwise, indexing, linalg, reduction
from .ops import shape as shape_ops
