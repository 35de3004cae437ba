"""The math ops and activations of PyTorch's set against PyTorch itself: values and gradients over a grid of shapes
and dtypes, integer inputs (result dtypes), and the nan rules. Skipped without torch."""

import itertools

import numpy as np
import pytest

import autograd
import nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SHAPES = [(), (5,), (2, 3, 4)]
DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

# name: (gradlab function, torch function, sampling interval)
UNARY = {
    "tan": (autograd.tan, torch.tan, (-1.2, 1.2)), "asin": (autograd.asin, torch.asin, (-0.95, 0.95)),
    "acos": (autograd.acos, torch.acos, (-0.95, 0.95)), "atan": (autograd.atan, torch.atan, (-3, 3)),
    "sinh": (autograd.sinh, torch.sinh, (-3, 3)), "cosh": (autograd.cosh, torch.cosh, (-3, 3)),
    "asinh": (autograd.asinh, torch.asinh, (-3, 3)), "acosh": (autograd.acosh, torch.acosh, (1.05, 4)),
    "atanh": (autograd.atanh, torch.atanh, (-0.95, 0.95)), "exp2": (autograd.exp2, torch.exp2, (-3, 3)),
    "expm1": (autograd.expm1, torch.expm1, (-3, 3)), "log2": (autograd.log2, torch.log2, (0.1, 4)),
    "log10": (autograd.log10, torch.log10, (0.1, 4)), "rsqrt": (autograd.rsqrt, torch.rsqrt, (0.1, 4)),
    "erf": (autograd.erf, torch.erf, (-4, 4)), "erfc": (autograd.erfc, torch.erfc, (-4, 4)),
    "sign": (autograd.sign, torch.sign, (-3, 3)), "trunc": (autograd.trunc, torch.trunc, (-3, 3)),
    "floor": (autograd.floor, torch.floor, (-3, 3)), "ceil": (autograd.ceil, torch.ceil, (-3, 3)),
    "round": (autograd.round, torch.round, (-3, 3)), "frac": (autograd.frac, torch.frac, (-3, 3)),
    "round decimals=1": (lambda x: autograd.round(x, decimals=1), lambda x: torch.round(x, decimals=1), (-3, 3)),
    "nan_to_num": (autograd.nan_to_num, torch.nan_to_num, (-3, 3)),
    "clamp_min": (lambda x: autograd.clamp_min(x, 0.2), lambda x: torch.clamp_min(x, 0.2), (-3, 3)),
    "clamp_max": (lambda x: autograd.clamp_max(x, 0.2), lambda x: torch.clamp_max(x, 0.2), (-3, 3)),
    "relu6": (F.relu6, TF.relu6, (-2, 8)), "hardtanh": (F.hardtanh, TF.hardtanh, (-2, 2)),
    "hardswish": (F.hardswish, TF.hardswish, (-5, 5)), "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, (-5, 5)),
    "mish": (F.mish, TF.mish, (-5, 5)), "celu": (lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7), (-3, 3)),
    "selu": (F.selu, TF.selu, (-3, 3)), "softsign": (F.softsign, TF.softsign, (-3, 3)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, (-30, 30)), "softplus": (F.softplus, TF.softplus, (-30, 30)),
    "softplus beta=2 threshold=3": (lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0), (-4, 4)),
    "threshold": (lambda x: F.threshold(x, 0.3, -1.5), lambda x: TF.threshold(x, 0.3, -1.5), (-2, 2)),
}

# name: (gradlab, torch, interval of the first input, interval of the second)
BINARY = {
    "atan2": (autograd.atan2, torch.atan2, (-2, 2), (-2, 2)),
    "logaddexp": (autograd.logaddexp, torch.logaddexp, (-40, 40), (-40, 40)),
    "copysign": (autograd.copysign, torch.copysign, (-2, 2), (-2, 2)),
    "fmod": (autograd.fmod, torch.fmod, (-5, 5), (0.5, 2)),
    "remainder": (autograd.remainder, torch.remainder, (-5, 5), (-2, -0.5)),
    "div trunc": (lambda a, b: autograd.div(a, b, rounding_mode="trunc"),
                  lambda a, b: torch.div(a, b, rounding_mode="trunc"), (-5, 5), (0.5, 2)),
    "div floor": (lambda a, b: a.div(b, rounding_mode="floor"), lambda a, b: a.div(b, rounding_mode="floor"),
                  (-5, 5), (-2, -0.5)),
    "fmax": (autograd.fmax, torch.fmax, (-2, 2), (-2, 2)), "fmin": (autograd.fmin, torch.fmin, (-2, 2), (-2, 2)),
    "maximum": (autograd.maximum, torch.maximum, (-2, 2), (-2, 2)),
    "lerp": (lambda a, b: autograd.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3), (-2, 2), (-2, 2)),
}
PAIRS = [((5,), (5,)), ((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2,))]


