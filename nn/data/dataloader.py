"""``DataLoader``: iterate over a dataset in (optionally shuffled, or sampled) batches of Tensors."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import numpy as np

from autograd.tensor import Tensor, wrap

from .dataset import Dataset, as_generator, default_collate


class DataLoader:
    """Batches of a dataset as Tensors.

    Without ``collate_fn``, each batch comes from one ``dataset.get_batch(indices)`` call, so a
    ``TensorDataset`` or an ``ImageDataset`` is sliced with a single fancy index per array and its
    transform runs once per batch. ndarrays in the batch are wrapped as Tensors (no copy).

    Args:
        dataset: the dataset to load from.
        batch_size: samples per batch.
        shuffle: draw a new random order every epoch.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch; when given, samples are fetched one by one.
        generator: numpy Generator or int seed for shuffling; None draws from the global generator, so
            ``autograd.manual_seed`` makes the order reproducible.
        sampler: the indices to load, in order, instead of the whole dataset (such as a ``DistributedSampler``:
            this rank's share); iterated anew every epoch, and it must have a ``len``. Excludes ``shuffle``.

    Example::

        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for images, labels in loader:
        ...     ...
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn: Callable[[list], Any] | None = None,
                 generator: np.random.Generator | int | None = None, *, sampler: Iterable[int] | None = None) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.sampler = sampler
        # A seed becomes one generator for the loader's lifetime, so successive epochs get different orders.
        self.generator = None if generator is None else as_generator(generator)

    def __len__(self) -> int:
        count, remainder = divmod(len(self.dataset if self.sampler is None else self.sampler), self.batch_size)
        return count + (1 if remainder and not self.drop_last else 0)

    def __iter__(self) -> Iterator[Any]:
        if self.sampler is not None:
            order = np.fromiter(self.sampler, np.int64)
        elif self.shuffle:
            order = as_generator(self.generator).permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        size = len(order)
        stop = size - size % self.batch_size if self.drop_last else size
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if self.collate_fn is not None:
                yield self.collate_fn([self.dataset[int(index)] for index in indices])
            elif isinstance(self.dataset, Dataset):
                yield _to_tensors(self.dataset.get_batch(indices))
            else:
                yield _to_tensors(default_collate([self.dataset[int(index)] for index in indices]))


def _to_tensors(batch: Any) -> Any:
    """Wrap the ndarrays of a collated batch (tuple, dict or array) as Tensors."""
    if isinstance(batch, tuple):
        return tuple(_to_tensors(field) for field in batch)
    if isinstance(batch, dict):
        return {key: _to_tensors(value) for key, value in batch.items()}
    if isinstance(batch, np.ndarray):
        return wrap(batch)
    return batch if isinstance(batch, Tensor) else wrap(np.asarray(batch))
