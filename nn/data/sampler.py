"""Samplers: the order in which a ``DataLoader`` visits a dataset's indices, and how they are grouped into batches.

Every sampler is an iterable of Python ints with a ``len``, drawn anew each epoch; ``BatchSampler`` turns one into
lists of indices. Random samplers take a numpy ``Generator`` or an int seed; ``None`` draws from the global
generator at each epoch, so ``autograd.manual_seed`` makes the order reproducible.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable, Iterator, Sequence, Sized

import numpy as np

from autograd import distributed

from .dataset import as_generator


class Sampler:
    """Base class of samplers: ``iter(sampler)`` gives one epoch's indices, ``len(sampler)`` their number.

    Subclasses implement ``__iter__`` and ``__len__``. A sampler that needs state across epochs (a seed, an epoch
    number) keeps it on itself: the ``DataLoader`` iterates it in the main process, never in its workers.
    """

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """The indices ``0, 1, ..., len(data_source) - 1`` in order.

    Args:
        data_source: the dataset (only its length is read).
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the dataset's indices, new every epoch.

    Without replacement, ``num_samples`` indices are taken from as many fresh permutations as needed (so each
    index appears ``num_samples // len`` or one more times); with replacement, they are drawn uniformly.

    Args:
        data_source: the dataset (only its length is read).
        replacement: draw with replacement.
        num_samples: the number of indices per epoch (default: the dataset's length).
        generator: a numpy Generator or int seed (one generator for the sampler's lifetime, so epochs differ);
            None draws from the global generator.
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: np.random.Generator | int | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = None if generator is None else as_generator(generator)
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        """The number of indices per epoch (the dataset's current length unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        size, generator = len(self.data_source), as_generator(self.generator)
        if self.replacement:
            return iter(generator.integers(0, size, self.num_samples).tolist())
        permutations = [generator.permutation(size) for _ in range(-(-self.num_samples // size))]
        return iter(np.concatenate(permutations)[:self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, new every epoch.

    Args:
        indices: the indices to sample from.
        generator: a numpy Generator or int seed; None draws from the global generator.
    """

    def __init__(self, indices: Sequence[int], generator: np.random.Generator | int | None = None) -> None:
        self.indices = indices
        self.generator = None if generator is None else as_generator(generator)

    def __iter__(self) -> Iterator[int]:
        order = as_generator(self.generator).permutation(len(self.indices))
        return iter(np.asarray(self.indices)[order].tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (index ``i`` with
    probability ``weights[i] / sum(weights)``): the usual cure for an unbalanced training set.

    Args:
        weights: non-negative weights, one per index (they need not sum to one).
        num_samples: the number of indices per epoch.
        replacement: draw with replacement; without it an index is drawn at most once (``num_samples`` must then
            not exceed the number of non-zero weights).
        generator: a numpy Generator or int seed; None draws from the global generator.
    """

    def __init__(self, weights: Sequence[float] | np.ndarray, num_samples: int, replacement: bool = True,
                 generator: np.random.Generator | int | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = np.asarray(getattr(weights, "data", weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum() > 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(weights)} non-zero weights")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = None if generator is None else as_generator(generator)

    def __iter__(self) -> Iterator[int]:
        drawn = as_generator(self.generator).choice(len(self.weights), self.num_samples, replace=self.replacement,
                                                    p=self.weights / self.weights.sum())
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``).

    Args:
        sampler: any iterable of indices (a ``Sampler``, a range, a list).
        batch_size: the indices per batch.
        drop_last: drop the last batch if it is smaller than ``batch_size``.

    Example::

        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        # islice takes whole batches at C speed, and lazily: the sampler may be long or produce its indices late.
        while batch := list(itertools.islice(indices, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        count, remainder = divmod(len(self.sampler), self.batch_size)  # type: ignore[arg-type]
        return count + (1 if remainder and not self.drop_last else 0)


class DistributedSampler(Sampler):
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
