"""``DistributedSampler``: each rank's share of a dataset's indices, for data-parallel training."""

from __future__ import annotations

import math
from typing import Iterator, Sized

import numpy as np

from autograd import distributed


class DistributedSampler:
    """The indices of this rank's share of ``dataset``: the ranks' shares are disjoint and together cover it.

    Each epoch the indices are shuffled (the same order on every rank: a generator seeded with ``seed + epoch``),
    padded by repeating the first ones (or, with ``drop_last``, cut) to a multiple of ``num_replicas``, and rank
    ``r`` takes every ``num_replicas``-th from ``r`` on. So every rank has ``len(sampler)`` indices, and with a
    ``DataLoader(dataset, batch_size=b, sampler=sampler)`` on each rank, the ranks' k-th batches together are the
    k-th ``b * num_replicas`` indices of the epoch's order. Call ``set_epoch(epoch)`` before each epoch: without it
    every epoch has the same order.

    Args:
        dataset: the dataset (only its length is read).
        num_replicas: the number of ranks (default: ``distributed.get_world_size()``).
        rank: this rank (default: ``distributed.get_rank()``).
        shuffle: shuffle the indices every epoch; else they are taken in order.
        seed: the seed of the shuffle, which must be the same on every rank.
        drop_last: drop the last indices to make the dataset divide evenly, instead of repeating the first ones.

    Example::

        >>> sampler = DistributedSampler(dataset)
        >>> loader = DataLoader(dataset, batch_size=16, sampler=sampler)
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)
        ...     for images, labels in loader:
        ...         ...
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = distributed.get_world_size()
        if rank is None:
            rank = distributed.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        size = len(dataset)
        if drop_last and size % num_replicas:
            self.num_samples = math.ceil((size - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(size / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        size = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(size) if self.shuffle else np.arange(size)
        if self.drop_last:
            order = order[:self.total_size]
        else:
            order = np.concatenate([order, np.resize(order, self.total_size - size)])  # np.resize repeats it
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` from now on (the same on every rank that is given the same epoch)."""
        self.epoch = epoch
