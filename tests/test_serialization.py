"""autograd.save / autograd.load: round trips, the safetensors layout, PyTorch interchange, legacy .npz
checkpoints, and refusing files that are not safe checkpoints."""

import json
import math
import pickle

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import autograd
import nn
from autograd import Tensor
from autograd.serialization import LEGACY_METADATA_KEY, METADATA_KEY
from legacy_checkpoint import write_legacy


def _small_model():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))


def _header(path):
    with safetensors.safe_open(str(path), framework="numpy") as file:
        return list(file.keys()), file.metadata()


def _write_safetensors(path, tensors, root, version=2):
    """A safetensors file with hand-made gradlab metadata."""
    document = {"format": "gradlab-checkpoint", "version": version, "root": root}
    path.write_bytes(safetensors.numpy.save(tensors, metadata={METADATA_KEY: json.dumps(document)}))


def test_model_round_trip_gives_identical_outputs(tmp_path):
    model = _small_model()
    model(autograd.randn(4, 2, 5, 5))  # move the batch-norm running statistics away from their defaults
    model.eval()
    x = autograd.randn(2, 2, 5, 5)
    path = tmp_path / "model.ckpt"
    autograd.save(model.state_dict(), path)
    assert path.exists() and list(tmp_path.iterdir()) == [path]  # the name is used as given, no temporary left

    restored = _small_model()
    restored.load_state_dict(autograd.load(path))
    restored.eval()
    np.testing.assert_array_equal(restored(x).data, model(x).data)
    loaded = autograd.load(path)
    assert list(loaded) == list(model.state_dict())
    assert loaded["1.num_batches_tracked"].dtype == np.int64 and int(loaded["1.num_batches_tracked"]) == 1
    loaded["0.weight"].data += 1  # loaded tensors are writable copies, not views of the file
    np.testing.assert_array_equal(autograd.load(path)["0.weight"].data, model.state_dict()["0.weight"].data)


def test_a_state_dict_is_a_plain_safetensors_file_named_by_its_keys(tmp_path):
    state = _small_model().state_dict()
    autograd.save(state, tmp_path / "m.safetensors")
    names, metadata = _header(tmp_path / "m.safetensors")
    assert sorted(names) == sorted(state)
    document = json.loads(metadata[METADATA_KEY])
    assert document["format"] == "gradlab-checkpoint" and document["version"] == 2
    tensors = safetensors.numpy.load_file(str(tmp_path / "m.safetensors"))
    for key, value in state.items():
        np.testing.assert_array_equal(tensors[key], value.data)


def test_nested_tensors_are_named_by_their_dotted_path_and_names_stay_unique(tmp_path):
    obj = {"model": {"conv1.weight": autograd.ones(2)}, "optimizer": {"state": {0: {"momentum_buffer": np.ones(3)}}},
           "model.conv1.weight": np.zeros(1), "__metadata__": np.zeros(2), "list": [np.int64(4)]}
    autograd.save(obj, tmp_path / "nested")
    names, _ = _header(tmp_path / "nested")
    assert sorted(names) == sorted(["model.conv1.weight", "optimizer.state.0.momentum_buffer",
                                    "model.conv1.weight~1", "__metadata__~1", "list.0"])
    loaded = autograd.load(tmp_path / "nested")
    assert loaded["model.conv1.weight"].shape == (1,) and loaded["__metadata__"].shape == (2,)
    assert loaded["model"]["conv1.weight"].shape == (2,) and loaded["list"] == [4]
    autograd.save(autograd.arange(3), tmp_path / "bare")
    assert _header(tmp_path / "bare")[0] == ["tensor"]
    np.testing.assert_array_equal(autograd.load(tmp_path / "bare").data, [0, 1, 2])


def test_float64_model_round_trip_keeps_dtype(tmp_path):
    model = _small_model().double()
    autograd.save(model.state_dict(), tmp_path / "m")
    state = autograd.load(tmp_path / "m")
    assert state["0.weight"].dtype == np.float64 and state["1.running_var"].dtype == np.float64


