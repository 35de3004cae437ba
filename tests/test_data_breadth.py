"""DataLoader with worker processes (order, errors, seeds, persistence, shutdown, timeouts), the samplers,
ConcatDataset and the loader's options, checked against torch.utils.data where that is cheap."""

import os
import signal
import time

import numpy as np
import pytest

import autograd
from nn.data import (
    BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
    TensorDataset, WeightedRandomSampler, dataloader, get_worker_info,
)


@pytest.fixture(autouse=True)
def deadline():
    """Fail, rather than hang, a test that takes more than 20 s (every test here may start processes)."""
    def expire(signum, frame):
        raise TimeoutError("test_data_breadth: a test ran for more than 20 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


class Samples(Dataset):
    """A per-sample dataset (no get_batch override) whose items say which process loaded them."""

    def __init__(self, size=23, slow=()):
        self.size = size
        self.slow = set(slow)

    def __getitem__(self, index):
        if index in self.slow:  # delays some batches so that later ones arrive first
            time.sleep(0.2)
        info = get_worker_info()
        return np.array([index, index * index], dtype=np.float64), index % 3, -1 if info is None else info.id

    def __len__(self):
        return self.size


def batches(loader):
    return [tuple(field.data.copy() for field in batch) for batch in loader]


def assert_same(first, second):
    assert len(first) == len(second)
    for one, other in zip(first, second):
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


def test_workers_give_the_same_batches_in_the_same_order():
    x = np.random.default_rng(0).normal(size=(50, 3))
    dataset = TensorDataset(x, np.arange(50))
    for options in [dict(batch_size=7), dict(batch_size=7, shuffle=True, generator=4, drop_last=True)]:
        main = batches(DataLoader(dataset, **options))
        workers = batches(DataLoader(dataset, num_workers=2, **options))
        assert_same(main, workers)
        assert len(workers) == len(DataLoader(dataset, num_workers=2, **options))


def test_order_is_kept_when_later_batches_arrive_first():
    # Worker 0 takes batches 0, 2, 4; the slow samples make batch 0 arrive after batches 1 and 3.
    loader = DataLoader(Samples(slow=[0, 1]), batch_size=4, num_workers=2, prefetch_factor=3)
    loaded = batches(loader)
    np.testing.assert_array_equal(np.concatenate([batch[0][:, 0] for batch in loaded]), np.arange(23))
    # Round-robin: batch k was loaded by worker k % 2.
    assert [int(batch[2][0]) for batch in loaded] == [k % 2 for k in range(len(loaded))]
    main = batches(DataLoader(Samples(), batch_size=4))
    assert_same([batch[:2] for batch in main], [batch[:2] for batch in loaded])


def test_collate_fn_and_batch_sampler_run_with_workers():
    def collate(samples):
        return [int(sample[0][0]) for sample in samples]

    batch_sampler = [[3, 1], [0], [7, 8, 9]]
    assert list(DataLoader(Samples(), batch_sampler=batch_sampler, collate_fn=collate, num_workers=2)) == \
        batch_sampler
    assert len(DataLoader(Samples(), batch_sampler=batch_sampler)) == 3


class Failing(Dataset):
    def __getitem__(self, index):
        if index == 13:
            raise KeyError(f"no sample {index}")
        return np.zeros(2)

    def __len__(self):
        return 20


def test_a_worker_error_is_raised_in_the_main_process_with_its_traceback():
    loader = DataLoader(Failing(), batch_size=4, num_workers=2)
    iterator = iter(loader)
    assert len([next(iterator) for _ in range(3)]) == 3  # batches 0-2 are fine; batch 3 holds index 13
    with pytest.raises(KeyError) as raised:
        next(iterator)
    message = str(raised.value)
    assert "DataLoader worker process 1" in message  # batch 3 went to worker 3 % 2
    assert "Traceback" in message and "in __getitem__" in message and "no sample 13" in message


def init_worker(worker_id):
    info = get_worker_info()
    assert info.id == worker_id and info.num_workers == 3
    # Runs in the worker: what it sets is seen by that worker's dataset only.
    info.dataset.offset = 1000 * (worker_id + 1)


class Offsets(Dataset):
    offset = 0

    def __getitem__(self, index):
        return np.array([self.offset, get_worker_info().id, os.getpid(), autograd.rand(1).item()])

    def __len__(self):
        return 12


def test_worker_init_fn_runs_once_in_each_worker_and_seeds_differ():
    loaded = np.concatenate([batch.data for batch in DataLoader(Offsets(), batch_size=2, num_workers=3,
                                                               worker_init_fn=init_worker)])
    np.testing.assert_array_equal(loaded[:, 0], 1000 * (loaded[:, 1] + 1))
    assert set(loaded[:, 1]) == {0, 1, 2} and len(set(loaded[:, 2])) == 3 and os.getpid() not in loaded[:, 2]
    first_draws = [loaded[loaded[:, 1] == worker][0, 3] for worker in range(3)]
    assert len(set(first_draws)) == 3  # each worker's generator has its own seed
    assert Offsets.offset == 0  # the main process's dataset is untouched


def test_a_worker_init_fn_error_names_it():
    def broken(worker_id):
        raise ValueError("cannot open the shard")

    with pytest.raises(ValueError, match="in worker_init_fn in DataLoader worker process 0"):
        list(DataLoader(Samples(), batch_size=4, num_workers=1, worker_init_fn=broken))


def test_worker_seeds_follow_the_generator():
    def draws(seed):
        return [batch.data[:, 3] for batch in DataLoader(Offsets(), batch_size=3, num_workers=2, generator=seed)]

    np.testing.assert_array_equal(draws(5), draws(5))
    assert not np.array_equal(draws(5), draws(6))


def test_persistent_workers_are_reused_across_epochs():
    loader = DataLoader(Offsets(), batch_size=4, num_workers=2, persistent_workers=True)
    first = {int(pid) for batch in loader for pid in batch.data[:, 2]}
    iterator = iter(loader)
    next(iterator)  # leave the second epoch early: its batches in flight are dropped by the next one
    third = np.concatenate([batch.data for batch in loader])
    assert {int(pid) for pid in third[:, 2]} == first and len(third) == 12
    processes = loader._workers.processes
    assert all(process.is_alive() for process in processes)
    loader._workers.close()
    assert not any(process.is_alive() for process in processes)
    fresh = DataLoader(Offsets(), batch_size=4, num_workers=2)
    epoch_pids = [{int(pid) for batch in fresh for pid in batch.data[:, 2]} for _ in range(2)]
    assert epoch_pids[0].isdisjoint(epoch_pids[1])  # without persistent_workers, every epoch starts new ones


def test_leaving_a_loop_early_shuts_the_workers_down():
    iterator = iter(DataLoader(Samples(), batch_size=2, num_workers=2))
    next(iterator)
    processes = iterator._workers.processes
    del iterator  # the pool is garbage now: its finalizer stops the workers
    assert not any(process.is_alive() for process in processes)


class Slow(Dataset):
    def __getitem__(self, index):
        time.sleep(0.5)
        return np.zeros(1)

    def __len__(self):
        return 4


def test_timeout_raises():
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        next(iter(DataLoader(Slow(), num_workers=1, timeout=0.2)))


class Dying(Dataset):
    def __getitem__(self, index):
        if index == 2:
            os._exit(3)
        return np.zeros(1)

    def __len__(self):
        return 6


def test_a_worker_that_dies_is_reported(monkeypatch):
    monkeypatch.setattr(dataloader, "_STATUS_CHECK_INTERVAL", 0.1)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+ \(exit code 3\)\) exited unexpectedly"):
        list(DataLoader(Dying(), num_workers=1))


