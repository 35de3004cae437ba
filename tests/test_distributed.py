"""Data-parallel training: the process group API, DistributedDataParallel, SyncBatchNorm, DistributedSampler and
``gradlab train --nproc``.

In one process (a world of one, no MPI): the API's rules, the sampler's partition, and DDP and SyncBatchNorm
falling back to what one process computes. Under a real ``mpiexec -n 2`` on loopback (subprocesses with a
timeout, asserting on what the ranks print and write, never on speed): the float64 equivalences with one process
(tests/distributed_scripts/checks.py, once over shared memory and once over TCP, the transport between machines),
a rank that fails ending the job instead of hanging it, and the training command end to end.
"""

import copy
import gc
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import distributed
from gradlab import train_command
from gradlab.arguments import CommandError
from gradlab.cli import main
from gradlab.launcher import find_mpiexec, mpiexec_command
from nn.data import DataLoader, DistributedSampler, TensorDataset
from nn.models import resnet_digits
from nn.parallel import DistributedDataParallel

SCRIPTS = Path(__file__).parent / "distributed_scripts"
# A launch costs 1-2 s here; a job that hangs is ended by this timeout and fails its test.
TIMEOUT = 120
QUICK = ("--limit", "64", "--batch-size", "16")


def mpi_missing():
    try:
        find_mpiexec()
    except CommandError as error:
        return str(error)
    return None


needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=f"no MPI: {mpi_missing()}")


# Ranks waiting in a collective yield their core: two jobs of the parallel test run share two cores.
RANK_ENVIRONMENT = {"OMPI_MCA_mpi_yield_when_idle": "1", "PYTHONUNBUFFERED": "1"}


