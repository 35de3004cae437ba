"""Values, edge cases, nan rules and errors of the math ops and activations of PyTorch's set (numpy and hand-computed
references; gradients are checked by the opinfo registry, autograd/opinfo/math.py)."""

import math
import warnings

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import OpError

X = np.array([-2.5, -1.2, -0.3, 0.0, 0.4, 1.7, 3.1])


def t(values, dtype=np.float64, requires_grad=False):
    return autograd.tensor(values, dtype=dtype, requires_grad=requires_grad)


@pytest.mark.parametrize("name, reference, values", [
    ("tan", np.tan, X), ("asin", np.arcsin, X / 4), ("acos", np.arccos, X / 4), ("atan", np.arctan, X),
    ("sinh", np.sinh, X), ("cosh", np.cosh, X), ("asinh", np.arcsinh, X), ("acosh", np.arccosh, 1 + np.abs(X)),
    ("atanh", np.arctanh, X / 4), ("exp2", np.exp2, X), ("expm1", np.expm1, X), ("log2", np.log2, np.abs(X) + 0.1),
    ("log10", np.log10, np.abs(X) + 0.1), ("rsqrt", lambda v: 1 / np.sqrt(v), np.abs(X) + 0.1),
    ("erf", np.vectorize(math.erf), X), ("erfc", np.vectorize(math.erfc), X), ("sign", np.sign, X),
    ("trunc", np.trunc, X), ("floor", np.floor, X), ("ceil", np.ceil, X), ("round", np.round, X),
    ("frac", lambda v: v - np.trunc(v), X),
])
def test_unary_values_match_numpy(name, reference, values):
    for result in (getattr(autograd, name)(t(values)), getattr(t(values), name)()):
        np.testing.assert_allclose(result.numpy(), reference(values), rtol=1e-13, atol=1e-15)
        assert result.dtype == np.float64


def test_erf_keeps_relative_accuracy_near_zero_and_in_float32():
    tiny = t([1e-10, -3e-8])
    np.testing.assert_allclose(autograd.erf(tiny).numpy(), [math.erf(1e-10), math.erf(-3e-8)], rtol=1e-15)
    assert autograd.erf(autograd.tensor([0.5])).dtype == np.float32
    assert autograd.erf(t(0.3)).shape == ()


def test_domains_give_nan_and_inf_like_pytorch():
    with np.errstate(all="ignore"):
        assert np.isnan(autograd.asin(t([1.5])).item()) and np.isnan(autograd.acosh(t([0.5])).item())
        assert autograd.atanh(t([1.0])).item() == math.inf and autograd.log2(t([0.0])).item() == -math.inf
        assert autograd.rsqrt(t([0.0])).item() == math.inf


