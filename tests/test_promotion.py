"""Type promotion follows PyTorch: checked against torch.result_type over every dtype pair and operand kind."""

import itertools

import numpy as np
import pytest

import autograd
from autograd.ops.promotion import promote_types, result_type

DTYPES = [np.dtype(name) for name in ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                                      "float64", "complex64", "complex128")]
SCALARS = [True, 2, 2.5, 1 + 2j]


@pytest.fixture
def default_float64():
    autograd.set_default_dtype(np.float64)
    yield
    autograd.set_default_dtype(np.float32)


def test_hand_cases():
    int_tensor = autograd.tensor([1, 2, 3])
    assert (int_tensor / 2).dtype == np.float32  # numpy: float64
    assert (int_tensor / int_tensor).dtype == np.float32
    assert (int_tensor ** 0.5).dtype == np.float32
    assert (int_tensor * 2).dtype == np.int64
    assert int_tensor.exp().dtype == autograd.sqrt(int_tensor).dtype == np.float32
    assert autograd.tensor([1, 2], dtype=np.int8).sin().dtype == np.float32  # numpy: float16
    # A 0-d tensor does not promote a dimensioned tensor of its category, but does one of a lower category.
    assert (autograd.ones(3) + autograd.tensor(1.0, dtype=np.float64)).dtype == np.float32
    assert (autograd.ones(3, dtype=np.int32) + autograd.tensor(1.0, dtype=np.float64)).dtype == np.float64
    assert (autograd.ones(3, dtype=np.int64) * autograd.ones(3)).dtype == np.float32  # numpy: float64
    np.testing.assert_allclose((int_tensor / 2).numpy(), [0.5, 1.0, 1.5])
    assert promote_types(np.int16, np.float16) == np.float16  # numpy: float32


def test_default_dtype(default_float64):
    assert autograd.get_default_dtype() == np.float64
    assert autograd.tensor([1.5]).dtype == autograd.zeros(2).dtype == np.float64
    assert (autograd.tensor([1, 2]) / 2).dtype == np.float64
    assert autograd.tensor([1, 2]).exp().dtype == np.float64
    assert (autograd.ones(2, dtype=np.float32) * 2.5).dtype == np.float32  # a Python float stays weak


def test_set_default_dtype_refuses_integers():
    with pytest.raises(TypeError, match="floating-point"):
        autograd.set_default_dtype(np.int64)
    assert autograd.get_default_dtype() == np.float32


def test_tensor_casts():
    x = autograd.tensor([1.7, -2.2])
    assert x.int().dtype == np.int32 and x.int().tolist() == [1, -2]
    assert x.half().dtype == np.float16
    assert x.byte().dtype == np.uint8
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    assert x.type(np.float64).dtype == np.float64
    assert x.type("torch.IntTensor").dtype == np.int32
    leaf = autograd.tensor([1.0, 2.0], requires_grad=True)
    leaf.half().sum().backward()
    assert leaf.grad.dtype == np.float32 and leaf.grad.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.Nope")


def _torch():
    return pytest.importorskip("torch")


def _name(torch_dtype) -> str:
    # numpy has no complex32 (PyTorch's float16 with a complex 0-d tensor): gradlab gives complex64 there.
    return str(torch_dtype).removeprefix("torch.").replace("complex32", "complex64")


def _operand(kind: str, dtype: np.dtype):
    """A gradlab and a torch operand of ``dtype``: a (2,)-tensor or a 0-d tensor."""
    shape = (2,) if kind == "dim" else ()
    array = np.ones(shape, dtype)
    return array, _torch().from_numpy(array.copy())


KINDS = ["dim", "0-d"]


@pytest.mark.parametrize("kinds", list(itertools.product(KINDS, KINDS)), ids=lambda k: "x".join(k))
def test_result_type_matches_torch_on_tensor_pairs(kinds):
    torch = _torch()
    for a_dtype, b_dtype in itertools.product(DTYPES, DTYPES):
        (a, ta), (b, tb) = _operand(kinds[0], a_dtype), _operand(kinds[1], b_dtype)
        expected = _name(torch.result_type(ta, tb))
        assert str(result_type(a, b)) == expected, (kinds, a_dtype, b_dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_result_type_matches_torch_with_python_numbers(kind):
    torch = _torch()
    for dtype, scalar in itertools.product(DTYPES, SCALARS):
        array, tensor = _operand(kind, dtype)
        expected = _name(torch.result_type(tensor, scalar))
        assert str(result_type(array, scalar)) == str(result_type(scalar, array)) == expected, (kind, dtype, scalar)


BINARY = {
    "add": (lambda a, b: a + b), "sub": (lambda a, b: a - b), "mul": (lambda a, b: a * b),
    "div": (lambda a, b: a / b), "maximum": lambda a, b: a.maximum(b),
}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_ops_give_torchs_dtype(op):
    torch = _torch()
    fn = BINARY[op]
    dtypes = [d for d in DTYPES if not (op == "maximum" and d.kind == "c")]
    for (a_kind, b_kind), a_dtype, b_dtype in itertools.product(itertools.product(KINDS, KINDS), dtypes, dtypes):
        if op == "sub" and "b" in (a_dtype.kind, b_dtype.kind) or {a_dtype.kind, b_dtype.kind} == {"f", "c"} and \
                np.float16 in (a_dtype, b_dtype):
            continue  # PyTorch refuses bool subtraction; its complex32 is experimental
        (a, ta), (b, tb) = _operand(a_kind, a_dtype), _operand(b_kind, b_dtype)
        result = fn(autograd.Tensor(a), autograd.Tensor(b))
        expected = fn(ta, tb)
        assert str(result.dtype) == _name(expected.dtype), (op, a_kind, b_kind, a_dtype, b_dtype)
        np.testing.assert_allclose(result.numpy(), expected.numpy())
    if op == "maximum":
        return  # maximum takes tensors only
    for a_kind, dtype, scalar in itertools.product(KINDS, dtypes, SCALARS[:3]):
        if op == "sub" and (dtype.kind == "b" or scalar is True):
            continue
        a, ta = _operand(a_kind, dtype)
        for result, expected in ((fn(autograd.Tensor(a), scalar), fn(ta, scalar)),
                                 (fn(scalar, autograd.Tensor(a)), fn(scalar, ta))):
            assert str(result.dtype) == _name(expected.dtype), (op, a_kind, dtype, scalar)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "log1p"])
def test_float_functions_of_integers_match_torch(name):
    torch = _torch()
    for dtype in DTYPES[:6]:
        array = np.arange(1, 4).astype(dtype)
        result = getattr(autograd.Tensor(array), name)()
        expected = getattr(torch.from_numpy(array.copy()), name)()
        assert str(result.dtype) == _name(expected.dtype), (name, dtype)
        np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-6)


def test_float_gradients_keep_input_dtypes_across_promotion():
    a = autograd.ones(3, requires_grad=True)
    b = autograd.tensor(2.0, dtype=np.float64, requires_grad=True)
    out = a * b
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert a.grad.tolist() == [2.0, 2.0, 2.0] and b.grad.item() == 3.0
