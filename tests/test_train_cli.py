"""``gradlab train`` / ``gradlab evaluate`` end to end on small subsets: output files, resume, determinism."""

import csv
import json
import shutil
import struct

import numpy as np
import pytest

import autograd
from gradlab.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DETERMINISTIC = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc")


def train(*options):
    return main(["train", "--limit", "96", "--batch-size", "32", *options])


def history(folder):
    rows = json.loads((folder / "metrics.json").read_text())["epochs"]
    return [{key: row[key] for key in DETERMINISTIC} for row in rows]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run of 2 epochs, and one of 1 epoch resumed to 2."""
    root = tmp_path_factory.mktemp("runs")
    assert train("--epochs", "2", "--seed", "3", "--out", str(root / "straight")) == 0
    assert train("--epochs", "1", "--seed", "3", "--out", str(root / "resumed")) == 0
    first_epoch = history(root / "resumed")
    assert main(["train", "--resume", str(root / "resumed"), "--epochs", "2"]) == 0
    return root, first_epoch


def test_train_writes_checkpoint_metrics_curves_and_graph(runs):
    root, _ = runs
    folder = root / "straight"
    checkpoint = autograd.load(folder / "checkpoint.safetensors")
    assert set(checkpoint) >= {"config", "model", "optimizer", "scheduler", "history"}
    assert checkpoint["config"]["model"] == "resnet_digits" and checkpoint["config"]["dataset"] == "digits"
    assert len(checkpoint["history"]) == 2 and "conv1.weight" in checkpoint["model"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1, 2]
    assert metrics["config"]["limit"] == 96
    rows = list(csv.DictReader(open(folder / "metrics.csv")))
    assert len(rows) == 2 and float(rows[1]["test_acc"]) == metrics["epochs"][1]["test_acc"]
    assert all(0 <= row["test_acc"] <= 1 and np.isfinite(row["train_loss"]) for row in metrics["epochs"])
    assert (folder / "curves.png").read_bytes().startswith(PNG_MAGIC)
    graph = folder / "graph.svg"
    if graph.exists():
        assert b"<svg" in graph.read_bytes()[:1000] and b"Conv2d" in graph.read_bytes()
    else:
        assert "digraph" in (folder / "graph.dot").read_text()


def test_resume_continues_exactly_where_the_run_stopped(runs):
    root, first_epoch = runs
    resumed = history(root / "resumed")
    assert resumed[:1] == first_epoch
    # Model, optimizer, schedule and random stream are all restored: the same numbers as without the stop.
    assert resumed == history(root / "straight")


def test_resume_refuses_changed_settings_and_stops_when_done(runs, capsys):
    root, _ = runs
    with pytest.raises(SystemExit) as exit:
        main(["train", "--resume", str(root / "straight"), "--lr", "0.5"])
    assert exit.value.code == 2 and "--lr cannot be changed" in capsys.readouterr().err
    assert main(["train", "--resume", str(root / "straight")]) == 0
    assert "already trained for 2 epochs" in capsys.readouterr().out


def test_same_seed_same_numbers_other_seed_differs(runs, tmp_path):
    root, _ = runs
    assert train("--epochs", "1", "--seed", "4", "--out", str(tmp_path / "other")) == 0
    assert history(tmp_path / "other")[0] != history(root / "straight")[0]


def test_evaluate_reports_accuracy_and_confusion_matrix(runs, capsys, tmp_path):
    root, _ = runs
    capsys.readouterr()
    checkpoint = root / "straight" / "checkpoint.safetensors"
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    accuracy = history(root / "straight")[-1]["test_acc"]
    assert f"test accuracy {accuracy:.2%}" in out
    assert "confusion matrix (rows: true class, columns: predicted class)" in out
    table = [line.split() for line in out.splitlines() if line.endswith("%") and "accuracy" not in line]
    counts = np.array([[int(value) for value in row[1:11]] for row in table])
    assert counts.shape == (10, 10) and counts.sum() == 96
    assert np.trace(counts) == round(accuracy * 96)
    assert (tmp_path / "confusion_matrix.png").read_bytes().startswith(PNG_MAGIC)


def write_idx(path, array):
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes())


def test_mnist_with_lenet5_from_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (24, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, 24, dtype=np.uint8))
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--epochs", "1", "--batch-size", "8",
                 "--optimizer", "adam", "--out", str(out)]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["model"] == "lenet5" and config["optimizer"] == "adam" and config["lr"] == 1e-3


def test_lenet5_on_digits_upscaled_to_32x32(tmp_path):
    assert main(["train", "--model", "lenet5", "--epochs", "1", "--limit", "32", "--out", str(tmp_path)]) == 0
    assert autograd.load(tmp_path / "checkpoint.safetensors")["model"]["c1.weight"].shape == (6, 1, 5, 5)


def test_a_run_folder_of_older_gradlab_with_checkpoint_npz_still_evaluates_and_resumes(runs, tmp_path, capsys):
    root, _ = runs
    old = shutil.copytree(root / "resumed", tmp_path / "old")
    (old / "checkpoint.safetensors").rename(old / "checkpoint.npz")
    assert main(["evaluate", "--checkpoint", str(old), "--out", str(tmp_path)]) == 0
    assert "after 2 epochs" in capsys.readouterr().out
    assert main(["train", "--resume", str(old), "--epochs", "3"]) == 0
    # The folder's newer checkpoint is the one found from now on.
    assert autograd.load(old / "checkpoint.safetensors")["epoch"] == 3
    assert main(["evaluate", "--checkpoint", str(old), "--out", str(tmp_path)]) == 0
    assert "after 3 epochs" in capsys.readouterr().out


def test_bad_options(tmp_path, capsys):
    for argv, message in [(["train", "--dataset", "cifar10", "--out", str(tmp_path)], "pass --data-dir"),
                          (["train", "--epochs", "0", "--out", str(tmp_path)], "--epochs: must be at least 1"),
                          (["train", "--resume", str(tmp_path), "--force"], "not allowed with argument")]:
        with pytest.raises(SystemExit) as exit:
            main(argv)
        assert exit.value.code == 2 and message in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err == f"error: no checkpoint at {tmp_path / 'missing'}\n"
    assert main(["train", "--resume", str(tmp_path)]) == 1
    assert "no checkpoint in" in capsys.readouterr().err
