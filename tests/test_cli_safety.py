"""The command line under bad input and careless use, run as real processes: every failure is one ``error:``
line (or argparse's usage and error lines) with a non-zero status and no traceback; a folder that holds a
run or is in use is refused; NaN, Ctrl-C and a closed pipe stop a run cleanly."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import autograd

TIMEOUT = 120
# A run of one step per epoch on 32 images: about a second, most of it imports.
QUICK = ("--limit", "32", "--batch-size", "32")
# Unbuffered output, so that a test reading a running command's stdout sees each line as it is printed.
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def gradlab(*args):
    return subprocess.run([sys.executable, "-m", "gradlab", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=ENV)


def start(*args):
    # SIGINT back to its default in the child: a process started from a background job inherits it ignored,
    # and Python then installs no KeyboardInterrupt handler.
    return subprocess.Popen([sys.executable, "-m", "gradlab", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def last_line(stderr):
    """The final line of stderr, past the progress bar's carriage returns."""
    return stderr.replace("\r", "\n").strip().splitlines()[-1]


def assert_fails(result, status, message):
    """``result`` exited with ``status``, printed no traceback, and its last stderr line matches ``message``."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status, result.stderr
    line = last_line(result.stderr)
    assert line.startswith("error:" if status == 1 else "gradlab "), line
    assert re.search(message, line), line
    return line


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A finished run of one epoch; tests read it and never write into it."""
    folder = tmp_path_factory.mktemp("run")
    result = gradlab("train", *QUICK, "--epochs", 1, "--out", folder)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "-1", "must be a finite number greater than 0, got -1"),
    ("--lr", "nan", "must be a finite number greater than 0, got nan"),
    ("--lr", "inf", "must be a finite number greater than 0, got inf"),
    ("--lr", "fast", "expected a number, got 'fast'"),
    ("--epochs", "0", "must be at least 1, got 0"),
    ("--batch-size", "0", "must be at least 1"),
    ("--limit", "-5", "must be at least 1"),
    ("--seed", "-1", "must be at least 0"),
])
def test_bad_numbers_are_usage_errors_before_anything_is_written(tmp_path, option, value, message):
    out = tmp_path / "run"
    assert_fails(gradlab("train", option, value, "--out", out), 2, f"train: error: argument {option}: {message}")
    assert not out.exists()


def test_graph_checks_its_numbers_too():
    assert_fails(gradlab("graph", "--batch", 0), 2, "graph: error: argument --batch: must be at least 1")
    assert_fails(gradlab("graph", "--depth", -2), 2, "argument --depth: must be at least -1")


def test_a_folder_holding_a_run_is_refused_and_force_replaces_it(run_folder, tmp_path):
    out = tmp_path / "run"
    out.mkdir()  # an empty folder is no run
    assert gradlab("train", *QUICK, "--epochs", 1, "--out", out).returncode == 0
    before = (out / "metrics.json").read_text()
    line = assert_fails(gradlab("train", *QUICK, "--epochs", 1, "--seed", 5, "--out", out), 1,
                        f"{re.escape(str(out))} already holds a run")
    assert f"--resume {out}" in line and "--force" in line
    assert (out / "metrics.json").read_text() == before
    # A resumed run may not write over another run either.
    assert_fails(gradlab("train", "--resume", run_folder, "--epochs", 2, "--out", out), 1,
                 "already holds another run.*choose another --out")
    assert_fails(gradlab("train", "--resume", out, "--force"), 2, "not allowed with argument")

    forced = gradlab("train", *QUICK, "--epochs", 1, "--seed", 5, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"--force: deleted the run in {out}" in forced.stdout
    assert autograd.load(out / "checkpoint.safetensors")["config"]["seed"] == 5


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    out = tmp_path / "run"
    first = start("train", "--limit", 96, "--batch-size", 8, "--epochs", 1000, "--out", out)
    try:
        lock = out / ".lock"
        deadline = time.monotonic() + TIMEOUT
        while not (lock.exists() and lock.read_text().strip()):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.05)
        second = gradlab("train", *QUICK, "--epochs", 1, "--out", out, "--force")
        assert_fails(second, 1, f"{re.escape(str(out))} is in use by another gradlab train \\(pid {first.pid}\\)")
    finally:
        first.terminate()
        first.wait(TIMEOUT)
    # SIGTERM gave the first run no chance to clean up: its .lock file is left, but the kernel let go of
    # the lock with the process, so the folder is free.
    assert lock.exists()
    assert gradlab("train", *QUICK, "--epochs", 1, "--out", out, "--force").returncode == 0
    assert not lock.exists()


