"""Devices: Device, get_array_module, Tensor.to/cuda/cpu, Module.to, optimizers, checkpoints and the op registry
on the test device (``autograd.testing.device_array``), a numpy subclass that refuses host arrays as CuPy does."""

import sys
import types
import warnings

import numpy as np
import pytest

import autograd as ag
import autograd.cuda
import nn
import nn.functional as F
import optim
from autograd import device as _device
from autograd.device import Device, get_array_module, to_device
from autograd.function import Function
from autograd.opinfo import all_opinfos, unwrap_samples
from autograd.testing.device_array import DeviceArray, DeviceMixError, record_mixes, xp
from autograd.testing.parity import compare_op
from nn.models import resnet_digits
from test_versions import ExpSavingItsOutput, ScaleSavingInputArray

TEST = "test"


def host(tensor):
    return to_device(tensor.data, "cpu")


# ----------------------------------------------------------------------------- Device and the array module
def test_device_parses_compares_and_prints_like_torch():
    assert Device("cuda:1") == Device("cuda", 1) and Device("cuda:1").index == 1
    assert Device("cuda") != Device("cuda:0")
    assert Device("cpu") == "cpu" and Device("cpu").index is None
    assert str(Device("cuda:0")) == "cuda:0" and repr(Device("cpu")) == "device(type='cpu')"
    assert repr(Device("cuda", 2)) == "device(type='cuda', index=2)"
    assert Device(Device("cpu")) == Device("cpu") and hash(Device("cuda:0")) == hash(Device("cuda", 0))
    with pytest.raises(ValueError, match="device type"):
        Device("tpu")
    with pytest.raises(ValueError, match="invalid device index"):
        Device("cuda:x")
    with pytest.raises(ValueError, match="no device 1"):
        Device("cpu:1")


def test_get_array_module_follows_the_data():
    assert get_array_module(np.ones(2), 3.0) is np
    assert get_array_module() is np
    assert get_array_module(np.ones(2), xp.ones(2)) is xp
    assert get_array_module(ag.ones(2, device=TEST)) is xp
    assert get_array_module(ag.ones(2)) is np


def test_cuda_without_cupy_says_cupy_is_missing(monkeypatch, without_cuda_backend):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    assert not autograd.cuda.is_available() and autograd.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CuPy is not installed.*pip install cupy"):
        ag.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        nn.Linear(2, 2).cuda()
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        ag.zeros(2, device="cuda")


def test_cuda_without_a_gpu_says_the_gpu_is_missing(monkeypatch, without_cuda_backend):
    def no_driver():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.__version__ = "14.2.0"
    fake.ndarray = type("ndarray", (), {})
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert not autograd.cuda.is_available()
    with pytest.raises(RuntimeError, match="CuPy 14.2.0 is installed but no CUDA GPU can be used.*no CUDA-capable"):
        ag.ones(2).cuda()


def test_cpu_works_everywhere():
    x = ag.ones(2)
    assert x.device == "cpu" and x.to("cpu") is x and x.cpu() is x and not x.is_cuda
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.cpu() is model


# ----------------------------------------------------------------------------- the test device itself
def test_test_device_refuses_host_arrays_as_cupy_does():
    a, h = xp.arange(6.0).reshape(2, 3), np.ones(3)
    with pytest.raises(DeviceMixError, match="add: a host numpy array"):
        a + h
    with pytest.raises(DeviceMixError, match="concatenate"):
        np.concatenate([a, h[None]])
    with pytest.raises(DeviceMixError, match="getitem"):
        a[np.array([0, 1])]
    with pytest.raises(DeviceMixError, match="setitem"):
        a[0] = h
    with pytest.raises(DeviceMixError, match="maximum"):
        xp.maximum(a, h)
    assert type(a + 1) is DeviceArray and type(a[xp.asarray([1])]) is DeviceArray
    assert type(xp.asarray(h)) is DeviceArray  # an explicit copy is allowed


