"""Hostile files and careless writes: atomic saves through real symlinks and concurrent processes, failed
writes, FIFOs and devices, declared sizes that lie, and a fuzz over truncations and bit flips."""

import errno
import io
import json
import os
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd
import nn
import optim
from autograd.serialization import LEGACY_METADATA_KEY
from legacy_checkpoint import write_legacy
from nn.data import CIFAR10, read_idx

ROOT = Path(__file__).resolve().parents[1]


def _temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def _returns_within(seconds, function, *args):
    """The exception ``function(*args)`` raises, asserting that it comes within ``seconds``."""
    outcome = []

    def call():
        try:
            function(*args)
            outcome.append(None)
        except Exception as error:  # handed to the test thread
            outcome.append(error)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__}{args} still blocked after {seconds} s"
    return outcome[0]


# ----------------------------------------------------------------------------- writing
def test_saving_to_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    autograd.save({"x": np.zeros(2)}, real / "checkpoint")
    link = tmp_path / "latest"
    link.symlink_to(real / "checkpoint")
    autograd.save({"x": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(real / "checkpoint")
    np.testing.assert_array_equal(autograd.load(real / "checkpoint")["x"], [1, 1])
    assert _temporaries(real) == [] and _temporaries(tmp_path) == []
    dangling = tmp_path / "next"
    dangling.symlink_to(real / "new")
    autograd.save({"x": np.ones(3)}, dangling)
    assert dangling.is_symlink() and autograd.load(real / "new")["x"].shape == (3,)


def test_a_symlink_planted_at_a_temporary_name_is_never_written_through(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    # The fixed name older gradlab wrote through, and the next random name the writer will draw.
    (tmp_path / "ck.partial").symlink_to(victim)
    (tmp_path / ".ck.planted.tmp").symlink_to(victim)
    names = iter(["planted", "fresh"])
    monkeypatch.setattr("autograd.serialization.secrets.token_hex", lambda size: next(names))
    autograd.save({"x": np.ones(2)}, tmp_path / "ck")
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / ".ck.planted.tmp").is_symlink() and not (tmp_path / ".ck.fresh.tmp").exists()
    np.testing.assert_array_equal(autograd.load(tmp_path / "ck")["x"], [1, 1])


def test_permissions_follow_the_umask_and_an_existing_file_keeps_its_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        autograd.save({}, tmp_path / "new")
        assert (tmp_path / "new").stat().st_mode & 0o777 == 0o644
        (tmp_path / "new").chmod(0o600)
        autograd.save({"x": np.ones(1)}, tmp_path / "new")
        assert (tmp_path / "new").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


@pytest.mark.parametrize("failure", ["fsync", "write", "replace", "interrupt"])
def test_a_failed_save_keeps_the_previous_checkpoint_and_leaves_no_temporary(tmp_path, monkeypatch, failure):
    path = tmp_path / "checkpoint"
    autograd.save({"epoch": 1, "w": np.zeros(1000)}, path)
    before = path.read_bytes()
    real_write = os.write
    calls = []

    def write_half_then_fill_the_disk(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data[:len(data) // 2])

    def fail(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    def interrupt(*args):
        raise KeyboardInterrupt

    patches = {"fsync": ("os.fsync", fail), "write": ("os.write", write_half_then_fill_the_disk),
               "replace": ("os.replace", fail), "interrupt": ("os.write", interrupt)}
    monkeypatch.setattr(*patches[failure])
    with pytest.raises(KeyboardInterrupt if failure == "interrupt" else OSError):
        autograd.save({"epoch": 2, "w": np.ones(1000)}, path)
    monkeypatch.undo()
    assert failure != "write" or len(calls) == 2  # the write really was cut off midway
    assert path.read_bytes() == before and autograd.load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["checkpoint"]


WRITER = """
import sys
import numpy as np
import autograd
value = float(sys.argv[1])
state = {f"layer{i}.weight": np.full((256, 1024), value, np.float32) for i in range(4)}
for _ in range(int(sys.argv[3])):
    autograd.save(state, sys.argv[2])
"""


def test_concurrent_writers_leave_one_complete_file_and_readers_never_see_a_partial_one(tmp_path):
    path = tmp_path / "shared.safetensors"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(value), str(path), "15"], cwd=ROOT)
               for value in (1.0, 2.0)]
    seen = set()
    try:
        while any(writer.poll() is None for writer in writers):
            if path.exists():
                state = autograd.load(path)
                values = {float(value[0, 0]) for value in state.values()}
                assert len(state) == 4 and len(values) == 1
                assert all(np.all(value == value[0, 0]) for value in state.values())
                seen |= values
    finally:
        codes = [writer.wait(60) for writer in writers]
    assert codes == [0, 0]
    state = autograd.load(path)
    assert {float(np.unique(value).item()) for value in state.values()} in ({1.0}, {2.0})
    assert seen and seen <= {1.0, 2.0} and _temporaries(tmp_path) == []


# ----------------------------------------------------------------------------- files that are not files
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "checkpoint.safetensors"
    os.mkfifo(fifo)
    try:
        for reader in (autograd.load, read_idx):
            error = _returns_within(5, reader, fifo)
            assert isinstance(error, ValueError) and f"{fifo}: not a regular file (a FIFO)" in str(error)
        os.rename(fifo, tmp_path / "test_batch.bin")
        error = _returns_within(5, CIFAR10, tmp_path, False)
        assert isinstance(error, ValueError) and "test_batch.bin: not a regular file (a FIFO)" in str(error)
    finally:
        # Should a reader be blocked in open(), a writer's open releases it (without one, it fails with ENXIO).
        for name in ("checkpoint.safetensors", "test_batch.bin"):
            try:
                os.close(os.open(tmp_path / name, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass


def test_a_device_is_refused(tmp_path):
    with pytest.raises(ValueError, match="/dev/zero: not a regular file \\(a character device\\)"):
        autograd.load("/dev/zero")
    with pytest.raises(ValueError, match="/dev/zero: not a regular file"):
        read_idx("/dev/zero")
    (tmp_path / "test_batch.bin").symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="test_batch.bin: not a regular file \\(a character device\\)"):
        CIFAR10(tmp_path, train=False)
    with pytest.raises(ValueError, match=f"{tmp_path}: not a regular file \\(a directory\\)"):
        autograd.load(tmp_path)


# ----------------------------------------------------------------------------- sizes that lie
def _safetensors_with_header(header, data=b"", length=None):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


TWO_FLOATS = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize("content", [
    _safetensors_with_header({"w": {"dtype": "F32", "shape": [2**30], "data_offsets": [0, 2**32]}}, b"\0" * 16),
    _safetensors_with_header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
    _safetensors_with_header({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 16]}}, b"\0" * 16),
    _safetensors_with_header({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"\0" * 16),
    _safetensors_with_header(TWO_FLOATS, b"\0" * 8, length=2**63),
    _safetensors_with_header(TWO_FLOATS, b"\0" * 8, length=10**6),
    _safetensors_with_header(TWO_FLOATS, b"\0" * 8, length=2**64 - 1),
], ids=["4GB-declared", "short-data", "shape-not-offsets", "gap", "header-2**63", "header-past-end", "header-max"])
def test_a_safetensors_file_whose_sizes_lie_is_refused_before_allocating(tmp_path, content):
    path = tmp_path / "forged"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=f"{path}: corrupt or truncated checkpoint"):
            autograd.load(path)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()


def test_a_legacy_member_declaring_4gb_in_a_small_file_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**30,)})
    metadata = json.dumps({"format": "gradlab-checkpoint", "version": 1,
                           "root": {"type": "ndarray", "key": "a0", "dtype": "<f4", "shape": [2**30]}}).encode()
    metadata_member = io.BytesIO()
    np.save(metadata_member, np.frombuffer(metadata, np.uint8))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(LEGACY_METADATA_KEY + ".npy", metadata_member.getvalue())
        archive.writestr("a0.npy", header.getvalue() + b"\0" * 64)
    assert path.stat().st_size < 2048
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=f"{path}: corrupt checkpoint: entry a0.npy declares shape"):
            autograd.load(path)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()


