"""gradcheck and gradgradcheck themselves: what they catch, what they report, and kinks."""

import numpy as np
import pytest

import autograd
from autograd import Function
from autograd.gradcheck import gradcheck_report
from autograd.tensor import wrap


class SquareWithNumpyBackward(Function):
    """Right first derivative, but computed outside the graph: second derivatives are lost."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return wrap(grad.data * 2 * x.data)


class NoisyBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x.data * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 + wrap(np.random.default_rng().normal(size=grad.shape) * 1e-3)


def x64(*values):
    return autograd.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_passes_on_correct_ops_and_reports_tiny_errors():
    report = gradcheck_report(lambda x: (x * x).sum(), (x64(1.0, 2.0),))
    assert report.passed and report.max_abs_error < 1e-8 and report.message == ""


def test_first_order_is_right_but_gradgradcheck_catches_a_non_differentiable_backward():
    x = x64(0.5, -1.5)
    assert autograd.gradcheck(SquareWithNumpyBackward.apply, (x,))
    with pytest.raises(autograd.GradcheckError, match="computed outside the graph"):
        autograd.gradgradcheck(SquareWithNumpyBackward.apply, (x,))


def test_non_deterministic_backward_is_reported():
    with pytest.raises(autograd.GradcheckError, match="not deterministic"):
        autograd.gradcheck(NoisyBackward.apply, (x64(1.0),))
    assert autograd.gradcheck(NoisyBackward.apply, (x64(1.0),), nondet_tol=1.0, atol=1e-2)


def test_warns_when_inputs_are_not_float64():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float32"):
        autograd.gradcheck(lambda t: t * 2, (x,), eps=1e-3, atol=1e-2)


def test_kink_is_reported_as_a_kink_not_as_a_mismatch():
    x = x64(0.0, 1.0)  # relu has a kink at 0
    with pytest.warns(UserWarning, match=r"non-differentiable point.*one-sided differences 1 and 0"):
        assert autograd.gradcheck(lambda t: t.relu(), (x,))
    with pytest.warns(UserWarning):
        report = gradcheck_report(lambda t: t.clamp(0.0, 1.0), (x64(0.0, 0.5),))
    assert report.passed and len(report.kinks) == 1 and "d input 0[0]" in report.kinks[0]


def test_mismatch_message_names_input_output_element_and_values():
    class ScaledWrong(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.data * b.data

        @staticmethod
        def backward(ctx, grad):
            return grad * 0.0, grad * 1.0  # both wrong except where the true value is 1

    a, b = x64(1.0, 2.0), x64(3.0, 4.0)
    report = gradcheck_report(ScaledWrong.apply, (a, b))
    assert not report.passed
    assert "output 0 with respect to input 0" in report.message
    assert "d output 0[1] / d input 0[1]" in report.message
    assert "numerical:  4" in report.message and "analytical: 0" in report.message


def test_fast_mode_catches_the_same_bug_with_few_evaluations():
    calls = []

    def wrong(x):
        calls.append(1)
        return SquareWithNumpyBackward.apply(x) * 1.0 + wrap(np.zeros(x.shape))

    assert autograd.gradcheck(wrong, (autograd.tensor(np.ones((20, 20)), requires_grad=True),), fast_mode=True)
    assert len(calls) < 10  # O(1) evaluations, not O(400)


def test_multiple_outputs_and_inputs_without_grad():
    a, b = x64(1.0, 2.0), autograd.tensor([3.0, 4.0], dtype=autograd.float64)
    assert autograd.gradcheck(lambda x, y: (x * y, x.exp()), (a, b))
    with pytest.raises(ValueError, match="no input requires grad"):
        autograd.gradcheck(lambda y: y * 2, (b,))


def test_finite_difference_errors_fall_as_step_squared_then_rise_with_round_off():
    from autograd.gradcheck import finite_difference_errors

    x = x64(0.3, 0.9, 1.4)
    steps = np.array([1e-1, 1e-2, 1e-6, 1e-11])
    errors = finite_difference_errors(lambda t: (t.exp() * t.sin()).sum(), (x,), steps)
    float64, float32 = errors["float64"], errors["float32"]
    assert float64[0] / float64[1] == pytest.approx(100, rel=0.05)  # truncation: O(step**2)
    assert float64[2] < 1e-9 < float64[3]  # gradcheck's step is accurate; far smaller steps are not
    assert float32[2] > 1e-4 > float32[1]  # in float32, round-off swamps gradcheck's step
    np.testing.assert_array_equal(x.data, [0.3, 0.9, 1.4])  # inputs left as they were