def test_test_device_mirrors_cupy_results():
    a = xp.arange(6.0).reshape(2, 3)
    total = a.sum()
    assert type(total) is DeviceArray and total.ndim == 0 and float(total) == 15.0  # 0-d, not a scalar
    assert type(a[1, 2]) is DeviceArray
    assert type(np.linalg.norm(a)) is DeviceArray
    assert a.flags.c_contiguous and not hasattr(a.flags, "writeable")
    assert type(a.get()) is np.ndarray and np.array_equal(a.get(), np.arange(6.0).reshape(2, 3))
    assert xp.ndarray is DeviceArray and xp.float32 is np.float32


def test_record_mixes_counts_by_site():
    a = xp.ones(3)
    with record_mixes() as mixes:
        for _ in range(2):
            a * np.ones(3)
    assert sum(mixes.values()) == 2 and len(mixes) == 1
    ((site, op),) = mixes
    assert op == "multiply" and site.endswith(f"test_device.py:{test_record_mixes_counts_by_site.__code__.co_firstlineno + 4}")


# ----------------------------------------------------------------------------- Tensor
def test_tensor_device_is_read_off_the_array():
    x = ag.tensor([1.0, 2.0])
    assert x.device == Device("cpu")
    x.data = xp.asarray(x.data)
    assert x.device == Device("test", 0)  # never stored: it follows the array


def test_to_moves_casts_and_is_differentiable():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to(TEST)
    assert y.device == "test:0" and type(y.data) is DeviceArray and y.grad_fn is not None
    assert y.to(TEST) is y
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and np.allclose(x.grad.numpy(), [2, 4, 6])  # the gradient moved back
    both = x.to(TEST, ag.float64)
    assert both.device == "test:0" and both.dtype == np.float64
    assert x.to(ag.float64).dtype == np.float64 and x.to(dtype=ag.float16).dtype == np.float16
    assert x.to(ag.zeros(1, dtype=ag.float64, device=TEST)).dtype == np.float64
    assert y.cpu().device == "cpu" and type(y.cpu().data) is np.ndarray


def test_move_has_a_second_derivative():
    x = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    (g,) = ag.grad((x.to(TEST) ** 3).sum(), [x], create_graph=True)
    assert g.device == "cpu"
    g.sum().backward()
    assert np.allclose(x.grad.numpy(), [6.0, 12.0])


def test_move_there_and_back_passes_gradcheck_and_gradgradcheck():
    x = ag.tensor(np.random.default_rng(0).uniform(0.5, 2.0, 4), dtype=ag.float64, requires_grad=True)

    def moved_cube(t):  # ToDevice both ways, with an op on the device between
        return (t.to(TEST) ** 3).cpu()

    assert ag.gradcheck(moved_cube, (x,)) and ag.gradgradcheck(moved_cube, (x,))


def test_comparisons_and_logical_ops_stay_on_the_device():
    x = ag.tensor([0.0, 1.0, float("nan")], device=TEST)
    for result in (x == 1, x < 1, ag.isnan(x), ag.isfinite(x), ag.logical_and(x, x), ag.logical_not(x)):
        assert type(result.data) is DeviceArray, result


def test_numpy_of_a_device_tensor_says_to_call_cpu():
    with pytest.raises(TypeError, match=r"Use Tensor.cpu\(\)"):
        ag.ones(2, device=TEST).numpy()
    assert type(ag.ones(2, device=TEST).cpu().numpy()) is np.ndarray


@pytest.mark.parametrize("make", [
    lambda d: ag.tensor([1.0, 2.0], device=d), lambda d: ag.zeros(2, 3, device=d), lambda d: ag.ones(2, device=d),
    lambda d: ag.full((2,), 3.0, device=d), lambda d: ag.empty(2, device=d), lambda d: ag.arange(4, device=d),
    lambda d: ag.eye(2, device=d), lambda d: ag.randint(5, size=(3,), device=d),
    lambda d: ag.linspace(-1, 1, 5, device=d),
], ids=["tensor", "zeros", "ones", "full", "empty", "arange", "eye", "randint", "linspace"])
def test_factories_take_a_device(make):
    t = make(TEST)
    assert type(t.data) is DeviceArray
    reference = make(None)
    assert t.shape == reference.shape and t.dtype == reference.dtype


