"""The public graph API (``autograd.graph``): edges, node hooks, metadata, saved arrays and op attributes."""

import pathlib
import re

import numpy as np
import pytest

import autograd
import nn
from autograd.graph import AccumulateGrad, Edge, get_gradient_edge, walk_graph


def test_edges_name_the_node_output_and_the_inputs_shape_and_dtype():
    x = autograd.randn(2, 3, requires_grad=True)
    y = autograd.randn(3, dtype=autograd.float64)
    z = x * 2.0
    out = z + y
    first, second = out.grad_fn.next_edges
    assert isinstance(first, Edge) and first.node is z.grad_fn and first.output_nr == 0
    assert first.shape == (2, 3) and first.dtype == np.float32
    assert second is None  # y needs no gradient
    assert out.grad_fn.next_functions == ((z.grad_fn, 0), (None, 0))
    leaf_edge = get_gradient_edge(x)
    assert isinstance(leaf_edge.node, AccumulateGrad) and leaf_edge.node.variable is x
    assert z.grad_fn.next_edges[0] == leaf_edge


class _SinCos(autograd.Function):
    """(sin x, cos x): a Function with two outputs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x.data), np.cos(x.data)

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        (x,) = ctx.saved_tensors
        return grad_sin * x.cos() - grad_cos * x.sin()


def test_output_nr_and_num_outputs_of_a_node_with_several_outputs():
    x = autograd.randn(4, 6, requires_grad=True)
    sin, cos = _SinCos.apply(x)
    assert (sin.output_nr, cos.output_nr) == (0, 1) and sin.grad_fn is cos.grad_fn
    node = sin.grad_fn
    assert node.num_outputs == 2 and node.output_metadata == (((4, 6), np.float32), ((4, 6), np.float32))
    assert (x * 2).grad_fn.num_outputs == 1 and (x * 2).grad_fn.output_metadata is None
    seen = []
    node.register_prehook(lambda grad_outputs: seen.append([None if gradient is None else gradient.tolist()[0][0]
                                                           for gradient in grad_outputs]))
    cos.sum().backward()  # the hook sees None for the unused output; backward gets zeros, as in PyTorch
    assert seen == [[None, 1.0]]
    np.testing.assert_allclose(x.grad.data, -np.sin(x.data), rtol=1e-6)


def test_metadata_is_a_dict_that_lives_with_the_node():
    x = autograd.randn(3, requires_grad=True)
    y = x.exp()
    y.grad_fn.metadata["note"] = "the exponential"
    assert y.grad_fn.metadata == {"note": "the exponential"}
    assert get_gradient_edge(x).node.metadata == {}


def test_prehook_sees_and_may_replace_the_gradients_of_the_outputs():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    seen = []

    def double(grad_outputs):
        seen.append([gradient.tolist() for gradient in grad_outputs])
        return (grad_outputs[0] * 2.0,)

    handle = y.grad_fn.register_prehook(double)
    y.sum().backward()
    assert seen == [[[1.0, 1.0]]] and x.grad.tolist() == [6.0, 6.0]
    handle.remove()
    x.grad = None
    y2 = x * 3.0
    y2.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_posthook_sees_both_sides_and_may_replace_the_input_gradients():
    a = autograd.tensor([1.0, 2.0], requires_grad=True)
    b = autograd.tensor([3.0, 4.0], requires_grad=True)
    product = a * b
    calls = []

    def zero_a(grad_inputs, grad_outputs):
        calls.append(([g.tolist() for g in grad_inputs], [g.tolist() for g in grad_outputs]))
        return (grad_inputs[0] * 0.0, grad_inputs[1])

    product.grad_fn.register_hook(zero_a)
    product.sum().backward()
    assert calls == [([[3.0, 4.0], [1.0, 2.0]], [[1.0, 1.0]])]
    assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [1.0, 2.0]


def test_a_leafs_accumulator_hook_runs_after_grad_was_accumulated():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    seen = []
    get_gradient_edge(x).node.register_hook(lambda grad_inputs, grad_outputs: seen.append(
        (grad_inputs, x.grad.tolist(), grad_outputs[0].tolist())))
    y.sum().backward()
    assert seen == [((), [2.0, 2.0], [2.0, 2.0])]


def test_a_hook_that_returns_the_wrong_thing_is_named_in_the_error():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0

    def broken(grad_outputs):
        return grad_outputs[0]  # a Tensor, not a tuple of them

    y.grad_fn.register_prehook(broken)
    with pytest.raises(TypeError, match=r"pre-hook 'broken' registered on Mul returned Tensor.*tuple of 1"):
        y.sum().backward()


def test_tensor_hook_handles_remove_their_hook():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    handle = y.register_hook(lambda grad: grad * 10.0)
    handle.remove()
    handle.remove()  # a no-op the second time, as in PyTorch
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_saved_arrays_report_shapes_and_bytes_until_backward_frees_them():
    x = autograd.randn(4, 5, requires_grad=True)
    w = autograd.randn(5, 3, requires_grad=True)
    out = x @ w
    saved = out.grad_fn.saved_arrays()
    assert [(entry.name, entry.shape, entry.nbytes) for entry in saved] == [("saved[0]", (4, 5), 80),
                                                                          ("saved[1]", (5, 3), 60)]
    assert not out.grad_fn.saved_freed
    out.sum().backward()
    assert out.grad_fn.saved_freed and out.grad_fn.saved_arrays() == ()


@pytest.mark.parametrize("make, expected", [
    (lambda x: x.sum(dim=1), {"dim": 1}),
    (lambda x: x.sum(), {}),
    (lambda x: x.sum(dim=(0, 1), keepdim=True), {"keepdim": True}),
    (lambda x: x.amax(dim=0), {"dim": 0}),
    (lambda x: x.log_softmax(1), {"dim": 1}),
    (lambda x: nn.functional.leaky_relu(x), {}),
    (lambda x: nn.functional.leaky_relu(x, 0.2), {"negative_slope": 0.2}),
    (lambda x: x.clamp(min=0.0), {"min": 0.0}),
    (lambda x: x.permute(1, 0), {"dims": (1, 0)}),
])
def test_ops_describe_their_user_facing_settings(make, expected):
    x = autograd.randn(3, 4, requires_grad=True)
    assert make(x).grad_fn.attributes() == expected


def test_repr_shows_the_op_and_its_settings():
    x = autograd.randn(3, 4, requires_grad=True)
    assert repr(x.softmax(1).grad_fn) == "<Softmax dim=1>"
    assert repr((x * 2).grad_fn) == "<Mul>"


def test_batch_norm_shows_no_internal_counts():
    x = autograd.randn(8, 3, 4, 4, requires_grad=True)
    norm = nn.BatchNorm2d(3)
    assert norm(x).grad_fn.attributes() == {}
    norm.eval()
    assert norm(x).grad_fn.attributes() == {"training": False}


def test_broadcasting_ops_declare_it():
    x = autograd.randn(3, requires_grad=True)
    assert (x + 1.0).grad_fn.broadcasts_inputs and (x * x).grad_fn.broadcasts_inputs
    assert not x.exp().grad_fn.broadcasts_inputs


def test_walk_graph_visits_each_node_once_in_a_stable_order():
    x = autograd.randn(3, requires_grad=True)
    y = x.exp()
    out = y * y + x
    order = walk_graph([out.grad_fn])
    assert [node.name() for node in order] == ["Add", "Mul", "Exp", "AccumulateGrad"]


def test_viz_reads_no_private_attribute_of_autograd():
    """Tools use the public graph API only: no ``._name`` attribute access in viz, except a class's own."""
    viz_dir = pathlib.Path(__file__).resolve().parent.parent / "viz"
    private = [f"{path.name}:{number}: {line.strip()}" for path in sorted(viz_dir.glob("*.py"))
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"(?<!self)\._[a-z]", line)]
    assert private == []


