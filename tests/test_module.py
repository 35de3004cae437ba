"""nn.Module: registration, traversal, modes, state dicts, hooks, printing; containers; Parameter."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor


class Affine(nn.Module):
    """y = x * scale + shift, with a buffer counting calls (written without any layer)."""

    def __init__(self, size):
        super().__init__()
        self.scale = nn.Parameter(np.ones(size, np.float32))
        self.shift = nn.Parameter(np.zeros(size, np.float32))
        self.register_buffer("calls", autograd.zeros(1))
        self.register_buffer("scratch", autograd.zeros(size), persistent=False)

    def forward(self, x):
        return x * self.scale + self.shift


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Affine(3)
        self.block = nn.Sequential(Affine(3), nn.ReLU())
        self.head = Affine(3)

    def forward(self, x):
        return self.head(self.block(self.first(x)))


# ----------------------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_tensor_and_ops_give_plain_tensors():
    p = nn.Parameter(autograd.randn(3))
    assert isinstance(p, Tensor) and p.is_leaf and p.requires_grad
    y = p * 2
    assert type(y) is Tensor and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(p.grad.data, [2, 2, 2])
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_parameter_shares_data_of_a_tensor_and_rejects_integer_dtypes():
    t = autograd.zeros(2)
    p = nn.Parameter(t)
    assert p.data is t.data
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(autograd.tensor([1, 2]))


def test_deepcopy_of_a_model_gets_its_own_parameters_and_gradients():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    x = autograd.randn(4, 2)
    pending = model(x).sum()  # a live graph holds the original parameters' gradient sinks
    clone = copy.deepcopy(model)
    assert clone[0].weight is not model[0].weight and clone[0].weight.data is not model[0].weight.data
    np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)
    clone(x).sum().backward()
    assert clone[0].weight.grad is not None and model[0].weight.grad is None
    pending.backward()
    assert model[0].weight.grad is not None


# ----------------------------------------------------------------------------- registration and traversal
def test_named_parameters_buffers_and_modules_use_dotted_names_in_registration_order():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "first.scale", "first.shift", "block.0.scale", "block.0.shift", "head.scale", "head.shift"]
    assert [name for name, _ in net.named_buffers()] == [
        "first.calls", "first.scratch", "block.0.calls", "block.0.scratch", "head.calls", "head.scratch"]
    assert [name for name, _ in net.named_modules()] == ["", "first", "block", "block.0", "block.1", "head"]
    assert [name for name, _ in net.named_children()] == ["first", "block", "head"]
    assert list(net.children()) == [net.first, net.block, net.head]
    assert len(list(net.modules())) == 6
    assert list(net.first.parameters(recurse=False)) == [net.first.scale, net.first.shift]
    assert list(net.parameters(recurse=False)) == []


def test_shared_modules_and_parameters_are_listed_once():
    net = Net()
    net.head = net.first
    assert len(list(net.parameters())) == 4
    assert [name for name, _ in net.named_modules()] == ["", "first", "block", "block.0", "block.1"]


def test_reassigning_and_deleting_attributes_updates_the_registries():
    net = Affine(2)
    net.scale = nn.Parameter(np.full(2, 3.0, np.float32))
    assert net.scale.data.tolist() == [3.0, 3.0]
    net.calls = autograd.ones(1)  # a Tensor assigned to a buffer name replaces the buffer
    assert dict(net.named_buffers())["calls"] is net.calls
    net.shift = None
    assert [name for name, _ in net.named_parameters()] == ["scale"]
    del net.scale
    assert list(net.parameters()) == []
    net.scale = nn.Parameter(np.ones(2, np.float32))  # a plain attribute name becomes a parameter again
    assert [name for name, _ in net.named_parameters()] == ["scale"]


def test_wrong_assignments_raise():
    net = Affine(2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = autograd.ones(2)
    with pytest.raises(TypeError, match="buffer 'calls'"):
        net.calls = 3
    with pytest.raises(KeyError, match="empty or contain"):
        net.register_buffer("a.b", autograd.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("forward", autograd.ones(1))

    class Early(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(np.ones(1, np.float32))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_unknown_attribute_raises_attribute_error_with_the_class_name():
    conv = nn.Conv2d(1, 1, 3)
    with pytest.raises(AttributeError, match="'Conv2d' object has no attribute 'wieght'"):
        conv.wieght
    assert not hasattr(conv, "wieght")


def test_missing_forward_is_reported():
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward"'):
        nn.Module()(autograd.ones(1))


# ----------------------------------------------------------------------------- modes and in-place changes
def test_train_eval_propagate_to_every_module():
    net = Net()
    assert net.eval() is net
    assert all(not module.training for module in net.modules())
    net.train()
    assert all(module.training for module in net.modules())
    net.block.train(False)
    assert net.training and not net.block[0].training
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_train_goes_through_each_childs_own_train_method():
    class FrozenNorm(nn.BatchNorm1d):
        def train(self, mode=True):
            return super().train(False)

    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(FrozenNorm(2)))
    model.train()
    assert model.training and model[0].training and model[1].training and not model[1][0].training


def test_zero_grad_to_none_or_to_zeros_in_place():
    net = Affine(3)
    (net(autograd.ones(3)) * 2).sum().backward()
    grad = net.scale.grad
    net.zero_grad(set_to_none=False)
    assert net.scale.grad is grad and np.all(grad.data == 0)
    net.zero_grad()
    assert net.scale.grad is None and net.shift.grad is None


def test_requires_grad_and_apply():
    net = Net()
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    visited = []
    net.apply(lambda module: visited.append(type(module).__name__))
    # children before their parent, the root last
    assert visited == ["Affine", "Affine", "ReLU", "Sequential", "Affine", "Net"]


def test_to_double_casts_float_tensors_in_place_and_keeps_integer_buffers():
    bn = nn.BatchNorm1d(3)
    weight = bn.weight
    bn.double()
    assert bn.weight is weight and bn.weight.dtype == np.float64
    assert bn.running_mean.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64
    assert bn.float().weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        bn.to(np.int32)


# ----------------------------------------------------------------------------- state dict
def test_state_dict_has_parameters_and_persistent_buffers_in_pytorch_order():
    net = Net()
    state = net.state_dict()
    assert list(state) == ["first.scale", "first.shift", "first.calls", "block.0.scale", "block.0.shift",
                           "block.0.calls", "head.scale", "head.shift", "head.calls"]
    # detached tensors that share memory with the parameters
    assert not state["first.scale"].requires_grad and state["first.scale"].data is net.first.scale.data
    assert net.state_dict(keep_vars=True)["first.scale"] is net.first.scale


def test_batchnorm_state_dict_keys_match_pytorch():
    keys = list(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).state_dict())
    assert keys == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                    "1.num_batches_tracked"]


def test_load_state_dict_copies_tensors_and_numpy_arrays_in_place():
    source, target = Net(), Net()
    for p in source.parameters():
        p.data[...] = autograd.randn(*p.shape).data
    scale = target.first.scale
    state = {key: value.data.copy() if index % 2 else value for index, (key, value) in
             enumerate(source.state_dict().items())}
    assert target.load_state_dict(state) == ([], [])
    assert target.first.scale is scale
    for (_, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_casts_to_the_target_dtype():
    net = Affine(2)
    net.load_state_dict({"scale": np.array([1.5, 2.5]), "shift": np.zeros(2), "calls": np.zeros(1)})
    assert net.scale.dtype == np.float32 and net.scale.data.tolist() == [1.5, 2.5]


def test_strict_load_lists_every_problem_at_once_and_copies_nothing():
    net = Net()
    state = dict(net.state_dict())
    del state["first.shift"], state["head.calls"]
    state["extra.weight"] = np.ones(1)
    state["block.0.scale"] = np.ones(4)
    before = net.head.scale.data.copy()
    state["head.scale"] = np.full(3, 7.0)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert message.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "first.shift", "head.calls".' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in message
    assert "size mismatch for block.0.scale: copying a param with shape (4,) from checkpoint, the shape in " \
           "current model is (3,)." in message
    np.testing.assert_array_equal(net.head.scale.data, before)


def test_non_strict_load_reports_keys_but_still_rejects_shape_mismatches():
    net = Net()
    state = dict(net.state_dict())
    del state["first.shift"]
    state["extra"] = np.ones(1)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["first.shift"] and result.unexpected_keys == ["extra"]
    state["head.scale"] = np.ones(5)
    with pytest.raises(RuntimeError, match="size mismatch for head.scale"):
        net.load_state_dict(state, strict=False)


@pytest.mark.parametrize("bad, reason", [
    (np.array(1.5), "values that are not whole numbers"),
    (np.array(np.nan), "not whole numbers \\(or are NaN or infinite\\)"),
    (np.array("three"), "its dtype <U5 is not numeric"),
    (np.array(2.0**70), "values outside \\[-9223372036854775808, 9223372036854775807\\]"),
    (np.array(2**64 - 1, np.uint64), "values outside"),
    (np.array(1 + 1j), "complex values with a nonzero imaginary part"),
])
def test_a_value_that_cannot_be_cast_is_found_before_anything_is_copied(bad, reason):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    before = {key: value.data.copy() for key, value in model.state_dict().items()}
    state = {key: np.full(value.shape, 7, value.dtype) for key, value in model.state_dict().items()}
    assert list(state)[-1] == "1.num_batches_tracked"
    state["1.num_batches_tracked"] = bad
    with pytest.raises(RuntimeError, match=rf"cannot copy 1\.num_batches_tracked into the int64 tensor: .*{reason}"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key])
    state["1.num_batches_tracked"] = np.array(5.0)  # a whole number fits
    model.load_state_dict(state)
    assert model[1].num_batches_tracked.dtype == np.int64 and int(model[1].num_batches_tracked) == 5
    np.testing.assert_array_equal(model[0].weight.data, np.full((2, 2), 7))


def test_a_parameter_value_that_is_not_an_array_is_named():
    net = Affine(2)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict({"scale": [[1.0], [1.0, 2.0]], "shift": np.array(["a", "b"]), "calls": np.zeros(1)})
    message = str(error.value)
    assert "cannot copy scale: its value is not an array" in message
    assert "cannot copy shift into the float32 tensor: its dtype <U1 is not numeric." in message
    np.testing.assert_array_equal(net.scale.data, [1, 1])


def test_load_state_dict_rejects_what_is_not_a_mapping():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got list"):
        nn.Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))])


# ----------------------------------------------------------------------------- hooks
def test_forward_pre_hook_and_forward_hook_can_replace_input_and_output():
    net = Affine(2)
    calls = []
    pre = net.register_forward_pre_hook(lambda module, args: (args[0] * 10,))
    post = net.register_forward_hook(lambda module, args, output: calls.append((args[0], output)) or output + 1)
    out = net(autograd.ones(2))
    assert out.data.tolist() == [11.0, 11.0]
    assert calls[0][0].data.tolist() == [10.0, 10.0] and calls[0][1].data.tolist() == [10.0, 10.0]
    pre.remove()
    post.remove()
    post.remove()  # removing twice is harmless
    assert net(autograd.ones(2)).data.tolist() == [1.0, 1.0]
    assert len(calls) == 1


def test_hooks_run_in_registration_order():
    net = Affine(1)
    order = []
    net.register_forward_hook(lambda m, a, o: order.append("first"))
    net.register_forward_hook(lambda m, a, o: order.append("second"))
    net(autograd.ones(1))
    assert order == ["first", "second"]


# ----------------------------------------------------------------------------- printing
def test_repr_is_a_nested_tree_like_pytorch():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                          nn.Sequential(nn.Flatten(), nn.Dropout(0.25)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
        "  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (2): ReLU(inplace=True)\n"
        "  (3): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Dropout(p=0.25, inplace=False)\n"
        "  )\n"
        ")")


def test_extra_repr_of_a_custom_module_goes_before_its_children():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.ReLU()

        def extra_repr(self):
            return "factor=2"

    assert repr(Scaled()) == "Scaled(\n  factor=2\n  (inner): ReLU()\n)"


# ----------------------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_append():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    seq = nn.Sequential(a, b)
    assert seq[0] is a and seq[-1] is b and len(seq) == 2 and list(seq) == [a, b]
    assert seq.append(c) is seq and seq[2] is c
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert list(tail._modules) == ["1", "2"]  # slices keep the original names, as in PyTorch
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    seq[0] = nn.Identity()
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Identity", "Sigmoid"]
    x = autograd.tensor([-1.0, 2.0])
    np.testing.assert_allclose(nn.Sequential(nn.ReLU(), nn.Sigmoid())(x).data, 1 / (1 + np.exp(-np.array([0, 2.0]))))


def test_sequential_renumbers_after_delete_so_append_overwrites_nothing():
    a, b, c, d = nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Identity()
    seq = nn.Sequential(a, b, c)
    del seq[1]
    seq.append(d)
    assert list(seq._modules) == ["0", "1", "2"] and list(seq) == [a, c, d]


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert [name for name, _ in seq.named_children()] == ["conv", "act"]
    assert list(seq.state_dict()) == ["conv.weight", "conv.bias"]
    assert seq.conv is seq[0]


def test_module_list_registers_and_renumbers():
    layers = nn.ModuleList([nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 1)])
    layers.append(nn.Conv2d(1, 1, 1)).extend([nn.ReLU()])
    layers.insert(0, nn.Tanh())
    assert len(layers) == 5 and isinstance(layers[0], nn.Tanh)
    assert len(list(layers.parameters())) == 6
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3
    assert [name for name, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]


def test_module_dict():
    heads = nn.ModuleDict({"a": nn.Conv2d(1, 1, 1), "b": nn.ReLU()})
    heads["c"] = nn.Tanh()
    assert list(heads) == ["a", "b", "c"] and "a" in heads and len(heads) == 3
    assert [name for name, _ in heads.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(heads.pop("c"), nn.Tanh) and list(heads.keys()) == ["a", "b"]
    heads.update([("d", nn.Sigmoid())])
    assert [type(m).__name__ for m in heads.values()] == ["Conv2d", "ReLU", "Sigmoid"]
    copied = nn.ModuleDict(heads)
    copied.update(nn.ModuleDict({"e": nn.Tanh()}))
    assert list(copied) == ["a", "b", "d", "e"] and copied["a"] is heads["a"]


def test_parameter_list():
    params = nn.ParameterList([nn.Parameter(np.ones(2, np.float32)), autograd.zeros(3)])
    params.append(autograd.ones(1))
    assert len(params) == 3 and all(isinstance(p, nn.Parameter) for p in params)
    holder = nn.Module()
    holder.params = params
    assert [name for name, _ in holder.named_parameters()] == ["params.0", "params.1", "params.2"]
    assert "(1): Parameter containing: [float32 of size 3]" in repr(params)
    tail = params[1:]
    assert isinstance(tail, nn.ParameterList) and [p.shape for p in tail] == [(3,), (1,)] and tail[0] is params[1]