def test_random_factories_give_the_cpu_values_on_a_device():
    for make in (ag.rand, ag.randn):
        ag.manual_seed(3)
        on_device = make(2, 3, device=TEST)
        ag.manual_seed(3)
        assert type(on_device.data) is DeviceArray and np.array_equal(host(on_device), make(2, 3).numpy())


def test_like_factories_follow_the_tensor():
    z = ag.ones(2, device=TEST)
    for like in (ag.zeros_like, ag.ones_like, ag.empty_like, ag.rand_like, ag.randn_like):
        assert like(z).device == "test:0" and like(z, device="cpu").device == "cpu"
    assert ag.full_like(z, 7.0).device == "test:0"


_device_getitem = DeviceArray.__getitem__


def _wrapping_getitem(self, key):
    """CuPy's indexing by an integer array: out-of-range indices wrap around instead of raising."""
    if isinstance(key, DeviceArray) and key.dtype.kind in "iu":
        return _device_getitem(self, key % self.shape[0])
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], DeviceArray):
        return _device_getitem(self, (key[0], key[1] % self.shape[1]))
    return _device_getitem(self, key)


def test_out_of_range_index_arrays_raise_on_a_device_that_wraps_them(monkeypatch):
    x = ag.arange(6.0, device=TEST).reshape(2, 3)
    monkeypatch.setattr(DeviceArray, "__getitem__", _wrapping_getitem)
    assert host(x[..., xp.asarray([2, -3])]).tolist() == [[2.0, 0.0], [5.0, 3.0]]  # in range: read as on the CPU
    with pytest.raises(IndexError, match=r"index: index 3 is out of bounds for axis 1 with size 3 \(tensor of "
                                         r"shape \(2, 3\)\)"):
        x[:, [0, 3]]  # a list, moved to the device, then checked: wrapped, it would read column 0
    with pytest.raises(IndexError, match="index -3 is out of bounds for axis 0 with size 2"):
        x[xp.asarray([-3])]
    with pytest.raises(IndexError, match="index 2 is out of bounds for axis 0 with size 2"):
        x[ag.tensor([1, 2], device=TEST)] = 0.0
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        ag.arange(6.0).reshape(2, 3)[[5]]  # the CPU's numpy error, in the same words


def test_mixing_devices_names_the_op_and_both_devices():
    with pytest.raises(RuntimeError, match="Add: expected all tensors to be on the same device.*cpu and test:0"):
        ag.ones(2) + ag.ones(2, device=TEST)
    with pytest.raises(RuntimeError, match="Mul: .*test:0 and cpu"):
        ag.ones(2, device=TEST) * ag.ones(2)


@pytest.mark.parametrize("grad_enabled", [True, False], ids=["recorded", "no_grad"])
def test_mixing_devices_in_any_op_names_the_op_and_both_devices(grad_enabled):
    with ag.set_grad_enabled(grad_enabled):
        with pytest.raises(RuntimeError, match="Matmul: expected all tensors to be on the same device.*cpu and"):
            ag.matmul(ag.ones(2, 2, requires_grad=True), ag.ones(2, 2, device=TEST))
        with pytest.raises(RuntimeError, match="Cat: .*cpu and test:0"):
            ag.cat([ag.ones(2), ag.ones(2, device=TEST)])  # tensors inside a list are looked at too
        with pytest.raises(RuntimeError, match="Gather: .*test:0 and cpu"):
            ag.ones(3, device=TEST).gather(0, np.array([0, 1]))
        with pytest.raises(RuntimeError, match="logical_and: expected all tensors to be on the same device.*cpu"):
            ag.logical_and(ag.ones(2), ag.ones(2, device=TEST))  # ops without a Function say it too
        with pytest.raises(RuntimeError, match="isclose: .*test:0 and cpu"):
            ag.isclose(ag.ones(2, device=TEST), ag.ones(2))


def test_a_type_error_on_one_device_stays_a_type_error():
    class Refuses(Function):
        @staticmethod
        def forward(ctx, x):
            raise TypeError("not a device mix")

    with pytest.raises(TypeError, match="not a device mix"):
        Refuses.apply(ag.ones(2, device=TEST, requires_grad=True))


