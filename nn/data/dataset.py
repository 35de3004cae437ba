"""Datasets: indexable collections of samples, with a batched fetch so loaders avoid per-item Python loops."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from autograd import random as _random
from autograd.tensor import Tensor


class Dataset:
    """Base class of map-style datasets: ``dataset[i]`` is one sample, ``len(dataset)`` their number.

    Subclasses implement ``__getitem__`` and ``__len__``. They may also override ``get_batch(indices)``,
    which ``DataLoader`` calls to fetch a whole collated batch at once (the default stacks the samples
    one by one).
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def get_batch(self, indices: np.ndarray) -> Any:
        """The samples at ``indices`` collated into one batch (a tuple of stacked arrays for tuple samples).

        Args:
            indices: 1-d integer array.
        """
        return default_collate([self[int(index)] for index in indices])


class TensorDataset(Dataset):
    """A dataset of arrays (or Tensors) that share their first dimension; sample ``i`` is ``tuple(t[i] for t)``.

    Batches are fetched with one fancy-indexing operation per array.

    Args:
        *tensors: ndarrays or Tensors with the same length along dimension 0.
    """

    def __init__(self, *tensors: np.ndarray | Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors)
        sizes = [len(t) for t in self.tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors (first dimensions {sizes})")

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(t[indices] for t in self.tensors)


class ImageDataset(Dataset):
    """Images with integer labels, and an optional transform applied to whole batches of images.

    The base of ``MNIST`` and ``CIFAR10``; also the way to wrap arrays that need augmentation.

    Args:
        images: array of shape (N, C, H, W).
        targets: integer labels, shape (N,).
        transform: callable applied to an image batch (N, C, H, W) or a single image (C, H, W).

    Attributes:
        data: the images. targets: the labels (int64).
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, transform: Callable | None = None) -> None:
        if images.ndim != 4 or len(images) != len(targets):
            raise ValueError(f"ImageDataset: expected images (N, C, H, W) and N labels, got images {images.shape} "
                             f"and labels {np.shape(targets)}")
        self.data = images
        self.targets = np.asarray(targets, dtype=np.int64)
        self.transform = transform

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.data[index]
        return (image if self.transform is None else self.transform(image)), int(self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def get_batch(self, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        images = self.data[indices]
        return (images if self.transform is None else self.transform(images)), self.targets[indices]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the full dataset.
        indices: positions in ``dataset``.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices: np.ndarray) -> Any:
        return self.dataset.get_batch(self.indices[indices])


class ConcatDataset(Dataset):
    """Datasets one after another: index ``i`` of the concatenation is in the first dataset whose cumulative
    size exceeds ``i``.

    A batch is fetched with one ``get_batch`` call per dataset it touches; the parts are concatenated and put
    back in the order of the indices.

    Args:
        datasets: the datasets to concatenate (at least one).

    Attributes:
        cumulative_sizes: the running totals of the datasets' lengths.
    """

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = np.cumsum([len(dataset) for dataset in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each index (negative ones count from the end), its dataset and its position in that dataset."""
        if np.any(indices < -len(self)) or np.any(indices >= len(self)):
            raise IndexError(f"ConcatDataset: index out of range for a dataset of length {len(self)}")
        indices = np.where(indices < 0, indices + len(self), indices)
        which = np.searchsorted(self.cumulative_sizes, indices, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes])[which]
        return which, indices - starts

    def __getitem__(self, index: int) -> Any:
        (which,), (local,) = self._locate(np.array([index]))
        return self.datasets[which][int(local)]

    def get_batch(self, indices: np.ndarray) -> Any:
        which, local = self._locate(np.asarray(indices, dtype=np.int64))
        parts = np.unique(which)
        if len(parts) == 1:
            return _batch_of(self.datasets[parts[0]], local)
        batches = [_batch_of(self.datasets[part], local[which == part]) for part in parts]
        # Positions of the samples in the concatenated parts, in the order they were asked for.
        order = np.argsort(np.argsort(which, kind="stable"), kind="stable")
        return _merge(batches, order)


def _batch_of(dataset: Any, indices: np.ndarray) -> Any:
    """``dataset.get_batch(indices)``, or the samples collated one by one for a dataset without it."""
    if isinstance(dataset, Dataset):
        return dataset.get_batch(indices)
    return default_collate([dataset[int(index)] for index in indices])


def _merge(batches: list[Any], order: np.ndarray) -> Any:
    """Concatenate collated batches of the same structure, then take their samples in ``order``."""
    first = batches[0]
    if isinstance(first, tuple):
        return tuple(_merge(list(fields), order) for fields in zip(*batches))
    if isinstance(first, dict):
        return {key: _merge([batch[key] for batch in batches], order) for key in first}
    return np.concatenate([batch.data if isinstance(batch, Tensor) else np.asarray(batch) for batch in batches])[order]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: np.random.Generator | int | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets.

    Args:
        dataset: the dataset to split.
        lengths: sizes of the parts, or fractions that sum to 1 (the remainder of rounding down goes
            one by one to the first parts, as in PyTorch).
        generator: a numpy Generator or an int seed; None uses the global generator (``autograd.manual_seed``).

    Returns:
        list of ``Subset``.
    """
    total = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(total * fraction)) for fraction in lengths]
        for index in range(total - sum(counts)):
            counts[index % len(counts)] += 1
    else:
        counts = [int(length) for length in lengths]
    if any(count < 0 for count in counts) or sum(counts) != total:
        raise ValueError(f"random_split: sum of input lengths {list(lengths)} does not equal the length of the "
                         f"input dataset ({total})")
    order = as_generator(generator).permutation(total)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


def as_generator(generator: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed, or None (the global generator)."""
    if generator is None:
        return _random.generator()
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(generator)


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: tuples field by field, arrays and numbers along a new axis 0.

    Python ints become int64 and floats float64, as in PyTorch; Tensors are stacked by their data.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate(field) for field in zip(*samples))
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    return np.stack([sample.data if isinstance(sample, Tensor) else np.asarray(sample) for sample in samples])
