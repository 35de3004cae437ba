"""``nn.utils.data``: the path PyTorch users know (``torch.utils.data``) to the data loading of ``nn.data``.

Every name is ``nn.data``'s own object (``nn.utils.data.DataLoader is nn.data.DataLoader``); this module only
re-exports them, so the code and its documentation stay in ``nn/data/``.

Example::

    >>> from nn.utils.data import DataLoader, TensorDataset
"""

from ..data import (
    CIFAR10, MNIST, BatchSampler, ConcatDataset, DataLoader, Dataset, DistributedSampler, ImageDataset,
    RandomSampler, Sampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
    WorkerInfo, default_collate, get_worker_info, load_digits, random_split, read_idx, transforms,
)

__all__ = [
    "CIFAR10", "MNIST", "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler", "ImageDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
    "WeightedRandomSampler", "WorkerInfo", "default_collate", "get_worker_info", "load_digits", "random_split",
    "read_idx", "transforms",
]