def test_option_errors():
    dataset = TensorDataset(np.zeros(8))
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(dataset, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified in multiprocessing"):
        DataLoader(dataset, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(dataset, persistent_workers=True)
    with pytest.raises(ValueError, match="mutually exclusive with batch_size, shuffle, sampler, and drop_last"):
        DataLoader(dataset, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(dataset, timeout=-1)
    # pin_memory is accepted and changes nothing on the CPU.
    assert_same(batches(DataLoader(dataset, batch_size=3, pin_memory=True)), batches(DataLoader(dataset, batch_size=3)))
    assert get_worker_info() is None


def test_the_loader_builds_pytorchs_default_samplers():
    dataset = TensorDataset(np.zeros(10))
    loader = DataLoader(dataset, batch_size=3, drop_last=True)
    assert isinstance(loader.sampler, SequentialSampler) and isinstance(loader.batch_sampler, BatchSampler)
    assert len(loader) == 3
    assert isinstance(DataLoader(dataset, shuffle=True).sampler, RandomSampler)


# ----------------------------------------------------------------- samplers
def test_sequential_random_and_batch_samplers():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    order = list(RandomSampler(range(50), generator=1))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert list(RandomSampler(range(50), generator=1)) == order
    sampler = RandomSampler(range(50), generator=1)
    assert list(sampler) != list(sampler)  # one generator for the sampler's lifetime: epochs differ
    # More samples than the dataset without replacement: whole permutations, then part of one.
    long = list(RandomSampler(range(4), num_samples=10, generator=2))
    assert len(long) == 10 and sorted(long[:8]) == [0, 0, 1, 1, 2, 2, 3, 3] and len(set(long[8:])) == 2
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=200, generator=3))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, drop_last=False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    assert sorted(SubsetRandomSampler([5, 9, 2], generator=0)) == [2, 5, 9]
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(3), num_samples=0)