def test_post_accumulate_grad_hooks_see_the_accumulated_grad_in_every_pass():
    w = autograd.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda tensor: seen.append(tensor.grad.tolist()))
    (w * 3.0).sum().backward()
    (w * w).sum().backward()  # two paths: one call, after both were summed into .grad
    assert seen == [[3.0, 3.0], [5.0, 7.0]]
    handle.remove()
    (w * 3.0).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_grad_hooks_are_for_leaves_that_require_grad():
    w = autograd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf tensors.*shape \(2,\) is not a leaf"):
        (w * 2.0).register_post_accumulate_grad_hook(lambda tensor: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.tensor([1.0]).register_post_accumulate_grad_hook(lambda tensor: None)


def test_queued_callbacks_run_once_backward_has_accumulated_everything():
    a = autograd.tensor([1.0], requires_grad=True)
    b = autograd.tensor([2.0], requires_grad=True)
    order = []

    def queue(tensor):
        order.append(("hook", tensor.grad.item()))
        autograd.engine.queue_callback(lambda: order.append(("callback", a.grad.item(), b.grad.item())))

    a.register_post_accumulate_grad_hook(queue)
    (a * b * 5.0).sum().backward()
    assert order == [("hook", 10.0), ("callback", 10.0, 5.0)]


def test_queue_callback_outside_backward_is_an_error_and_a_failed_pass_runs_none():
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        autograd.engine.queue_callback(lambda: None)
    x = autograd.tensor([1.0], requires_grad=True)
    ran = []

    def queue_then_fail(grad_outputs):
        autograd.engine.queue_callback(lambda: ran.append(True))
        raise ValueError("planted")

    y = x * 2.0
    y.grad_fn.register_prehook(queue_then_fail)
    with pytest.raises(ValueError, match="planted"):
        y.sum().backward()
    assert ran == []
    (x * 2.0).sum().backward()  # the failed pass left nothing queued behind
    assert x.grad.tolist() == [2.0]
