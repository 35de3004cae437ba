"""Version counters: an in-place change to anything a backward needs is an error, however it is reached.

Views share their base's counter (as in PyTorch), so a change through the base is seen by an op that saved a
view, and a change through a view by an op that saved the base. Arrays a forward saves are checked when they
are its own output or an input's array.
"""

import numpy as np
import pytest

import autograd
import nn
import optim
from autograd import Function

IN_PLACE_ERROR = "modified by an in-place operation"

# Every way to make a view of a (4, 6) tensor, each paired with the shape it gives.
VIEWS = {
    "reshape": lambda b: b.reshape(6, 4),
    "view": lambda b: b.view(2, 12),
    "view_as": lambda b: b.view_as(autograd.zeros(24)),
    "flatten": lambda b: b.flatten(),
    "unflatten": lambda b: b.unflatten(1, (2, 3)),
    "slice": lambda b: b[1:3, ::2],
    "int index": lambda b: b[2],
    "one element (0-d)": lambda b: b[2, 3],
    "one element by two indexes": lambda b: b[2][3],
    "diagonal": lambda b: b.diagonal(1),
    "ellipsis and None": lambda b: b[..., None, 1:],
    "unsqueeze": lambda b: b.unsqueeze(0),
    "squeeze": lambda b: b.unsqueeze(1).squeeze(1),
    "transpose": lambda b: b.transpose(0, 1),
    "permute": lambda b: b.permute(1, 0),
    "T": lambda b: b.T,
    "mT": lambda b: b.mT,
    "t()": lambda b: b.t(),
    "expand": lambda b: b.unsqueeze(0).expand(3, 4, 6),
    "expand_as": lambda b: b.expand_as(autograd.zeros(2, 4, 6)),
    "split": lambda b: b.split(2, dim=1)[1],
    "chunk": lambda b: b.chunk(2)[0],
    "detach": lambda b: b.detach(),
    "Tensor(b)": lambda b: autograd.Tensor(b),
    "Parameter(b)": lambda b: nn.Parameter(b, requires_grad=False),
    "view of a view": lambda b: b.T[1:].unsqueeze(0)[0, ::2],
}


def _base() -> autograd.Tensor:
    return autograd.tensor(np.arange(24.0).reshape(4, 6))


@pytest.mark.parametrize("make_view", VIEWS.values(), ids=VIEWS.keys())
def test_changing_the_base_invalidates_a_saved_view(make_view):
    base = _base()
    view = make_view(base)
    weight = autograd.ones(view.shape, dtype=autograd.float64, requires_grad=True)
    loss = (weight * view).sum()  # Mul saves the view for weight's gradient
    base.add_(1)
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        loss.backward()


@pytest.mark.parametrize("make_view", [make for name, make in VIEWS.items() if "expand" not in name],
                         ids=[name for name in VIEWS if "expand" not in name])
def test_changing_a_view_invalidates_its_saved_base(make_view):
    base = _base()
    weight = autograd.ones(base.shape, dtype=autograd.float64, requires_grad=True)
    loss = (weight * base).sum()
    make_view(base).mul_(2)  # expand's views are read-only, as in numpy, so they are left out here
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        loss.backward()


@pytest.mark.parametrize("name, written", [
    ("one element (0-d)", (2, 3)),
    ("one element by two indexes", (2, 3)),
    ("diagonal", (np.arange(4), np.arange(1, 5))),
])
def test_writing_through_an_element_or_the_diagonal_changes_the_base(name, written):
    # Views in PyTorch, which numpy would give as a scalar copy (an element) or a read-only view (the diagonal).
    base = _base()
    with autograd.no_grad():
        VIEWS[name](base).fill_(-1.0)
    expected = np.arange(24.0).reshape(4, 6)
    expected[written] = -1.0
    np.testing.assert_array_equal(base.data, expected)


def test_a_copy_keeps_its_own_counter():
    # reshape of a transposed tensor has to copy: changing the copy must not invalidate the base.
    base = _base()
    copy = base.T.reshape(24)
    assert not np.shares_memory(copy.data, base.data)
    weight = autograd.ones(base.shape, dtype=autograd.float64, requires_grad=True)
    loss = (weight * base).sum()
    copy.add_(1)
    loss.backward()
    np.testing.assert_array_equal(weight.grad.data, base.data)


def test_views_made_under_no_grad_share_the_counter_too():
    base = _base()
    with autograd.no_grad():
        view = base[0]
    weight = autograd.ones(6, dtype=autograd.float64, requires_grad=True)
    loss = (weight * view).sum()
    base.zero_()
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        loss.backward()