def test_weighted_random_sampler_statistics():
    weights = np.array([1.0, 3.0, 0.0, 6.0])
    drawn = np.array(list(WeightedRandomSampler(weights, 20000, generator=7)))
    frequencies = np.bincount(drawn, minlength=4) / len(drawn)
    # The binomial standard deviation at 20000 draws is at most 0.0036: four of them is a loose bound.
    np.testing.assert_allclose(frequencies, weights / weights.sum(), atol=0.015)
    assert frequencies[2] == 0  # a zero weight is never drawn
    assert list(WeightedRandomSampler(weights, 50, generator=7)) == list(WeightedRandomSampler(weights, 50,
                                                                                               generator=7))
    without = list(WeightedRandomSampler(weights, 3, replacement=False, generator=1))
    assert sorted(without) == [0, 1, 3]
    with pytest.raises(ValueError, match="cannot draw 4 samples without replacement"):
        WeightedRandomSampler(weights, 4, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)
    # Balancing classes: weights 1 / class count give each class the same share, with the loader.
    labels = np.array([0] * 90 + [1] * 10)
    sampler = WeightedRandomSampler(1.0 / np.bincount(labels)[labels], 4000, generator=3)
    loaded = np.concatenate([batch[1].data for batch in DataLoader(TensorDataset(np.zeros(100), labels),
                                                                     batch_size=100, sampler=sampler)])
    assert abs(loaded.mean() - 0.5) < 0.05


def test_samplers_match_torch_semantics():
    torch = pytest.importorskip("torch")
    from torch.utils import data as torch_data
    assert list(BatchSampler(range(10), 4, False)) == list(torch_data.BatchSampler(range(10), 4, False))
    assert list(BatchSampler(range(10), 4, True)) == list(torch_data.BatchSampler(range(10), 4, True))
    weights = [0.5, 2.0, 0.0, 1.5]
    theirs = torch.tensor(list(torch_data.WeightedRandomSampler(weights, 20000,
                                                                generator=torch.Generator().manual_seed(0))))
    ours = np.array(list(WeightedRandomSampler(weights, 20000, generator=0)))
    np.testing.assert_allclose(np.bincount(ours, minlength=4) / 20000,
                               np.bincount(theirs.numpy(), minlength=4) / 20000, atol=0.02)
    assert len(RandomSampler(range(5), num_samples=12)) == len(torch_data.RandomSampler(range(5), num_samples=12))


# ----------------------------------------------------------------- datasets
def test_concat_dataset_matches_torch_and_fetches_batches_per_part():
    calls = []

    class Recording(TensorDataset):
        def get_batch(self, indices):
            calls.append(len(indices))
            return super().get_batch(indices)

    first, second = Recording(np.arange(5.0), np.arange(5)), Recording(np.arange(10.0, 13.0), np.arange(3))
    concatenated = ConcatDataset([first, second, [(np.array(20.0), 7)]])
    assert len(concatenated) == 9 and concatenated.cumulative_sizes == [5, 8, 9]
    assert concatenated[6][0] == 11.0 and concatenated[-1][1] == 7 and concatenated[-5][0] == 4.0
    values, labels = concatenated.get_batch(np.array([6, 0, 8, 4, 5]))
    np.testing.assert_array_equal(values, [11.0, 0.0, 20.0, 4.0, 10.0])
    np.testing.assert_array_equal(labels, [1, 0, 7, 4, 0])
    assert calls == [2, 2]  # one get_batch per TensorDataset part, whatever the order of the indices
    with pytest.raises(IndexError, match="out of range"):
        concatenated[9]
    loaded = batches(DataLoader(concatenated, batch_size=4, shuffle=True, generator=1, num_workers=2))
    assert sorted(np.concatenate([batch[0] for batch in loaded]).tolist()) == [0, 1, 2, 3, 4, 10, 11, 12, 20]
    pytest.importorskip("torch")
    from torch.utils import data as torch_data
    theirs = torch_data.ConcatDataset([first, second])
    assert theirs.cumulative_sizes == ConcatDataset([first, second]).cumulative_sizes
    assert [float(theirs[i][0]) for i in range(-8, 8)] == [float(ConcatDataset([first, second])[i][0])
                                                          for i in range(-8, 8)]


def test_subset_with_workers_and_the_nn_utils_data_path():
    import nn.utils.data
    from nn.utils.data import DataLoader as Aliased
    assert Aliased is DataLoader and nn.utils.data.Subset is Subset
    part = Subset(TensorDataset(np.arange(10.0)), [9, 3, 5])
    assert_same(batches(DataLoader(part, batch_size=2, num_workers=2)), [(np.array([9.0, 3.0]),), (np.array([5.0]),)])