def launch(command, ranks=2, **environment):
    """``command`` as ``ranks`` ranks under this environment's mpiexec; the completed process."""
    line, env = mpiexec_command(ranks, command)
    env.update(RANK_ENVIRONMENT, **environment)
    return subprocess.run(line, env=env, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def gradlab(*args, **environment):
    env = dict(os.environ, **RANK_ENVIRONMENT, **environment)
    return subprocess.run([sys.executable, "-m", "gradlab", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def world_of_one(monkeypatch):
    """A fresh ``init()`` outside any launcher."""
    for name in distributed._LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distributed, "_world", None)
    distributed.init()


# ----------------------------------------------------------------- one process


def test_importing_gradlab_loads_no_mpi():
    code = ("import sys, autograd, nn, nn.parallel, optim, gradlab.cli; from autograd import distributed; "
            "distributed.init(); print(distributed.get_world_size(), 'mpi4py' in sys.modules)")
    env = {name: value for name, value in os.environ.items() if name not in distributed._LAUNCHER_VARIABLES}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert result.stdout.split() == ["1", "False"], result.stderr


def test_the_api_needs_init(monkeypatch):
    monkeypatch.setattr(distributed, "_world", None)
    assert not distributed.is_initialized()
    with pytest.raises(RuntimeError, match=r"call autograd.distributed.init\(\) first"):
        distributed.get_rank()


def test_a_launched_rank_without_mpi4py_is_told_what_to_install(monkeypatch):
    monkeypatch.setattr(distributed, "_world", None)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now fails
    with pytest.raises(ImportError, match=r'pip install "gradlab\[dist\]"'):
        distributed.init()
    assert not distributed.is_initialized()


def test_nproc_without_mpi_is_one_error_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(distributed, "is_available", lambda: False)
    assert main(["train", "--nproc", "2", "--out", str(tmp_path), *QUICK]) == 1
    assert capsys.readouterr().err == ('error: training on several processes needs mpi4py and MPI\'s mpiexec, and '
                                       'mpi4py is not installed: pip install "gradlab[dist]"\n')


def test_nproc_needs_a_batch_that_splits_evenly(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--nproc", "3", "--batch-size", "32", "--out", str(tmp_path)])
    assert exit.value.code == 2
    assert "the batch size 32 is split evenly across the 3 processes" in capsys.readouterr().err


def test_a_world_of_one_leaves_tensors_as_they_are(world_of_one):
    assert (distributed.get_rank(), distributed.get_world_size(), distributed.get_local_rank()) == (0, 1, 0)
    values = autograd.tensor([1.0, -2.0])
    for op in ("sum", "mean", "max", "min"):
        distributed.all_reduce(values, op)
        assert values.tolist() == [1.0, -2.0]
    assert distributed.all_reduce(values, async_op=True).wait()
    distributed.broadcast(values, src=0)
    gathered = [autograd.zeros(2)]
    distributed.all_gather(gathered, values)
    assert gathered[0].tolist() == [1.0, -2.0]
    distributed.barrier(distributed.new_group())


def test_collective_argument_errors(world_of_one):
    with pytest.raises(ValueError, match="op must be one of 'sum', 'mean', 'max', 'min', got 'avg'"):
        distributed.all_reduce(autograd.zeros(2), "avg")
    with pytest.raises(ValueError, match="op='mean' needs a floating-point tensor, got int64"):
        distributed.all_reduce(autograd.tensor([1, 2]), "mean")
    with pytest.raises(ValueError, match=r"src must be a rank in \[0, 0\], got 1"):
        distributed.broadcast(autograd.zeros(2), src=1)
    with pytest.raises(ValueError, match=r"tensor_list must hold one tensor per rank \(1\), got 2"):
        distributed.all_gather([autograd.zeros(2), autograd.zeros(2)], autograd.zeros(2))
    with pytest.raises(ValueError, match=r"tensor_list\[0\] is float32 of shape \(3,\), expected float32 of shape"):
        distributed.all_gather([autograd.zeros(3)], autograd.zeros(2))


def test_a_collective_counts_as_an_in_place_change(world_of_one):
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    saved = x * 1.0
    y = saved * saved  # saves its inputs
    distributed.all_reduce(saved)
    with pytest.raises(RuntimeError, match="has been modified by an in-place operation"):
        y.sum().backward()


def test_sampler_shares_are_disjoint_and_cover_the_dataset():
    for size, replicas in ((12, 3), (10, 3), (2, 4)):
        shares = [list(DistributedSampler(range(size), replicas, rank)) for rank in range(replicas)]
        assert len({len(share) for share in shares}) == 1 and len(shares[0]) == -(-size // replicas)
        together = sorted(sum(shares, []))
        assert set(together) == set(range(size))
        # Padding repeats the first indices of the epoch's order, as few as needed.
        assert len(together) - size == (-size) % replicas
    shares = [list(DistributedSampler(range(10), 3, rank, drop_last=True)) for rank in range(3)]
    assert [len(share) for share in shares] == [3, 3, 3] and len(set(sum(shares, []))) == 9


def test_sampler_order_is_the_same_on_every_rank_and_changes_with_the_epoch():
    samplers = [DistributedSampler(range(20), 2, rank, seed=5) for rank in range(2)]
    first = [list(sampler) for sampler in samplers]
    order = [index for pair in zip(*first) for index in pair]  # rank r holds every 2nd index from r on
    assert sorted(order) == list(range(20)) and order != list(range(20))
    assert [list(sampler) for sampler in samplers] == first  # no set_epoch: the same order again
    for sampler in samplers:
        sampler.set_epoch(1)
    assert sorted(index for sampler in samplers for index in sampler) == list(range(20))
    assert [list(sampler) for sampler in samplers] != first
    assert list(DistributedSampler(range(6), 2, 1, shuffle=False)) == [1, 3, 5]
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(6), 2, 2)


def test_dataloader_with_a_sampler_loads_its_indices():
    dataset = TensorDataset(np.arange(10.0))
    sampler = DistributedSampler(dataset, num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [batch.tolist() for (batch,) in loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(dataset, sampler=sampler, shuffle=True)


def test_the_ranks_batches_together_are_the_global_batch():
    order = np.random.default_rng(3).permutation(16)
    batches = [list(DataLoader(TensorDataset(np.arange(16)), batch_size=2,
                               sampler=DistributedSampler(range(16), 4, rank, seed=3))) for rank in range(4)]
    for step in range(2):
        together = sorted(int(index) for rank in range(4) for index in batches[rank][step][0].data)
        assert together == sorted(order[step * 8:(step + 1) * 8].tolist())


def test_ddp_in_a_world_of_one_is_the_model(world_of_one):
    model = resnet_digits().double()
    reference = copy.deepcopy(model)
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.01)
    assert ddp.module is model and len(ddp._buckets) > 1
    x, y = autograd.tensor(np.random.default_rng(0).standard_normal((4, 1, 8, 8))), autograd.tensor([1, 2, 3, 4])
    F.cross_entropy(ddp(x), y).backward()
    F.cross_entropy(reference(x), y).backward()
    for param, expected in zip(model.parameters(), reference.parameters()):
        assert np.array_equal(param.grad.data, expected.grad.data)
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync
    assert "bucket_cap_mb=0.01" in repr(ddp)
    with pytest.raises(ValueError, match="Invalid bucket_cap_mb: 0"):
        DistributedDataParallel(model, bucket_cap_mb=0)


def test_ddp_state_dict_is_prefixed_and_the_plain_model_says_how_to_load_it(world_of_one):
    model = nn.Linear(3, 2)
    ddp = DistributedDataParallel(model)
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]
    fresh = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"DistributedDataParallel; save ddp.module.state_dict\(\) instead"):
        fresh.load_state_dict(ddp.state_dict())
    fresh.load_state_dict(ddp.module.state_dict())
    assert np.array_equal(fresh.weight.data, model.weight.data)


def test_ddp_refuses_to_go_on_after_a_backward_that_failed(world_of_one):
    model = nn.Linear(3, 1)
    ddp = DistributedDataParallel(model)

    def fail(gradient):
        raise ValueError("a failing hook")

    out = ddp(autograd.ones(2, 3))
    # The bias's gradient reaches its bucket, then the weight's hook fails: the reduction never finishes.
    model.weight.register_hook(fail)
    with pytest.raises(ValueError, match="a failing hook"):
        out.sum().backward()
    with pytest.raises(RuntimeError, match="the previous backward pass stopped before its gradients were reduced"):
        ddp(autograd.ones(2, 3))


def test_a_dropped_ddp_leaves_no_hooks(world_of_one):
    model = nn.Linear(3, 1)
    DistributedDataParallel(model)
    gc.collect()
    assert all(not param._hooks.post_accumulate for param in model.parameters())


def test_sync_batch_norm_in_one_process_is_batch_norm(world_of_one):
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 2.0, (5, 3, 4, 4))
    batch_norm = nn.BatchNorm2d(3).double()
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(batch_norm))
    for module in (batch_norm, synced):
        module(autograd.tensor(x)).sum().backward()
    assert np.array_equal(synced.running_var.data, batch_norm.running_var.data)
    with pytest.raises(ValueError, match="SyncBatchNorm: expected at least 2D input"):
        synced(autograd.zeros(3))