def test_optimizer_step_between_forward_and_backward_of_a_retained_graph_is_caught():
    # nn.Linear multiplies by weight.T, a view: its matmul saves the view, the optimizer changes the base.
    autograd.manual_seed(0)
    layer = nn.Linear(3, 2)
    optimizer = optim.SGD(layer.parameters(), lr=0.1)
    inputs = autograd.randn(4, 3, requires_grad=True)
    loss = layer(inputs).pow(2).sum()
    loss.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        loss.backward()


class ExpSavingItsOutput(Function):
    """y = exp(x); dx = grad * y, with y saved as forward's own result array (as PyTorch's Exp does)."""

    @staticmethod
    def forward(ctx, x):
        result = np.exp(x.data)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result


class ScaleSavingInputArray(Function):
    """y = x * s; ds = sum(grad * x), with x saved as its array ``x.data``."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x.data)
        return x.data * scale.data

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return None, (grad * autograd.Tensor(x)).sum()


def test_an_op_that_saves_its_output_array_sees_the_output_change():
    x = autograd.tensor([0.0, 1.0], dtype=autograd.float64, requires_grad=True)
    y = ExpSavingItsOutput.apply(x)
    untouched = ExpSavingItsOutput.apply(x)
    untouched.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp([0.0, 1.0]))
    with autograd.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        y.sum().backward()


def test_an_op_that_saves_an_input_array_sees_the_input_change():
    x = autograd.tensor([1.0, 2.0], dtype=autograd.float64)
    scale = autograd.tensor(3.0, dtype=autograd.float64, requires_grad=True)
    y = ScaleSavingInputArray.apply(x, scale)
    x.add_(1)
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        y.sum().backward()


class Identity(Function):
    """y = x, returned as x's own array."""

    @staticmethod
    def forward(ctx, x):
        return x.data

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_an_output_that_is_an_input_array_shares_the_input_counter():
    base = _base()
    alias = Identity.apply(base)
    assert alias.data is base.data
    weight = autograd.ones(base.shape, dtype=autograd.float64, requires_grad=True)
    loss = (weight * alias).sum()
    base.fill_(0)
    with pytest.raises(RuntimeError, match=IN_PLACE_ERROR):
        loss.backward()


def test_the_error_names_the_op_and_the_versions():
    base = _base()
    weight = autograd.ones(6, 4, dtype=autograd.float64, requires_grad=True)
    loss = (weight * base.T).sum()
    base.add_(1)
    base.add_(1)
    with pytest.raises(RuntimeError, match=r"saved tensor 1 of Mul \(shape \(6, 4\)\) is at version 2, expected "
                                           r"version 0"):
        loss.backward()


# Ops that keep an index or a mask for backward, each given a (2, 3) input, an index [0, 0] and a mask.
INDEXED = {
    "x[index]": lambda x, index, mask: x[index],
    "x[:, index]": lambda x, index, mask: x[:, index],
    "x[mask]": lambda x, index, mask: x[mask],
    "index_select": lambda x, index, mask: x.index_select(1, index),
    "gather": lambda x, index, mask: x.gather(1, index.reshape(2, 1)),
    "take_along_dim": lambda x, index, mask: x.take_along_dim(index.reshape(2, 1), 1),
    "scatter_add": lambda x, index, mask: x.scatter_add(1, index.reshape(2, 1), x[:, :1] * 1),
    "embedding": lambda x, index, mask: nn.functional.embedding(index, x),
    "masked_fill": lambda x, index, mask: x.masked_fill(mask, 0.0),
    "where": lambda x, index, mask: autograd.where(mask, x, x * 0),
}


@pytest.mark.parametrize("op", INDEXED.values(), ids=INDEXED.keys())
def test_changing_an_index_or_mask_after_forward_leaves_the_gradient_as_it_was(op):
    # The op keeps its own copy of the index: the gradient goes where the forward read. (PyTorch raises instead.)
    grads = []
    for change in (False, True):
        x = autograd.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        index, mask = autograd.tensor([0, 0]), autograd.tensor([[True, False, False], [False, False, True]])
        y = op(x, index, mask)
        if change:
            with autograd.no_grad():
                index.fill_(1)
                mask.copy_(~mask)
        y.backward(autograd.tensor(np.arange(1.0, 1 + y.numel()).reshape(y.shape)))
        grads.append(x.grad.data)
    np.testing.assert_array_equal(grads[1], grads[0])