# ----------------------------------------------------------------------------- fuzz
def _checkpoint():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(autograd.randn(5, 4)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3,
            "rng": np.random.default_rng(0).bit_generator.state}


def _legacy(path, checkpoint):
    """``checkpoint['model']`` in the version-1 .npz layout."""
    items, arrays = [], {}
    for index, (key, value) in enumerate(checkpoint["model"].items()):
        arrays[f"a{index}"] = value.data
        items.append([key, {"type": "tensor", "key": f"a{index}", "dtype": value.data.dtype.str,
                            "shape": list(value.shape), "requires_grad": False}])
    write_legacy(path, arrays, {"type": "dict", "items": items})


@pytest.mark.parametrize("layout", ["safetensors", "legacy-npz"])
def test_fuzzed_checkpoints_load_or_fail_with_a_clear_error(tmp_path, layout):
    original = tmp_path / "original"
    if layout == "safetensors":
        autograd.save(_checkpoint(), original)
    else:
        _legacy(original, _checkpoint())
    data = original.read_bytes()
    rng = np.random.default_rng(1234)
    header = struct.unpack("<Q", data[:8])[0] + 8 if layout == "safetensors" else len(data)
    cases = [data[:int(cut)] for cut in rng.integers(0, len(data), 60)]
    for _ in range(240):
        flipped = bytearray(data)
        # Most flips land in the header (or the zip's directories), where they change how the rest is read.
        where = int(rng.integers(0, header if rng.random() < 0.7 else len(data)))
        flipped[where] ^= 1 << int(rng.integers(0, 8))
        cases.append(bytes(flipped))
    path = tmp_path / "fuzzed"
    outcomes = {"loaded": 0, "refused": 0}
    tracemalloc.start()
    try:
        for content in cases:
            path.write_bytes(content)
            tracemalloc.reset_peak()
            try:
                autograd.load(path)
                outcomes["loaded"] += 1
            except (ValueError, RuntimeError) as error:
                assert str(path) in str(error), repr(error)
                outcomes["refused"] += 1
            assert tracemalloc.get_traced_memory()[1] < 4 * len(data) + 2**20
    finally:
        tracemalloc.stop()
    assert outcomes["refused"] > 0 and sum(outcomes.values()) == len(cases)