def test_nested_structures_and_every_supported_type_round_trip(tmp_path):
    weight = autograd.randn(2, 3, dtype=autograd.float64, requires_grad=True)
    obj = {
        "state": {0: {"step": 3, "exp_avg": autograd.zeros(2)}, 1: {"step": 3, "exp_avg": autograd.ones(1)}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False, "name": None}],
        "weight": weight,
        "arrays": [np.arange(4, dtype=np.int32), np.array([True, False]), np.zeros((2, 0), np.float16),
                   np.array([1 + 2j], np.complex64), np.array(2.5), np.arange(6, dtype=np.uint16).reshape(2, 3).T,
                   np.array([2**63 + 1], np.uint64), np.array([-7], np.int8)],
        "scalars": (np.float32(1.5), np.int64(7), np.bool_(True)),
        "numbers": [1.0, float("inf"), -0.0, 2**70, "text"],
        "rng": np.random.default_rng(3).bit_generator.state,
        (1, "a"): "tuple key",
        2.5: "float key",
    }
    path = tmp_path / "everything"
    autograd.save(obj, path)
    loaded = autograd.load(path)
    assert list(loaded) == list(obj)
    assert isinstance(loaded["weight"], Tensor) and loaded["weight"].requires_grad
    assert loaded["weight"].dtype == np.float64
    np.testing.assert_array_equal(loaded["weight"].data, weight.data)
    assert loaded["param_groups"] == obj["param_groups"]
    assert isinstance(loaded["param_groups"][0]["betas"], tuple)
    assert loaded["state"][1]["step"] == 3 and isinstance(loaded["state"][0]["exp_avg"], Tensor)
    assert not loaded["state"][0]["exp_avg"].requires_grad
    for got, want in zip(loaded["arrays"], obj["arrays"]):
        assert type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)  # the transposed (non-contiguous) array keeps its values
    assert type(loaded["scalars"][0]) is np.float32 and loaded["scalars"][0] == 1.5
    assert type(loaded["scalars"][1]) is np.int64 and type(loaded["scalars"][2]) is np.bool_
    assert loaded["numbers"][:2] == [1.0, math.inf] and loaded["numbers"][3:] == [2**70, "text"]
    assert math.copysign(1, loaded["numbers"][2]) == -1
    assert loaded["rng"] == obj["rng"]
    assert loaded[(1, "a")] == "tuple key" and loaded[2.5] == "float key"


def test_big_endian_arrays_come_back_in_native_order(tmp_path):
    autograd.save({"x": np.array([1.5, -2.0], ">f4")}, tmp_path / "be")
    loaded = autograd.load(tmp_path / "be")["x"]
    assert loaded.dtype == np.dtype("=f4") and loaded.tolist() == [1.5, -2.0]


def test_nan_survives(tmp_path):
    autograd.save({"x": float("nan")}, tmp_path / "nan")
    assert math.isnan(autograd.load(tmp_path / "nan")["x"])


def test_unsupported_values_are_rejected_at_save_with_their_location(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\]\[1\] of type set"):
        autograd.save({"model": [1, {2}]}, tmp_path / "bad")
    with pytest.raises(TypeError, match=r"obj\['a'\] is an array of dtype object.*Python objects and strings"):
        autograd.save({"a": np.array([object()])}, tmp_path / "bad")
    with pytest.raises(TypeError, match=r"obj\['names'\]\[0\] is an array of dtype <U2"):
        autograd.save({"names": [np.array(["ab", "c"])]}, tmp_path / "bad")
    with pytest.raises(TypeError, match=r"obj\['z'\] is an array of dtype complex128"):
        autograd.save({"z": np.array([1j])}, tmp_path / "bad")
    with pytest.raises(TypeError, match="dict key"):
        autograd.save({autograd.ones(1): 1}, tmp_path / "bad")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- PyTorch interchange
def _torch_lenet(torch):
    class LeNet5(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c3, self.c5 = torch.nn.Conv2d(1, 6, 5), torch.nn.Conv2d(6, 16, 5), torch.nn.Conv2d(16, 120, 5)
            self.f6, self.output = torch.nn.Linear(120, 84), torch.nn.Linear(84, 10)

        def forward(self, x):
            relu, pool = torch.nn.functional.relu, torch.nn.functional.max_pool2d
            x = pool(relu(self.c1(x)), 2)
            x = pool(relu(self.c3(x)), 2)
            return self.output(relu(self.f6(relu(self.c5(x)).flatten(1))))

    return LeNet5()


def _torch_resnet_digits(torch):
    """torchvision's BasicBlock layout with gradlab's resnet_digits stages (16 then 32 channels)."""
    tnn = torch.nn

    class BasicBlock(tnn.Module):
        def __init__(self, inplanes, planes, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = None if stride == 1 and inplanes == planes else tnn.Sequential(
                tnn.Conv2d(inplanes, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = tnn.Conv2d(1, 16, 3, 1, 1, bias=False), tnn.BatchNorm2d(16)
            self.layer1, self.layer2 = tnn.Sequential(BasicBlock(16, 16, 1)), tnn.Sequential(BasicBlock(16, 32, 2))
            self.fc = tnn.Linear(32, 10)

        def forward(self, x):
            x = self.layer2(self.layer1(torch.relu(self.bn1(self.conv1(x)))))
            return self.fc(x.mean((2, 3)))

    return Net()


@pytest.mark.parametrize("size, gradlab_model, torch_model", [
    (32, nn.models.LeNet5, _torch_lenet), (8, nn.models.resnet_digits, _torch_resnet_digits)])
def test_a_gradlab_state_dict_loads_into_pytorch(tmp_path, size, gradlab_model, torch_model):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    model = gradlab_model()
    model(autograd.randn(4, 1, size, size))  # batch norm statistics away from their defaults
    model.eval()
    autograd.save(model.state_dict(), tmp_path / "gradlab.safetensors")
    twin = torch_model(torch)
    twin.load_state_dict(safetensors.torch.load_file(str(tmp_path / "gradlab.safetensors")), strict=True)
    twin.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, size, size)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), model(autograd.tensor(x)).data,
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size, gradlab_model, torch_model", [
    (32, nn.models.LeNet5, _torch_lenet), (8, nn.models.resnet_digits, _torch_resnet_digits)])