def _output_changed(device):
    x = ag.tensor([0.0, 1.0], device=device, requires_grad=True)
    y = ExpSavingItsOutput.apply(x)
    with ag.no_grad():
        y.mul_(2)
    return y.sum()


def _input_array_changed(device):
    x, scale = ag.tensor([1.0, 2.0], device=device), ag.tensor(3.0, device=device, requires_grad=True)
    y = ScaleSavingInputArray.apply(x, scale)
    x.add_(1)
    return y.sum()


def _saved_tensor_changed(device):
    x = ag.tensor([1.0, 2.0], device=device, requires_grad=True)
    a = x * 1
    y = a.exp()  # saves the tensor a
    with ag.no_grad():
        a.add_(1)
    return y.sum()


@pytest.mark.parametrize("make", [_output_changed, _input_array_changed, _saved_tensor_changed],
                         ids=["saved output array", "saved input array", "saved tensor"])
def test_in_place_change_of_a_saved_device_tensor_is_caught_as_on_the_cpu(make):
    errors = []
    for device in ("cpu", TEST):
        loss = make(device)
        with pytest.raises(RuntimeError, match="modified by an in-place operation") as error:
            loss.backward()
        errors.append(str(error.value))
    assert errors[0] == errors[1]


# ----------------------------------------------------------------------------- modules, optimizers, checkpoints
def test_module_to_moves_parameters_gradients_and_buffers_in_place():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(model.parameters())
    model(ag.randn(5, 3)).sum().backward()
    assert model.to(TEST) is model
    assert list(model.parameters()) == params  # the same objects
    for tensor in [*model.parameters(), *(p.grad for p in model.parameters()), *model.buffers()]:
        assert type(tensor.data) is DeviceArray
    assert model[1].num_batches_tracked.dtype == np.int64
    model.cpu()
    assert all(type(p.data) is np.ndarray for p in model.parameters())


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True), lambda p: optim.AdamW(p, lr=0.01),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True), lambda p: optim.Adagrad(p, lr=0.1),
    lambda p: optim.Adamax(p), lambda p: optim.NAdam(p), lambda p: optim.RAdam(p), lambda p: optim.Adadelta(p),
    lambda p: optim.ASGD(p),
], ids=["sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "radam", "adadelta", "asgd"])
def test_optimizer_made_before_the_move_steps_on_the_device_as_on_the_cpu(make):
    results = []
    for device in ("cpu", TEST):
        ag.manual_seed(0)
        model = nn.Linear(3, 2)
        optimizer = make(model.parameters())  # before the move: it must follow the same Parameter objects
        model.to(device)
        x = ag.randn(4, 3, device=device)
        for _ in range(3):
            optimizer.zero_grad()
            (model(x) ** 2).sum().backward()
            optimizer.step()
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, ag.Tensor) and value.ndim:
                    assert _device.is_on(value.data, device), f"state on {value.device}, parameter on {device}"
        results.append([host(p) for p in model.parameters()])
    for cpu, dev in zip(*results):
        assert type(dev) is np.ndarray and np.allclose(cpu, dev, rtol=1e-6, atol=1e-7)


def test_optimizer_state_loads_onto_the_parameters_device():
    model = nn.Linear(2, 2)
    optimizer = optim.Adam(model.parameters())
    model(ag.randn(3, 2)).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    model.to(TEST)
    fresh = optim.Adam(model.parameters())
    fresh.load_state_dict(saved)
    assert all(type(state["exp_avg"].data) is DeviceArray for state in fresh.state.values())


def test_checkpoints_save_from_a_device_and_load_to_the_cpu(tmp_path):
    model = nn.Linear(2, 3).to(TEST)
    path = tmp_path / "model.gl"
    ag.save(model.state_dict(), path)
    loaded = ag.load(path)
    assert all(type(value.data) is np.ndarray for value in loaded.values())
    assert np.array_equal(loaded["weight"].numpy(), host(model.weight))
    on_device = ag.load(path, map_location=TEST)
    assert all(type(value.data) is DeviceArray for value in on_device.values())
    assert all(type(value.data) is np.ndarray for value in ag.load(path, map_location="cpu").values())