def test_sync_batch_norms_own_path_equals_batch_norm_and_has_correct_gradients(world_of_one, monkeypatch):
    # Claimed world of two whose collectives are those of one process: SyncBatchNorm takes its composed path.
    monkeypatch.setattr(distributed, "get_world_size", lambda: 2)
    rng = np.random.default_rng(2)
    x = autograd.tensor(rng.normal(1.0, 2.0, (5, 3, 4, 4)), requires_grad=True)
    batch_norm = nn.BatchNorm2d(3).double()
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(batch_norm))
    np.testing.assert_allclose(synced(x).data, batch_norm(x).data, atol=1e-12)
    np.testing.assert_allclose(synced.running_var.data, batch_norm.running_var.data, atol=1e-12)
    assert autograd.gradcheck(lambda t, weight: synced(t) * weight.reshape(1, 3, 1, 1), (x, synced.weight))
    assert autograd.gradgradcheck(lambda t: synced(t), (x,))


def test_all_reduce_sum_is_differentiable(world_of_one):
    x = autograd.tensor(np.random.default_rng(3).standard_normal((2, 3)), requires_grad=True)
    assert autograd.gradcheck(lambda t: distributed.all_reduce_sum(t) * t, (x,))
    assert autograd.gradgradcheck(lambda t: distributed.all_reduce_sum(t) * t, (x,))
    np.testing.assert_array_equal(distributed.all_reduce_sum(x).data, x.data)  # the sum over one rank