def test_a_pytorch_safetensors_file_loads_into_gradlab(tmp_path, size, gradlab_model, torch_model):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    twin = torch_model(torch)
    twin(torch.randn(4, 1, size, size))
    twin.eval()
    safetensors.torch.save_file(twin.state_dict(), str(tmp_path / "torch.safetensors"), metadata={"format": "pt"})
    state = autograd.load(tmp_path / "torch.safetensors")
    assert all(isinstance(value, Tensor) and not value.requires_grad for value in state.values())
    assert all(state[key].dtype == np.int64 for key in state if key.endswith("num_batches_tracked"))
    model = gradlab_model()
    model.load_state_dict(state, strict=True)
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, size, size)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(model(autograd.tensor(x)).data, twin(torch.from_numpy(x)).numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_a_pytorch_tensor_that_numpy_cannot_hold_is_named(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"weight": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(ValueError, match=f"{path}: tensor 'weight' has dtype BF16, which numpy cannot represent"):
        autograd.load(path)


# ----------------------------------------------------------------------------- refusals
def test_pickle_is_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weight": np.ones(2)}))
    with pytest.raises(ValueError, match="pickle"):
        autograd.load(path)


def test_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.ones(2)}, path)
    with pytest.raises(ValueError, match="not a gradlab checkpoint.*torch.save"):
        autograd.load(path)


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_truncated_checkpoint_gives_a_clear_error(tmp_path, cut):
    path = tmp_path / "full"
    autograd.save({"w": autograd.randn(64, 64)}, path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated"
    truncated.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(RuntimeError, match=f"{truncated}: corrupt or truncated checkpoint"):
        autograd.load(truncated)


def test_other_files_are_not_checkpoints(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=f"{text}: not a gradlab checkpoint"):
        autograd.load(text)
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(ValueError, match="single .npy array"):
        autograd.load(npy)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(3))
    with pytest.raises(ValueError, match=f"no {LEGACY_METADATA_KEY} entry"):
        autograd.load(plain)
    other = tmp_path / "other.safetensors"
    other.write_bytes(safetensors.numpy.save({"x": np.ones(1)}, metadata={METADATA_KEY: json.dumps({"format": 1})}))
    with pytest.raises(ValueError, match=f"{other}: not a gradlab checkpoint .*no 'gradlab-checkpoint' marker"):
        autograd.load(other)
    with pytest.raises(FileNotFoundError):
        autograd.load(tmp_path / "missing")


def test_checkpoint_from_a_newer_version_is_refused(tmp_path):
    _write_safetensors(tmp_path / "future", {}, 1, version=99)
    with pytest.raises(ValueError, match="version 99 is newer"):
        autograd.load(tmp_path / "future")


def test_metadata_that_does_not_match_the_tensors_is_refused(tmp_path):
    path = tmp_path / "forged"
    _write_safetensors(path, {"w": np.ones(2, np.float32)}, {"type": "ndarray", "key": "w", "dtype": "<f8",
                                                              "shape": [3]})
    with pytest.raises(ValueError, match="the metadata says <f8 and \\[3\\]"):
        autograd.load(path)


def test_a_tensor_referenced_twice_is_refused(tmp_path):
    """Otherwise a small file could make load allocate its largest tensor any number of times."""
    node = {"type": "ndarray", "key": "w", "dtype": "<f4", "shape": [2]}
    _write_safetensors(tmp_path / "twice", {"w": np.ones(2, np.float32)}, {"type": "list", "items": [node, node]})
    with pytest.raises(ValueError, match="tensor 'w' is referenced twice"):
        autograd.load(tmp_path / "twice")


@pytest.mark.parametrize("root", [{"type": "dict"}, {"type": "dict", "items": [[1]]}, {"type": "ndarray", "key": [0]},
                                  {"type": "list", "items": 3}, {"type": "ndarray", "key": "absent"},
                                  {"type": "tensor", "key": "i", "dtype": "<i8", "shape": [1], "requires_grad": True},
                                  {"type": "numpy_scalar", "key": "i", "dtype": "<i8", "shape": [1]},
                                  {"type": "dict", "items": [[[1], 2]]}, {"type": "set"}])