# ----------------------------------------------------------------------------- the op registry and a training step
# Every op of the registry, forward and backward: a host array beside device data raises there (DeviceMixError).
CASES = [(info, name, sample) for info in all_opinfos() for name, sample in unwrap_samples(info)]


@pytest.mark.parametrize("info, name, sample", CASES, ids=[name for _, name, _ in CASES])
def test_registry_op_on_the_test_device_equals_the_cpu(info, name, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the samples of log, pow... reach their edges on purpose
        problems = compare_op(info, sample, TEST)
    assert problems == []


def _digits_step(device):
    ag.manual_seed(0)
    model = resnet_digits()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    model.to(device)
    ag.manual_seed(1)
    x, y = ag.randn(8, 1, 8, 8, device=device), ag.randint(10, size=(8,), device=device)
    losses = []
    for _ in range(2):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def test_resnet_digits_trains_on_the_test_device_without_host_arrays():
    cpu_model, cpu_losses = _digits_step("cpu")
    with record_mixes() as mixes:
        model, losses = _digits_step(TEST)
    assert dict(mixes) == {}
    assert np.allclose(losses, cpu_losses, rtol=1e-5)
    for (name, param), cpu_param in zip(model.named_parameters(), cpu_model.parameters()):
        assert type(param.data) is DeviceArray and type(param.grad.data) is DeviceArray, name
        assert np.allclose(host(param), cpu_param.detach().numpy(), rtol=1e-4, atol=1e-6), name
    assert all(type(buffer.data) is DeviceArray for buffer in model.buffers())


# ----------------------------------------------------------------------------- copy_, the command line, the graph view
def test_copy_into_a_device_tensor_moves_the_source():
    target = ag.zeros(3, device=TEST)
    target.copy_(ag.tensor([1.0, 2.0, 3.0]))
    assert type(target.data) is DeviceArray and np.array_equal(host(target), [1, 2, 3])
    model = nn.Linear(2, 2).to(TEST)
    model.load_state_dict(nn.Linear(2, 2).state_dict())  # a CPU checkpoint into a model on the device
    assert type(model.weight.data) is DeviceArray


def test_train_command_takes_a_device(tmp_path, capsys):
    from gradlab.cli import main

    assert main(["train", "--device", TEST, "--limit", "32", "--epochs", "1", "--batch-size", "16",
                 "--out", str(tmp_path / "run")]) == 0
    with pytest.raises(SystemExit) as usage:
        main(["train", "--device", "cuda:x", "--limit", "8", "--epochs", "1", "--out", str(tmp_path / "bad")])
    assert usage.value.code == 2 and "invalid device index" in capsys.readouterr().err


def test_graph_view_shows_the_device_off_the_cpu():
    viz = pytest.importorskip("viz")
    on_device = viz.draw_model(nn.Linear(3, 2).to(TEST), ag.randn(4, 3, device=TEST))
    assert {node.device for node in on_device.graph.nodes if node.kind != "output"} == {"test:0"}
    assert "test:0" in on_device.source
    on_cpu = viz.draw_model(nn.Linear(3, 2), ag.randn(4, 3))
    assert {node.device for node in on_cpu.graph.nodes} == {None}


def test_gpu_check_runs_on_the_test_device(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).parent.parent / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    out = tmp_path / "gpu_check.json"
    report = gpu_check.main(["--device", TEST, "--quick", "--out", str(out)])
    assert json.loads(out.read_text())["resnet20_step_parity"] == report["resnet20_step_parity"]
    assert report["resnet20_step_parity"]["loss_ok"] and report["resnet20_step_parity"]["gradients_ok"]
    parity = report["registry_parity"]
    assert parity["checked"] == len(CASES) and parity["skipped_for_time"] == 0
    assert not parity["failures"]
    assert isinstance(report["step_time_ms"]["batch_4"]["gradlab_test"], float)