def _pair(values: np.ndarray, requires_grad: bool = True):
    ours = autograd.Tensor(values.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(values.copy(), requires_grad=requires_grad)
    return ours, theirs


# PyTorch's float64 kernels of these round a constant to float32 (hardsigmoid's 1.0f / 6.0f, celu's 1 / alpha): they
# agree with gradlab's exact constants to float32 precision only.
FLOAT32_CONSTANTS = {"hardsigmoid", "celu"}


def _compare(ours_out, theirs_out, ours_in, theirs_in, dtype, rng, loose=False):
    tolerance = TOLERANCE[np.float32 if loose else dtype]
    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy(), **tolerance)
    assert str(ours_out.dtype) == str(theirs_out.dtype).removeprefix("torch.")
    weights = rng.uniform(0.5, 1.5, theirs_out.shape).astype(dtype)
    ours_grads = autograd.grad((ours_out * autograd.Tensor(weights)).sum(), ours_in, allow_unused=True)
    theirs_grads = torch.autograd.grad((theirs_out * torch.from_numpy(weights)).sum(), theirs_in, allow_unused=True)
    for ours_grad, theirs_grad in zip(ours_grads, theirs_grads):
        expected = np.zeros(1) if theirs_grad is None else theirs_grad.numpy()
        actual = np.zeros(1) if ours_grad is None else ours_grad.numpy()
        np.testing.assert_allclose(actual, expected, **tolerance)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_match_torch(name):
    ours_fn, theirs_fn, (low, high) = UNARY[name]
    rng = np.random.default_rng(0)
    for shape, dtype in itertools.product(SHAPES, DTYPES):
        ours, theirs = _pair(rng.uniform(low, high, shape).astype(dtype))
        _compare(ours_fn(ours), theirs_fn(theirs), [ours], [theirs], dtype, rng, loose=name in FLOAT32_CONSTANTS)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_gradients_match_torch(name):
    ours_fn, theirs_fn, first, second = BINARY[name]
    rng = np.random.default_rng(1)
    for (shape_a, shape_b), dtype in itertools.product(PAIRS, DTYPES):
        ours_a, theirs_a = _pair(rng.uniform(*first, shape_a).astype(dtype))
        ours_b, theirs_b = _pair(rng.uniform(*second, shape_b).astype(dtype))
        _compare(ours_fn(ours_a, ours_b), theirs_fn(theirs_a, theirs_b), [ours_a, ours_b], [theirs_a, theirs_b],
                 dtype, rng)


# name: (gradlab, torch, inputs as (shape, interval)...)
SHAPED = {
    "softmin dim=1": (lambda x: F.softmin(x, dim=1), lambda x: TF.softmin(x, dim=1), [((3, 4, 2), (-3, 3))]),
    "glu dim=1": (lambda x: F.glu(x, 1), lambda x: TF.glu(x, 1), [((2, 4, 3), (-3, 3))]),
    "glu": (F.glu, TF.glu, [((3, 6), (-3, 3))]),
    "prelu per channel": (F.prelu, TF.prelu, [((2, 3, 4), (-2, 2)), ((3,), (0.1, 0.5))]),
    "prelu one slope": (F.prelu, TF.prelu, [((2, 3), (-2, 2)), ((1,), (0.1, 0.5))]),
    "normalize": (F.normalize, TF.normalize, [((3, 4), (-2, 2))]),
    "normalize p=1 dim=0": (lambda x: F.normalize(x, 1.0, 0), lambda x: TF.normalize(x, 1.0, 0), [((3, 4), (-2, 2))]),
    "normalize p=3 dim=-1": (lambda x: F.normalize(x, 3.0, -1), lambda x: TF.normalize(x, 3.0, -1),
                             [((2, 2, 5), (-2, 2))]),
    "normalize p=inf": (lambda x: F.normalize(x, float("inf")), lambda x: TF.normalize(x, float("inf")),
                        [((3, 4), (-2, 2))]),
}


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_shaped_activations_match_torch(name):
    ours_fn, theirs_fn, specs = SHAPED[name]
    rng = np.random.default_rng(2)
    for dtype in DTYPES:
        pairs = [_pair(rng.uniform(*interval, shape).astype(dtype)) for shape, interval in specs]
        ours_in, theirs_in = [p[0] for p in pairs], [p[1] for p in pairs]
        _compare(ours_fn(*ours_in), theirs_fn(*theirs_in), ours_in, theirs_in, dtype, rng)