def test_malformed_metadata_structures_give_a_clear_value_error(tmp_path, root):
    path = tmp_path / "forged"
    _write_safetensors(path, {"i": np.ones(1, np.int64)}, root)
    with pytest.raises(ValueError, match=f"{path}: malformed checkpoint"):
        autograd.load(path)


def test_metadata_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "forged"
    path.write_bytes(safetensors.numpy.save({}, metadata={METADATA_KEY: "{not json"}))
    with pytest.raises(ValueError, match=f"{path}: malformed checkpoint metadata"):
        autograd.load(path)
    path.write_bytes(safetensors.numpy.save({}, metadata={METADATA_KEY: "[" * 100_000}))
    with pytest.raises(ValueError, match=f"{path}: malformed checkpoint metadata"):
        autograd.load(path)


# ----------------------------------------------------------------------------- legacy .npz checkpoints
def test_a_legacy_npz_checkpoint_still_loads(tmp_path):
    path = tmp_path / "checkpoint.npz"
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    root = {"type": "dict", "items": [
        ["model", {"type": "dict", "items": [["w", {"type": "tensor", "key": "a0", "dtype": "<f4", "shape": [2, 3],
                                                    "requires_grad": False}]]}],
        ["epoch", 3], ["order", {"type": "ndarray", "key": "a1", "dtype": ">i2", "shape": [2, 2]}]]}
    write_legacy(path, {"a0": weight, "a1": np.asfortranarray(np.array([[1, 2], [3, 4]], ">i2"))}, root)
    loaded = autograd.load(path)
    assert loaded["epoch"] == 3 and isinstance(loaded["model"]["w"], Tensor)
    np.testing.assert_array_equal(loaded["model"]["w"].data, weight)
    np.testing.assert_array_equal(loaded["order"], [[1, 2], [3, 4]])
    # Saving again converts it.
    autograd.save(loaded, path)
    assert path.read_bytes()[8:9] == b"{" and autograd.load(path)["epoch"] == 3


def test_legacy_npz_with_pickled_object_arrays_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    write_legacy(path, {"a0": np.array([{"x": 1}], dtype=object)}, {"type": "ndarray", "key": "a0", "dtype": "|O",
                                                                      "shape": [1]})
    with pytest.raises(ValueError, match="pickled Python objects"):
        autograd.load(path)


def test_legacy_members_that_the_metadata_does_not_reference_are_never_read(tmp_path):
    path = tmp_path / "extra.npz"
    write_legacy(path, {"a0": np.ones(2), "stowaway": np.array([{"x": 1}], dtype=object)},
                  {"type": "ndarray", "key": "a0", "dtype": "<f8", "shape": [2]})
    np.testing.assert_array_equal(autograd.load(path), [1.0, 1.0])


def test_legacy_compressed_members_are_refused(tmp_path):
    path = tmp_path / "compressed.npz"
    write_legacy(path, {"a0": np.ones(2)}, None, compress=True)
    with pytest.raises(ValueError, match=f"{path}: entry __gradlab__.npy is compressed"):
        autograd.load(path)


def test_legacy_checkpoint_with_a_newer_version_in_an_npz_is_refused(tmp_path):
    write_legacy(tmp_path / "future.npz", {}, 1, version=99)
    with pytest.raises(ValueError, match="version 99 is newer"):
        autograd.load(tmp_path / "future.npz")
    write_legacy(tmp_path / "mixed.npz", {}, 1, version=2)
    with pytest.raises(ValueError, match="malformed checkpoint metadata: format version 2 in a file of version 1"):
        autograd.load(tmp_path / "mixed.npz")


def test_resuming_from_a_model_and_optimizer_checkpoint_continues_identically(tmp_path):
    optim = pytest.importorskip("optim")
    x, y = autograd.randn(8, 3), autograd.randn(8, 2)

    def step(model, optimizer):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    model = nn.Linear(3, 2)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    step(model, optimizer)
    autograd.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1}, tmp_path / "ck")
    step(model, optimizer)

    checkpoint = autograd.load(tmp_path / "ck")
    assert sorted(_header(tmp_path / "ck")[0]) == ["model.bias", "model.weight", "optimizer.state.0.exp_avg",
                                                   "optimizer.state.0.exp_avg_sq", "optimizer.state.1.exp_avg",
                                                   "optimizer.state.1.exp_avg_sq"]
    resumed = nn.Linear(3, 2)
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer = optim.Adam(resumed.parameters(), lr=0.01)
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    step(resumed, resumed_optimizer)
    assert checkpoint["epoch"] == 1
    np.testing.assert_array_equal(resumed.weight.data, model.weight.data)
    np.testing.assert_array_equal(resumed.bias.data, model.bias.data)
