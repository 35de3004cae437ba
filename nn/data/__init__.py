"""Data loading: datasets, batched loaders, batch transforms and the bundled digits data.

Example::

    >>> from nn.data import DataLoader, TensorDataset, load_digits
    >>> images, labels = load_digits()
    >>> loader = DataLoader(TensorDataset(images / 16.0, labels), batch_size=64, shuffle=True)
"""

from . import transforms
from .dataloader import DataLoader, WorkerInfo, get_worker_info
from .dataset import ConcatDataset, Dataset, ImageDataset, Subset, TensorDataset, default_collate, random_split
from .datasets import CIFAR10, MNIST, load_digits, read_idx
from .sampler import (
    BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
    WeightedRandomSampler,
)