def test_round_halves_to_even_and_decimals():
    assert autograd.round(t([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]
    np.testing.assert_allclose(t([1.2345, 12345.678]).round(decimals=2).numpy(), [1.23, 12345.68])
    assert t([12345.678]).round(decimals=-2).tolist() == [12300.0]
    with pytest.raises(OpError, match="decimals must be an int"):
        autograd.round(t([1.0]), decimals=1.5)


def test_rounding_ops_keep_integer_tensors_and_have_zero_gradients():
    ints = autograd.tensor([3, -4])
    for name in ("floor", "ceil", "trunc", "round", "sign"):
        result = getattr(ints, name)()
        assert result.dtype == np.int64 and result.tolist() == ([1, -1] if name == "sign" else [3, -4])
    x = t([1.3, -2.7], requires_grad=True)
    for name in ("floor", "ceil", "trunc", "round", "sign"):
        out = getattr(x, name)()
        assert out.grad_fn is not None  # recorded, as in PyTorch, so the graph reaches x
        assert autograd.grad(out.sum(), x)[0].tolist() == [0.0, 0.0]
    assert autograd.grad(x.frac().sum(), x)[0].tolist() == [1.0, 1.0]
    with pytest.raises(OpError, match="frac: expected a floating point input"):
        ints.frac()


def test_sign_of_nan_is_zero():
    assert autograd.sign(t([np.nan, -3.0, 0.0, 2.0])).tolist() == [0.0, -1.0, 0.0, 1.0]
    assert autograd.sign(autograd.tensor([True, False])).tolist() == [True, False]


def test_fmod_remainder_and_operators_follow_the_sign_rules():
    a, b = t([-7.0, 7.0, -7.0, 7.0]), t([3.0, 3.0, -3.0, -3.0])
    assert autograd.fmod(a, b).tolist() == [-1.0, 1.0, -1.0, 1.0]  # sign of the dividend
    assert autograd.remainder(a, b).tolist() == (a % b).tolist() == [2.0, 1.0, -1.0, -2.0]  # sign of the divisor
    assert (a // b).tolist() == [-3.0, 2.0, 2.0, -3.0]
    assert a.div(b, rounding_mode="trunc").tolist() == [-2.0, 2.0, 2.0, -2.0]
    ints = autograd.tensor([-7, 7, -7, 7])
    int_b = autograd.tensor([3, 3, -3, -3])
    assert (ints // int_b).tolist() == [-3, 2, 2, -3] and (ints % int_b).tolist() == [2, 1, -1, -2]
    assert autograd.div(ints, int_b, rounding_mode="trunc").tolist() == [-2, 2, 2, -2]
    assert autograd.div(ints, int_b, rounding_mode="trunc").dtype == np.int64
    assert (7 // autograd.tensor([2, -2])).tolist() == [3, -4] and (7 % autograd.tensor([2, -2])).tolist() == [1, -1]
    assert (7.5 % t([2.0])).tolist() == [1.5]


def test_modulo_gradients_by_hand():
    a, b = t([-7.5, 7.25], requires_grad=True), t([2.0, -2.0], requires_grad=True)
    da, db = autograd.grad(autograd.fmod(a, b).sum(), (a, b))
    assert da.tolist() == [1.0, 1.0] and db.tolist() == [3.0, 3.0]  # -trunc(a / b)
    da, db = autograd.grad(autograd.remainder(a, b).sum(), (a, b))
    assert da.tolist() == [1.0, 1.0] and db.tolist() == [4.0, 4.0]  # -floor(a / b)


def test_integer_division_by_zero_raises_and_float_division_gives_inf():
    for op in (lambda a, b: a // b, lambda a, b: a % b, autograd.fmod,
               lambda a, b: autograd.div(a, b, rounding_mode="trunc")):
        with pytest.raises(OpError, match="ZeroDivisionError"):
            op(autograd.tensor([1, 2]), autograd.tensor([1, 0]))
    with np.errstate(divide="ignore"):
        assert (autograd.tensor([1, -1]) / 0).tolist() == [math.inf, -math.inf]
        assert (t([1.0]) // t([0.0])).tolist() == [math.inf]


def test_div_rejects_an_unknown_rounding_mode():
    with pytest.raises(ValueError, match="rounding_mode to be one of None, 'trunc', or 'floor'"):
        autograd.div(t([1.0]), 2.0, rounding_mode="round")


def test_copysign_logaddexp_atan2_lerp_by_hand():
    assert autograd.copysign(t([1.0, -2.0, 3.0]), t([-0.0, 1.0, -1.0])).tolist() == [-1.0, 2.0, -3.0]
    assert autograd.copysign(autograd.tensor([1, 2]), -1).dtype == np.float32
    x = t([0.0, 2.0, -3.0], requires_grad=True)
    assert autograd.grad(autograd.copysign(x, -1.0).sum(), x)[0].tolist() == [0.0, -1.0, 1.0]  # 0 at x = 0
    # log(e**1000 + e**1000) without overflow, and log(e**-1000 + e**-1000) without underflow.
    np.testing.assert_allclose(autograd.logaddexp(t([1000.0, -1000.0]), t([1000.0, -1000.0])).numpy(),
                               [1000 + math.log(2), -1000 + math.log(2)])
    np.testing.assert_allclose(autograd.atan2(t([1.0, 1.0, -1.0]), t([1.0, -1.0, -1.0])).numpy(),
                               [math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4])
    start, end = t([0.0, 10.0]), t([10.0, 20.0])
    assert autograd.lerp(start, end, 0.3).tolist() == pytest.approx([3.0, 13.0])
    assert start.lerp(end, t([0.0, 1.0])).tolist() == [0.0, 20.0]


def test_clamp_bounds_and_nan_to_num():
    x = t([-2.0, 0.5, 3.0])
    assert autograd.clamp_min(x, 0.0).tolist() == [0.0, 0.5, 3.0] and x.clamp_max(1.0).tolist() == [-2.0, 0.5, 1.0]
    values = t([np.nan, np.inf, -np.inf, 1.5], requires_grad=True)
    big = np.finfo(np.float64).max
    assert autograd.nan_to_num(values).tolist() == [0.0, big, -big, 1.5]
    assert values.nan_to_num(nan=1.0, posinf=2.0, neginf=-2.0).tolist() == [1.0, 2.0, -2.0, 1.5]
    assert autograd.grad(autograd.nan_to_num(values).sum(), values)[0].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert autograd.nan_to_num(autograd.tensor([1.5], dtype=np.float16)).dtype == np.float16


def test_value_tests_logical_and_bitwise_ops():
    x = t([np.nan, np.inf, -np.inf, 1.0])
    assert x.isnan().tolist() == [True, False, False, False] and x.isinf().tolist() == [False, True, True, False]
    assert autograd.isfinite(x).tolist() == [False, False, False, True]
    assert autograd.isposinf(x).tolist() == [False, True, False, False]
    assert autograd.isneginf(x).tolist() == [False, False, True, False]
    assert x.isnan().grad_fn is None
    a, b = t([0.0, 2.0, -1.0]), autograd.tensor([3, 0, 1])
    assert autograd.logical_and(a, b).tolist() == [False, False, True]
    assert autograd.logical_or(a, b).tolist() == [True, True, True]
    assert autograd.logical_xor(a, b).tolist() == [True, True, False]
    assert autograd.logical_not(a).tolist() == [True, False, False]
    ints = autograd.tensor([12, 10], dtype=np.int32)
    assert (ints & 6).tolist() == [4, 2] and (6 | ints).tolist() == [14, 14] and (ints ^ 6).tolist() == [10, 12]
    assert (~ints).tolist() == [-13, -11] and (ints << 2).tolist() == [48, 40] and (ints >> 2).tolist() == [3, 2]
    assert (1 << autograd.tensor([2, 3])).tolist() == [4, 8] and (64 >> autograd.tensor([2])).tolist() == [16]
    assert (ints & autograd.tensor(7)).dtype == np.int32  # a 0-d int64 does not promote an int32 tensor
    assert (~autograd.tensor([True, False])).tolist() == [False, True]
    assert (autograd.tensor([True, False]) & autograd.tensor([True, True])).dtype == np.bool_
    with pytest.raises(OpError, match="bitwise_and: expected integer or bool inputs, got dtype float64"):
        t([1.0]) & t([1.0])
    with pytest.raises(OpError, match="bitwise_not"):
        ~t([1.0])
    assert (autograd.tensor([True]) << 1).tolist() == [2]  # bool and int promote to int64, as in PyTorch
    with pytest.raises(OpError, match="bitwise_left_shift: expected integer inputs, got dtype bool"):
        autograd.tensor([True]) << autograd.tensor([True])
    with pytest.raises(OpError, match="cannot be broadcast"):
        autograd.logical_and(a, autograd.tensor([1, 0]))


def test_maximum_minimum_propagate_nan_and_fmax_fmin_ignore_it():
    a = t([1.0, np.nan, 2.0, 3.0, np.nan], requires_grad=True)
    b = t([1.0, 1.0, np.nan, 4.0, np.nan], requires_grad=True)
    assert np.array_equal(autograd.maximum(a, b).detach().numpy(), [1.0, np.nan, np.nan, 4.0, np.nan], equal_nan=True)
    assert np.array_equal(autograd.fmax(a, b).detach().numpy(), [1.0, 1.0, 2.0, 4.0, np.nan], equal_nan=True)
    assert np.array_equal(autograd.fmin(a, b).detach().numpy(), [1.0, 1.0, 2.0, 3.0, np.nan], equal_nan=True)
    # PyTorch's gradients: maximum splits ties and gives both sides the gradient where one is nan; fmax gives ties
    # and nan in other to input.
    da, db = autograd.grad(autograd.maximum(a, b).sum(), (a, b))
    assert da.tolist() == [0.5, 1.0, 1.0, 0.0, 1.0] and db.tolist() == [0.5, 1.0, 1.0, 1.0, 1.0]
    da, db = autograd.grad(autograd.fmax(a, b).sum(), (a, b))
    assert da.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0] and db.tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    da, db = autograd.grad(a.fmin(b).sum(), (a, b))
    assert da.tolist() == [1.0, 0.0, 1.0, 1.0, 1.0] and db.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]


def test_isclose_allclose_equal():
    a = t([1.0, np.nan, np.inf, 1.0])
    b = t([1.0 + 1e-9, np.nan, np.inf, 1.1])
    assert autograd.isclose(a, b).tolist() == [True, False, True, False]
    assert a.isclose(b, equal_nan=True).tolist() == [True, True, True, False]
    assert autograd.isclose(a, b, rtol=0.2, equal_nan=True).all().item()
    assert autograd.allclose(t([1.0, 2.0]), t([1.0, 2.0 + 1e-7])) is True
    assert t([1.0]).allclose(t([1.01])) is False
    assert autograd.equal(t([1.0, 2.0]), t([1.0, 2.0])) and not autograd.equal(t([1.0]), t([1.0, 1.0]))
    assert autograd.equal(autograd.tensor([1, 2]), t([1.0, 2.0]))  # values compared after promotion
    assert not autograd.equal(t([np.nan]), t([np.nan]))
    with pytest.raises(OpError, match="same dtype"):
        autograd.isclose(autograd.ones(2), t([1.0, 1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        autograd.isclose(a, b, rtol=-1.0)


# ----------------------------------------------------------------------------- activations
def test_activation_values_by_hand():
    x = t([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 7.0])
    assert F.relu6(x).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 6.0]
    np.testing.assert_allclose(F.hardsigmoid(x).numpy(), [0.0, 0.0, 1 / 3, 0.5, 2 / 3, 1.0, 1.0])
    np.testing.assert_allclose(F.hardswish(x).numpy(), [0.0, 0.0, -1 / 3, 0.0, 2 / 3, 3.0, 7.0])
    np.testing.assert_allclose(F.softsign(x).numpy(), x.numpy() / (1 + np.abs(x.numpy())))
    softplus = np.log1p(np.exp(x.numpy()))
    np.testing.assert_allclose(F.mish(x).numpy(), x.numpy() * np.tanh(softplus))
    np.testing.assert_allclose(F.logsigmoid(x).numpy(), -np.log1p(np.exp(-x.numpy())))
    np.testing.assert_allclose(F.celu(x, alpha=2.0).numpy(), np.where(x.numpy() > 0, x.numpy(),
                                                                       2 * np.expm1(x.numpy() / 2)))
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    np.testing.assert_allclose(F.selu(x).numpy(), scale * np.where(x.numpy() > 0, x.numpy(), alpha * np.expm1(x.numpy())))
    assert F.threshold(x, 0.5, -9.0).tolist() == [-9.0, -9.0, -9.0, -9.0, 1.0, 3.0, 7.0]


def test_hardsigmoid_gradient_is_open_at_the_kinks_like_pytorch():
    x = t([-3.0, 0.0, 3.0], requires_grad=True)
    assert autograd.grad(F.hardsigmoid(x).sum(), x)[0].tolist() == [0.0, 1 / 6, 0.0]
    # hardswish's: x / 3 + 1/2 on the closed interval.
    assert autograd.grad(F.hardswish(x).sum(), x)[0].tolist() == pytest.approx([-0.5, 0.5, 1.5])


def test_softplus_beta_threshold_and_large_inputs():
    x = t([-800.0, -1.0, 0.0, 5.0, 800.0])
    np.testing.assert_allclose(F.softplus(x).numpy(), [0.0, math.log1p(math.e ** -1), math.log(2),
                                                       math.log1p(math.e ** 5), 800.0])
    y = t([0.5, 3.0])  # beta * x = 1 (smooth) and 6 (> threshold 5: linear)
    np.testing.assert_allclose(F.softplus(y, beta=2.0, threshold=5.0).numpy(), [math.log1p(math.e) / 2, 3.0])


def test_prelu_glu_softmin():
    x = t(np.arange(-6.0, 6.0).reshape(2, 3, 2))
    weight = t([0.1, 0.2, 0.3])
    expected = np.where(x.numpy() > 0, x.numpy(), x.numpy() * np.array([0.1, 0.2, 0.3])[:, None])
    np.testing.assert_allclose(F.prelu(x, weight).numpy(), expected)
    np.testing.assert_allclose(F.prelu(t([-2.0, 2.0]), t([0.5])).numpy(), [-1.0, 2.0])
    with pytest.raises(OpError, match="prelu: weight of shape \\(2,\\)"):
        F.prelu(x, t([0.1, 0.2]))
    g = t(np.arange(8.0).reshape(2, 4))
    a, b = g.numpy()[:, :2], g.numpy()[:, 2:]
    np.testing.assert_allclose(F.glu(g).numpy(), a / (1 + np.exp(-b)))
    with pytest.raises(OpError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(t(np.ones((2, 3))))
    s = t([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(F.softmin(s, dim=1).numpy(), F.softmax(-s, dim=1).numpy())


def test_normalize_by_hand_and_at_zero_vectors():
    x = t([[3.0, 4.0], [0.0, 0.0]], requires_grad=True)
    out = F.normalize(x)
    assert out.tolist() == [[0.6, 0.8], [0.0, 0.0]]
    assert np.isfinite(autograd.grad(out.sum(), x)[0].numpy()).all()  # no 0/0 at the zero vector
    np.testing.assert_allclose(F.normalize(t([[3.0, -1.0]]), p=1).numpy(), [[0.75, -0.25]])
    np.testing.assert_allclose(F.normalize(t([[3.0], [-6.0]]), p=float("inf"), dim=0).numpy(), [[0.5], [-1.0]])
    with pytest.raises(ValueError, match="p must be positive"):
        F.normalize(x, p=0)
    with pytest.raises(OpError, match="normalize: expected a floating point input"):
        F.normalize(autograd.tensor([[1, 2]]))


@pytest.mark.parametrize("ndim, expected_dim", [(1, 0), (2, 1), (3, 0), (4, 1)])
def test_softmax_without_dim_warns_and_chooses_like_pytorch(ndim, expected_dim):
    x = autograd.randn(*([2] * ndim))
    for function in (F.softmax, F.log_softmax, F.softmin):
        with pytest.warns(UserWarning, match="Implicit dimension choice for"):
            result = function(x)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.allclose(result.numpy(), function(x, dim=expected_dim).numpy())


def test_softmax_dtype_argument_casts_first():
    assert F.softmax(autograd.ones(2, 3), dim=1, dtype=np.float64).dtype == np.float64


def test_activation_modules_match_their_functions():
    x = autograd.randn(2, 4, 3)
    pairs = [
        (nn.ReLU6(), F.relu6(x)), (nn.Hardtanh(-0.5, 0.5), F.hardtanh(x, -0.5, 0.5)), (nn.Hardswish(), F.hardswish(x)),
        (nn.Hardsigmoid(), F.hardsigmoid(x)), (nn.Mish(), F.mish(x)), (nn.CELU(0.5), F.celu(x, 0.5)),
        (nn.SELU(), F.selu(x)), (nn.Softsign(), F.softsign(x)), (nn.LogSigmoid(), F.logsigmoid(x)),
        (nn.Softplus(2.0, 1.0), F.softplus(x, 2.0, 1.0)), (nn.Softmin(dim=1), F.softmin(x, dim=1)),
        (nn.GLU(dim=1), F.glu(x, dim=1)), (nn.Threshold(0.1, 20.0), F.threshold(x, 0.1, 20.0)),
    ]
    for module, expected in pairs:
        np.testing.assert_array_equal(module(x).numpy(), expected.numpy())
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Hardtanh(inplace=True)) == "Hardtanh(min_val=-1.0, max_val=1.0, inplace=True)"
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(1.0, -1.0)


def test_prelu_module_learns_its_slopes():
    layer = nn.PReLU(3, init=0.1)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.tolist() == pytest.approx([0.1, 0.1, 0.1]) and layer.weight.dtype == np.float32
    x = autograd.tensor([[[-1.0, 2.0]] * 3])  # (1, 3, 2)
    layer(x).sum().backward()
    assert layer.weight.grad.tolist() == [-1.0, -1.0, -1.0]  # d(w * x)/dw at the negative inputs
    assert repr(layer) == "PReLU(num_parameters=3)"


def test_celu_refuses_alpha_zero():
    with pytest.raises(ValueError, match="alpha must not be 0"):
        F.celu(t([1.0]), alpha=0.0)


def test_tensor_methods_are_the_functions():
    x = t([0.3, -0.6])
    for name in ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "atanh", "exp2", "expm1", "erf", "erfc",
                 "sign", "trunc", "floor", "ceil", "frac"):
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(autograd, name)(x).numpy())
    y = t([0.7, 2.0])
    for name in ("atan2", "logaddexp", "copysign", "fmod", "remainder", "floor_divide", "fmax", "fmin"):
        np.testing.assert_array_equal(getattr(x, name)(y).numpy(), getattr(autograd, name)(x, y).numpy())
