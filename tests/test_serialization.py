"""autograd.save / autograd.load: round trips, dtypes, and refusing files that are not safe checkpoints."""

import json
import math
import pickle

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor
from autograd.serialization import METADATA_KEY


def _small_model():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))


def test_model_round_trip_gives_identical_outputs(tmp_path):
    model = _small_model()
    model(autograd.randn(4, 2, 5, 5))  # move the batch-norm running statistics away from their defaults
    model.eval()
    x = autograd.randn(2, 2, 5, 5)
    path = tmp_path / "model.ckpt"
    autograd.save(model.state_dict(), path)
    assert path.exists() and not (tmp_path / "model.ckpt.npz").exists()  # the name is used as given

    restored = _small_model()
    restored.load_state_dict(autograd.load(path))
    restored.eval()
    np.testing.assert_array_equal(restored(x).data, model(x).data)
    loaded = autograd.load(path)
    assert list(loaded) == list(model.state_dict())
    assert loaded["1.num_batches_tracked"].dtype == np.int64 and int(loaded["1.num_batches_tracked"]) == 1


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
                   np.array([1 + 2j], np.complex128), np.array(["ab", "c"])],
        "scalars": (np.float32(1.5), np.int64(7)),
        "numbers": [1.0, float("inf"), -0.0, 2**70, "text"],
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
    for got, want in zip(loaded["arrays"], obj["arrays"]):
        assert type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert type(loaded["scalars"][0]) is np.float32 and loaded["scalars"][0] == 1.5
    assert type(loaded["scalars"][1]) is np.int64
    assert loaded["numbers"][:2] == [1.0, math.inf] and loaded["numbers"][3:] == [2**70, "text"]
    assert math.copysign(1, loaded["numbers"][2]) == -1
    assert loaded[(1, "a")] == "tuple key" and loaded[2.5] == "float key"


def test_nan_survives(tmp_path):
    autograd.save({"x": float("nan")}, tmp_path / "nan")
    assert math.isnan(autograd.load(tmp_path / "nan")["x"])


def test_unsupported_values_are_rejected_at_save_with_their_location(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\]\[1\] of type set"):
        autograd.save({"model": [1, {2}]}, tmp_path / "bad")
    with pytest.raises(TypeError, match="array of Python objects"):
        autograd.save({"a": np.array([object()])}, tmp_path / "bad")
    with pytest.raises(TypeError, match="dict key"):
        autograd.save({autograd.ones(1): 1}, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_pickle_is_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weight": np.ones(2)}))
    with pytest.raises(ValueError, match="pickle"):
        autograd.load(path)


def test_npz_with_pickled_object_arrays_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    metadata = json.dumps({"format": "gradlab-checkpoint", "version": 1, "root": None}).encode()
    with open(path, "wb") as file:
        np.savez(file, a0=np.array([{"x": 1}], dtype=object), **{METADATA_KEY: np.frombuffer(metadata, np.uint8)})
    with pytest.raises(ValueError, match="pickled Python objects"):
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
    with pytest.raises(ValueError, match=f"no {METADATA_KEY} entry"):
        autograd.load(plain)


def test_checkpoint_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "future"
    metadata = json.dumps({"format": "gradlab-checkpoint", "version": 99, "root": 1}).encode()
    with open(path, "wb") as file:
        np.savez(file, **{METADATA_KEY: np.frombuffer(metadata, np.uint8)})
    with pytest.raises(ValueError, match="version 99 is newer"):
        autograd.load(path)


def test_metadata_that_does_not_match_the_arrays_is_refused(tmp_path):
    path = tmp_path / "forged"
    root = {"type": "ndarray", "key": "a0", "dtype": "<f8", "shape": [3]}
    metadata = json.dumps({"format": "gradlab-checkpoint", "version": 1, "root": root}).encode()
    with open(path, "wb") as file:
        np.savez(file, a0=np.ones(2, np.float32), **{METADATA_KEY: np.frombuffer(metadata, np.uint8)})
    with pytest.raises(ValueError, match="the metadata says <f8 and \\[3\\]"):
        autograd.load(path)


@pytest.mark.parametrize("root", [{"type": "dict"}, {"type": "dict", "items": [[1]]}, {"type": "ndarray", "key": [0]},
                                  {"type": "list", "items": 3}])
def test_malformed_metadata_structures_give_a_clear_value_error(tmp_path, root):
    path = tmp_path / "forged"
    metadata = json.dumps({"format": "gradlab-checkpoint", "version": 1, "root": root}).encode()
    with open(path, "wb") as file:
        np.savez(file, **{METADATA_KEY: np.frombuffer(metadata, np.uint8)})
    with pytest.raises(ValueError, match=f"{path}: malformed checkpoint metadata"):
        autograd.load(path)


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
    resumed = nn.Linear(3, 2)
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer = optim.Adam(resumed.parameters(), lr=0.01)
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    step(resumed, resumed_optimizer)
    assert checkpoint["epoch"] == 1
    np.testing.assert_array_equal(resumed.weight.data, model.weight.data)
    np.testing.assert_array_equal(resumed.bias.data, model.bias.data)