def test_convert_sync_batchnorm_shares_parameters_and_statistics():
    model = resnet_digits()
    model.eval()
    before = model.state_dict()
    names = [name for name, module in model.named_modules() if type(module) is nn.BatchNorm2d]
    parameters = {name: module.weight for name, module in model.named_modules() if name in names}
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    modules = dict(converted.named_modules())
    assert names and all(type(modules[name]) is nn.SyncBatchNorm and modules[name].weight is parameters[name]
                         and not modules[name].training for name in names)
    assert all(np.array_equal(value.data, before[key].data) for key, value in converted.state_dict().items())
    assert list(converted.state_dict()) == list(before)


# ----------------------------------------------------------------- two ranks under mpiexec


def assert_checks_pass(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(line.startswith("ok ") for line in result.stdout.splitlines()) == 7, result.stdout


@needs_mpi
def test_two_ranks_compute_what_one_process_computes():
    assert_checks_pass(launch([sys.executable, str(SCRIPTS / "checks.py")]))


@needs_mpi
def test_two_ranks_over_tcp_between_machines():
    # The transport between machines; shared memory is switched off.
    assert_checks_pass(launch([sys.executable, str(SCRIPTS / "checks.py")], OMPI_MCA_btl="tcp,self"))


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_error():
    # A hang would end in launch's timeout, and fail the test.
    result = launch([sys.executable, str(SCRIPTS / "fail_on_one_rank.py")])
    assert result.returncode != 0
    assert "OpError: linear: input of shape (8, 3) has 3 features but weight of shape (2, 4) expects 4" in result.stderr
    assert "rank 0 finished" not in result.stdout  # rank 0 was waiting for rank 1's gradients


@needs_mpi
def test_gradlab_train_nproc_trains_writes_once_and_resumes(tmp_path):
    out = tmp_path / "run"
    first = gradlab("train", "--nproc", 2, "--epochs", 1, "--out", out, *QUICK)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("training resnet") == 1 and "batch 16 (8 on each of 2 processes)" in first.stdout
    assert sorted(path.name for path in out.iterdir()) == sorted(
        ["checkpoint.safetensors", "metrics.json", "metrics.csv", "curves.png", "graph.svg"])
    resumed = gradlab("train", "--nproc", 2, "--resume", out, "--epochs", 2)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count("epoch   2/2") == 1 and "epoch   1/2" not in resumed.stdout
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [row["epoch"] for row in epochs] == [1, 2]
    assert all(0 <= row["test_acc"] <= 1 and np.isfinite(row["train_loss"]) for row in epochs)
    # The checkpoint holds the plain model's state, and the ranks' shares of the evaluation add up to the whole.
    checkpoint = train_command.load_run(out / "checkpoint.safetensors")
    model = resnet_digits()
    model.load_state_dict(checkpoint["model"])
    _, test_set = train_command.load_datasets(checkpoint["config"], train_transform=False)
    loss, accuracy, _ = train_command.evaluate(model, test_set, nn.CrossEntropyLoss())
    assert accuracy == epochs[-1]["test_acc"] and loss == pytest.approx(epochs[-1]["test_loss"], rel=1e-5)


@needs_mpi
def test_plain_mpiexec_rank_0_refusing_the_folder_ends_the_job(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    result = launch([sys.executable, "-m", "gradlab", "train", "--out", str(tmp_path), *QUICK])
    assert result.returncode == 1
    assert result.stderr.count(f"error: {tmp_path} already holds a run (metrics.json)") == 1


@needs_mpi
def test_ctrl_c_on_nproc_says_what_was_saved(tmp_path):
    env = dict(os.environ, **RANK_ENVIRONMENT)
    run = subprocess.Popen([sys.executable, "-m", "gradlab", "train", "--nproc", "2", "--epochs", "100", "--out",
                            str(tmp_path), *QUICK], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        assert "epoch   1/100" in run.stdout.readline() + run.stdout.readline()
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group gets it
        _, stderr = run.communicate(timeout=TIMEOUT)
    finally:
        run.kill()
    assert run.returncode == 130
    assert f"checkpoint.safetensors; resume with gradlab train --resume {tmp_path} --nproc 2" in stderr