INTEGER_OPS = ["tan", "asin", "atan", "sinh", "exp2", "expm1", "log2", "rsqrt", "erf", "erfc", "sign", "trunc",
               "floor", "ceil", "round"]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
def test_integer_inputs_give_torchs_dtypes_and_values(dtype):
    values = np.array([1, 2, 3, 5], dtype=dtype)
    ours, theirs = autograd.Tensor(values.copy()), torch.from_numpy(values.copy())
    for name in INTEGER_OPS:
        with np.errstate(invalid="ignore"):  # asin beyond 1 is nan, without numpy's warning (PyTorch gives none)
            result, expected = getattr(autograd, name)(ours), getattr(torch, name)(theirs)
        assert str(result.dtype) == str(expected.dtype).removeprefix("torch."), (name, dtype)
        np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-6, err_msg=name)
    other_values = np.array([2, -3, 1, 2], dtype=np.int64 if dtype == np.uint8 else dtype)
    signed = autograd.Tensor(other_values.copy()), torch.from_numpy(other_values.copy())
    for ours_op, theirs_op in [(lambda a, b: a // b, lambda a, b: a // b), (lambda a, b: a % b, lambda a, b: a % b),
                               (autograd.fmod, torch.fmod), (lambda a, b: a & b, lambda a, b: a & b),
                               (lambda a, b: a | b, lambda a, b: a | b), (lambda a, b: a ^ b, lambda a, b: a ^ b),
                               (lambda a, b: autograd.div(a, b, rounding_mode="trunc"),
                                lambda a, b: torch.div(a, b, rounding_mode="trunc")),
                               (lambda a, b: a / b, lambda a, b: a / b), (autograd.atan2, torch.atan2),
                               (autograd.copysign, torch.copysign)]:
        result, expected = ours_op(ours, signed[0]), theirs_op(theirs, signed[1])
        assert str(result.dtype) == str(expected.dtype).removeprefix("torch.")
        np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-6)
    shifts = np.array([0, 1, 2, 3], dtype=dtype)
    for result, expected in [(ours << autograd.Tensor(shifts), theirs << torch.from_numpy(shifts)),
                             (ours >> 1, theirs >> 1), (~ours, ~theirs)]:
        assert str(result.dtype) == str(expected.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(result.numpy(), expected.numpy())


def test_nan_and_infinity_rules_match_torch():
    a = np.array([1.0, np.nan, 2.0, np.nan, np.inf, -np.inf, 0.0, -0.0])
    b = np.array([np.nan, 1.0, 2.0, np.nan, np.inf, 1.0, -0.0, 3.0])
    for name in ("maximum", "minimum", "fmax", "fmin", "copysign", "atan2", "logaddexp", "isclose"):
        with np.errstate(invalid="ignore"):  # inf - inf inside numpy's logaddexp and isclose
            result = getattr(autograd, name)(autograd.Tensor(a), autograd.Tensor(b))
        expected = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b))
        np.testing.assert_array_equal(result.numpy(), expected.numpy(), err_msg=name)
    for name in ("sign", "isnan", "isinf", "isfinite", "nan_to_num", "floor", "round", "trunc", "frac", "erf", "tan"):
        with np.errstate(invalid="ignore"):  # tan(inf), inf - trunc(inf)
            result, expected = getattr(autograd, name)(autograd.Tensor(a)), getattr(torch, name)(torch.from_numpy(a))
        np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-15, atol=0, err_msg=name)
    assert autograd.equal(autograd.Tensor(a), autograd.Tensor(a)) == torch.equal(torch.from_numpy(a),
                                                                                torch.from_numpy(a))
    close = autograd.allclose(autograd.Tensor(a), autograd.Tensor(a), equal_nan=True)
    assert close == torch.allclose(torch.from_numpy(a), torch.from_numpy(a), equal_nan=True)