def write_idx(path, array):
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">i4").tobytes() + array.tobytes())


def test_missing_or_malformed_dataset_files(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    options = ("train", "--dataset", "mnist", "--data-dir", data, "--epochs", 1)
    assert_fails(gradlab(*options, "--out", tmp_path / "a"), 1, "dataset file train-images-idx3-ubyte not found")
    (data / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    assert_fails(gradlab(*options, "--out", tmp_path / "b"), 1, "train-images-idx3-ubyte: not an IDX file")
    assert_fails(gradlab("train", "--dataset", "cifar10", "--out", tmp_path / "c"), 2, "pass --data-dir")


def test_an_output_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_fails(gradlab("train", *QUICK, "--out", blocker / "run"), 1,
                 "cannot create the output folder .*: Not a directory")
    assert_fails(gradlab("evaluate", "--checkpoint", tmp_path / "nothing"), 1, "no checkpoint at")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes folders whatever their permissions")
def test_an_output_folder_without_permissions(tmp_path):
    out = tmp_path / "locked"
    out.mkdir(mode=0)
    try:
        assert_fails(gradlab("train", *QUICK, "--out", out), 1, "Permission denied")
    finally:
        out.chmod(0o755)


def test_a_bare_state_dict_or_a_foreign_file_is_not_a_run(run_folder, tmp_path):
    state = autograd.load(run_folder / "checkpoint.safetensors")["model"]
    bare = tmp_path / "model.safetensors"
    autograd.save(state, bare)
    for command in (("evaluate", "--checkpoint", bare), ("train", "--resume", bare)):
        assert_fails(gradlab(*command), 1, f"{re.escape(str(bare))} is a bare state dict .*not a run saved by "
                                           f"gradlab train.*model.load_state_dict")
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(b"\x00" * 64)
    assert_fails(gradlab("evaluate", "--checkpoint", foreign), 1, f"^error: {re.escape(str(foreign))}")


def test_a_loss_that_becomes_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    # One step per epoch: the first loss comes from the initial weights, and an update of 1e30 times the
    # gradient overflows float32 in the next forward pass.
    out = tmp_path / "run"
    result = gradlab("train", *QUICK, "--epochs", 2, "--lr", 1e30, "--out", out)
    line = assert_fails(result, 1, r"^error: loss became nan at epoch 2, step 1 \(lr 5e\+29\): training diverged")
    assert f"epoch 1, is kept in {out / 'checkpoint.safetensors'}" in line
    checkpoint = autograd.load(out / "checkpoint.safetensors")
    assert checkpoint["epoch"] == 1 and len(checkpoint["history"]) == 1


def test_ctrl_c_keeps_the_last_finished_epoch_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    run = start("train", "--limit", 96, "--batch-size", 8, "--epochs", 1000, "--out", out)
    try:
        line = run.stdout.readline()
        while not line.startswith("epoch"):  # wait until an epoch has been saved
            assert line, run.stderr.read()
            line = run.stdout.readline()
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=TIMEOUT)
    finally:
        run.kill()
    assert run.returncode == 130 and "Traceback" not in stderr, stderr
    checkpoint = out / "checkpoint.safetensors"
    match = re.fullmatch(rf"interrupted at epoch (\d+) step (\d+): saved epoch (\d+) to "
                         rf"{re.escape(str(checkpoint))}; resume with gradlab train --resume {re.escape(str(out))}",
                         last_line(stderr))
    assert match, last_line(stderr)
    interrupted, saved = int(match[1]), int(match[3])
    assert saved >= 1 and interrupted in (saved, saved + 1)
    assert autograd.load(checkpoint)["epoch"] == saved and not (out / ".lock").exists()

    resumed = gradlab("train", "--resume", out, "--epochs", saved + 1)
    assert resumed.returncode == 0, resumed.stderr
    assert len(autograd.load(checkpoint)["history"]) == saved + 1


def test_a_closed_pipe_ends_evaluate_quietly(run_folder, tmp_path):
    # Like `gradlab evaluate | head -1`: the reader goes away after one line, while evaluate still prints
    # the confusion matrix and saves its PNG.
    run = subprocess.Popen([sys.executable, "-m", "gradlab", "evaluate", "--checkpoint", run_folder, "--out",
                            tmp_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        assert "test accuracy" in run.stdout.readline()
        run.stdout.close()
        stderr = run.stderr.read()
        run.wait(TIMEOUT)
    finally:
        run.kill()
    assert stderr == "" and run.returncode == 128 + signal.SIGPIPE
