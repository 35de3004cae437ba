"""Error classes: a PyTorch user's ``except RuntimeError`` / ``except IndexError`` / ``except ValueError`` catches
gradlab's error for the same mistake, and the message names the op and the shapes or values involved.

``OpError`` is both a ValueError and a RuntimeError, ``DimensionError`` an OpError and an IndexError; plain
ValueErrors remain where PyTorch raises ValueError (hyperparameters of layers, interpolate's arguments).
"""

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import DimensionError, OpError, Tensor


def zeros(*shape, dtype=np.float32):
    return Tensor(np.zeros(shape, dtype))


# (name, call, the exception class PyTorch raises, a regular expression the message matches)
CASES = [
    ("conv2d channels", lambda: F.conv2d(zeros(1, 3, 5, 5), zeros(2, 4, 3, 3)), RuntimeError,
     r"conv2d: input has 3 channels but the weight \(shape \(2, 4, 3, 3\)"),
    ("conv2d rank", lambda: F.conv2d(zeros(4, 3), zeros(2, 4, 1, 1)), RuntimeError, r"conv2d: expected a 3-d"),
    ("conv2d stride 0", lambda: F.conv2d(zeros(1, 1, 3, 3), zeros(1, 1, 2, 2), stride=0), RuntimeError,
     "stride must be positive"),
    ("conv_transpose2d channels", lambda: F.conv_transpose2d(zeros(1, 4, 3, 3), zeros(3, 2, 3, 3)), RuntimeError,
     "input has 4 channels"),
    ("matmul shapes", lambda: autograd.matmul(zeros(2, 3), zeros(2, 3)), RuntimeError,
     r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned"),
    ("matmul 0-d", lambda: autograd.matmul(zeros(), zeros(3)), RuntimeError, "at least 1 dimension"),
    ("linear features", lambda: F.linear(zeros(2, 3), zeros(4, 5)), RuntimeError, "has 3 features"),
    ("add broadcast", lambda: zeros(2, 3) + zeros(4), RuntimeError, r"add: shapes \(2, 3\) and \(4,\)"),
    ("int negative power", lambda: Tensor([2, 3]) ** -1, RuntimeError,
     "Integers to negative integer powers are not allowed"),
    ("sum dim", lambda: zeros(2, 3).sum(5), IndexError, r"sum: dimension 5 is out of range.*2 dimensions"),
    ("mean dims", lambda: zeros(2, 3).mean((0, -3)), IndexError, "mean: dimension -3"),
    ("amax dim", lambda: zeros(2, 3).amax(2), IndexError, "amax: dimension 2"),
    ("softmax dim", lambda: zeros(2, 3).softmax(2), IndexError, "softmax: dimension 2"),
    ("argmax dim", lambda: zeros(2, 3).argmax(5), IndexError, "argmax: dimension 5"),
    ("max of an empty dim", lambda: zeros(0, 3).max(0), IndexError, r"argmax: cannot reduce dimension 0 of size 0"),
    ("amin of an empty dim", lambda: zeros(0, 3).amin(0), IndexError, r"amin: cannot reduce dimension 0 of size 0"),
    ("amax of an empty tensor", lambda: zeros(0, 3).amax(), RuntimeError, r"amax: cannot reduce an empty tensor"),
    ("mean of ints", lambda: Tensor([1, 2]).mean(), RuntimeError, "mean: expected a floating point input, got "
                                                                  "dtype int64"),
    ("var of bools", lambda: Tensor([True, False]).var(), RuntimeError, "var: expected a floating point input"),
    ("softmax of ints", lambda: Tensor([1, 2]).softmax(0), RuntimeError, "softmax: expected a floating point"),
    ("batch_norm running_mean", lambda: F.batch_norm(zeros(2, 3), zeros(4), zeros(4)), RuntimeError,
     r"batch_norm: running_mean has shape \(4,\) but the input \(shape \(2, 3\)\) has 3 channels"),
    ("batch_norm eval without stats", lambda: F.batch_norm(zeros(2, 3), None, None), RuntimeError,
     "required when training=False"),
    ("batch_norm of ints", lambda: F.batch_norm(Tensor(np.zeros((2, 3), np.int64)), None, None, training=True),
     RuntimeError, "batch_norm: expected a floating point input"),
    ("batch_norm one value per channel", lambda: F.batch_norm(zeros(1, 3), None, None, training=True), ValueError,
     "more than 1 value per channel"),
    ("BatchNorm2d channels", lambda: nn.BatchNorm2d(3)(zeros(2, 4, 4, 5)), RuntimeError,
     r"BatchNorm2d: expected 3 channels in dimension 1, got input of shape \(2, 4, 4, 5\)"),
    ("BatchNorm1d rank", lambda: nn.BatchNorm1d(3)(zeros(2, 3, 4, 5)), ValueError, "expected 2D or 3D input"),
    ("layer_norm shape", lambda: F.layer_norm(zeros(2, 3), (4,)), RuntimeError, r"normalized_shape \(4,\)"),
    ("group_norm groups", lambda: F.group_norm(zeros(2, 4), 3), RuntimeError, "num_groups 3 must divide"),
    ("GroupNorm groups", lambda: nn.GroupNorm(3, 4), ValueError, r"num_channels \(4\) must be divisible"),
    ("batch_norm eps", lambda: F.batch_norm(zeros(2, 3), None, None, training=True, eps=0.0), ValueError,
     "batch_norm: eps must be positive, got 0.0"),
    ("max_pool2d kernel", lambda: F.max_pool2d(zeros(1, 1, 2, 2), 3), RuntimeError, "kernel .* is larger"),
    ("max_pool2d padding", lambda: F.max_pool2d(zeros(1, 1, 4, 4), 2, padding=2), RuntimeError,
     "must be at most half the kernel size"),
    ("avg_pool2d rank", lambda: F.avg_pool2d(zeros(1, 4), 2), RuntimeError, "avg_pool2d: expected a 3-d"),
    ("avg_pool2d of ints", lambda: F.avg_pool2d(Tensor(np.zeros((1, 1, 4, 4), np.int64)), 2), RuntimeError,
     "avg_pool2d: expected a floating point input"),
    ("max_unpool2d index", lambda: F.max_unpool2d(zeros(1, 1, 2, 2), Tensor(np.full((1, 1, 2, 2), 100)), 2),
     RuntimeError, "index 100 is out of range"),
    ("pad odd", lambda: F.pad(zeros(1, 4), (1, 1, 1)), RuntimeError, "even length"),
    ("pad mode", lambda: F.pad(zeros(1, 4), (1, 1), mode="foo"), RuntimeError, "unknown mode 'foo'"),
    ("interpolate both", lambda: F.interpolate(zeros(1, 1, 4, 4), size=2, scale_factor=2), ValueError,
     "exactly one of size and scale_factor"),
    ("interpolate size 0", lambda: F.interpolate(zeros(1, 1, 4, 4), size=0), RuntimeError, "must be positive"),
    ("interpolate bool bilinear", lambda: F.interpolate(Tensor(np.zeros((1, 1, 2, 2), bool)), size=3,
                                                        mode="bilinear"), RuntimeError, "bool"),
    ("cross_entropy batch size", lambda: F.cross_entropy(zeros(2, 3), Tensor([0, 1, 2])), ValueError,
     r"expected a target of shape \(2,\)"),
    ("cross_entropy K-dim target", lambda: F.cross_entropy(zeros(2, 3, 4), Tensor(np.zeros((2, 5), np.int64))),
     RuntimeError, r"expected a target of shape \(2, 4\)"),
    ("cross_entropy weight", lambda: F.cross_entropy(zeros(2, 3), Tensor([0, 1]), weight=zeros(4)), RuntimeError,
     r"weight has shape \(4,\)"),
    ("cross_entropy float class", lambda: F.nll_loss(zeros(2, 3), zeros(2)), RuntimeError,
     "class-index targets must be integers"),
    ("mse_loss shape", lambda: F.mse_loss(zeros(2, 3), zeros(3, 3)), RuntimeError, r"target shape \(3, 3\)"),
    ("mse_loss of ints", lambda: F.mse_loss(Tensor([1, 2]), Tensor([1, 2])), RuntimeError,
     "mse_loss: expected a floating point input"),
    ("loss reduction", lambda: F.l1_loss(zeros(2), zeros(2), reduction="x"), ValueError, "reduction must be"),
    ("binary_cross_entropy range", lambda: F.binary_cross_entropy(Tensor([1.5]), Tensor([1.0])), RuntimeError,
     "between 0 and 1"),
    ("huber delta", lambda: F.huber_loss(zeros(2), zeros(2), delta=0), RuntimeError, "delta must be positive"),
    ("gelu approximate", lambda: F.gelu(zeros(2), approximate="x"), RuntimeError, "approximate must be"),
    ("dropout p", lambda: F.dropout(zeros(2), p=2), ValueError, "dropout probability"),
    ("Conv2d groups", lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "groups"),
]


OP_ERRORS = [case for case in CASES if case[2] is not ValueError]
VALUE_ERRORS = [case for case in CASES if case[2] is ValueError]


@pytest.mark.parametrize("call, error, message", [case[1:] for case in OP_ERRORS], ids=[case[0] for case in OP_ERRORS])
def test_pytorch_except_clauses_catch_our_errors(call, error, message):
    with pytest.raises(error, match=message) as raised:
        call()
    # Also a ValueError, gradlab's own convention, so older except clauses keep working.
    assert isinstance(raised.value, DimensionError if error is IndexError else OpError)


@pytest.mark.parametrize("call, error, message", [case[1:] for case in VALUE_ERRORS],
                         ids=[case[0] for case in VALUE_ERRORS])
def test_hyperparameter_errors_stay_plain_value_errors(call, error, message):
    with pytest.raises(ValueError, match=message) as raised:
        call()
    assert not isinstance(raised.value, RuntimeError)  # PyTorch raises a plain ValueError for these


@pytest.mark.filterwarnings("ignore:Using a target size")
def test_pytorch_raises_the_same_classes():
    """The expected classes above are PyTorch's: the same mistakes made with torch raise them."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    torch_calls = {
        "conv2d channels": lambda: functional.conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(2, 4, 3, 3)),
        "matmul shapes": lambda: torch.zeros(2, 3) @ torch.zeros(2, 3),
        "add broadcast": lambda: torch.zeros(2, 3) + torch.zeros(4),
        "int negative power": lambda: torch.tensor([2, 3]) ** -1,
        "sum dim": lambda: torch.zeros(2, 3).sum(5),
        "max of an empty dim": lambda: torch.zeros(0, 3).max(0),
        "amax of an empty tensor": lambda: torch.zeros(0, 3).amax(),
        "mean of ints": lambda: torch.tensor([1, 2]).mean(),
        "batch_norm running_mean": lambda: functional.batch_norm(torch.zeros(2, 3), torch.zeros(4), torch.zeros(4)),
        "batch_norm one value per channel": lambda: functional.batch_norm(torch.zeros(1, 3), None, None,
                                                                          training=True),
        "BatchNorm2d channels": lambda: torch.nn.BatchNorm2d(3)(torch.zeros(2, 4, 4, 5)),
        "layer_norm shape": lambda: functional.layer_norm(torch.zeros(2, 3), (4,)),
        "max_pool2d kernel": lambda: functional.max_pool2d(torch.zeros(1, 1, 2, 2), 3),
        "interpolate both": lambda: functional.interpolate(torch.zeros(1, 1, 4, 4), size=2, scale_factor=2),
        "cross_entropy batch size": lambda: functional.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1, 2])),
        "mse_loss shape": lambda: functional.mse_loss(torch.zeros(2, 3), torch.zeros(3, 3)),
        "GroupNorm groups": lambda: torch.nn.GroupNorm(3, 4),
    }
    expected = {case[0]: case[2] for case in CASES}
    for name, call in torch_calls.items():
        with pytest.raises(expected[name]):
            call()


@pytest.mark.parametrize("value", [2.0, 3, np.float16(0.5), np.int64(2), np.ones(3)],
                         ids=["float", "int", "float16", "int64", "ndarray"])
def test_an_op_given_a_number_or_an_array_names_itself_and_the_type(value):
    # Its forward reads .data of the argument: the AttributeError that makes is replaced by PyTorch's TypeError.
    with pytest.raises(TypeError, match=rf"Exp: expected a Tensor as its first argument, got {type(value).__name__}"):
        autograd.exp(value)
