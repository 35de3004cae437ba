"""Data loading: datasets, DataLoader batching and shuffling, transforms, and the file readers."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

import autograd
from autograd.tensor import Tensor
from nn.data import (
    CIFAR10, MNIST, DataLoader, Dataset, ImageDataset, TensorDataset, load_digits, random_split, read_idx,
)
from nn.data import transforms as T


class Squares(Dataset):
    """A dataset with only __getitem__/__len__, to exercise the per-sample path."""

    def __getitem__(self, index):
        return np.array([index, index * index], dtype=np.float32), index % 3

    def __len__(self):
        return 10


def test_tensor_dataset_batches_in_order_with_last_partial_batch():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    loader = DataLoader(TensorDataset(x, autograd.tensor(y)), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    assert all(isinstance(field, Tensor) for batch in batches for field in batch)
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), x)
    np.testing.assert_array_equal(batches[2][1].data, [8, 9])
    assert len(DataLoader(TensorDataset(x), batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in DataLoader(TensorDataset(x), batch_size=4, drop_last=True)] == [4, 4]


@pytest.mark.parametrize("batch_size", [0, -2, 2.0, True])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        DataLoader(TensorDataset(np.zeros(4)), batch_size=batch_size)


def test_loader_fetches_whole_batches_not_samples():
    calls = []

    class Recording(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the loader fetched a single sample")

        def get_batch(self, indices):
            calls.append(indices)
            return super().get_batch(indices)

    list(DataLoader(Recording(np.zeros((100, 3))), batch_size=25, shuffle=True))
    assert len(calls) == 4


def test_shuffle_is_a_permutation_and_reproducible():
    x = np.arange(50)

    def epoch(loader):
        return np.concatenate([batch[0].data for batch in loader])

    autograd.manual_seed(3)
    first = epoch(DataLoader(TensorDataset(x), batch_size=8, shuffle=True))
    autograd.manual_seed(3)
    again = epoch(DataLoader(TensorDataset(x), batch_size=8, shuffle=True))
    np.testing.assert_array_equal(first, again)
    assert sorted(first) == list(x) and not np.array_equal(first, x)
    seeded = DataLoader(TensorDataset(x), batch_size=8, shuffle=True, generator=5)
    one, two = epoch(seeded), epoch(seeded)
    assert not np.array_equal(one, two), "each epoch draws a new order"
    np.testing.assert_array_equal(one, epoch(DataLoader(TensorDataset(x), batch_size=8, shuffle=True, generator=5)))


def test_per_sample_dataset_and_collate_fn():
    images, labels = next(iter(DataLoader(Squares(), batch_size=4)))
    np.testing.assert_array_equal(images.data, [[0, 0], [1, 1], [2, 4], [3, 9]])
    assert images.dtype == np.float32 and labels.dtype == np.int64
    assert next(iter(DataLoader(Squares(), batch_size=3, collate_fn=lambda samples: len(samples)))) == 3


def test_random_split_lengths_fractions_and_errors():
    dataset = TensorDataset(np.arange(10))
    parts = random_split(dataset, [7, 3], generator=0)
    assert [len(part) for part in parts] == [7, 3]
    assert sorted(np.concatenate([part.indices for part in parts])) == list(range(10))
    assert [len(part) for part in random_split(dataset, [0.5, 0.25, 0.25], generator=0)] == [6, 2, 2]
    np.testing.assert_array_equal(random_split(dataset, [7, 3], generator=0)[0].indices, parts[0].indices)
    batch = next(iter(DataLoader(parts[1], batch_size=3)))[0].data
    np.testing.assert_array_equal(batch, parts[1].indices)
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(dataset, [5, 4])


def test_transforms_on_batches_and_single_images():
    images = np.arange(2 * 3 * 4 * 4, dtype=np.uint8).reshape(2, 3, 4, 4)
    tensor = T.ToTensor()(images)
    assert isinstance(tensor, Tensor) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor.data, images / 255, rtol=1e-6)
    normalized = T.Normalize((0.1, 0.2, 0.3), (0.5, 1.0, 2.0))(tensor)
    np.testing.assert_allclose(normalized.data[:, 2], (images[:, 2] / 255 - 0.3) / 2.0, rtol=1e-5)
    single = T.Normalize(0.5, 0.25)(images[0].astype(np.float32))
    np.testing.assert_allclose(single, (images[0] - 0.5) / 0.25)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="3 means"):
        T.Normalize((0.1, 0.2, 0.3), (1, 1, 1))(np.zeros((1, 2, 4, 4)))


def test_random_crop_windows_come_from_the_padded_image():
    autograd.manual_seed(0)
    batch = np.random.default_rng(0).random((64, 2, 5, 5)).astype(np.float32)
    crops = T.RandomCrop(5, padding=2)(batch)
    assert crops.shape == (64, 2, 5, 5)
    padded = np.pad(batch, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for image, crop in zip(padded, crops):
        matches = [(top, left) for top in range(5) for left in range(5)
                   if np.array_equal(image[:, top:top + 5, left:left + 5], crop)]
        assert matches
        offsets.add(matches[0])
    assert len(offsets) > 5, "offsets are drawn per image"
    assert T.RandomCrop((3, 2))(batch[0]).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(9, padding=1)(batch)


def test_random_horizontal_flip_and_reproducibility():
    batch = np.random.default_rng(1).random((200, 1, 3, 3))
    autograd.manual_seed(7)
    flipped = T.RandomHorizontalFlip()(batch)
    is_flipped = np.all(flipped == batch[..., ::-1], axis=(1, 2, 3))
    assert np.all(is_flipped | np.all(flipped == batch, axis=(1, 2, 3)))
    assert 60 < is_flipped.sum() < 140
    autograd.manual_seed(7)
    np.testing.assert_array_equal(T.RandomHorizontalFlip()(batch), flipped)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(batch), batch)


def test_image_dataset_applies_the_transform_per_batch():
    images = np.zeros((10, 1, 4, 4), dtype=np.uint8) + 255
    dataset = ImageDataset(images, np.arange(10), transform=T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)]))
    x, y = next(iter(DataLoader(dataset, batch_size=10)))
    np.testing.assert_allclose(x.data, 1.0)
    assert y.dtype == np.int64
    image, label = dataset[3]
    assert image.shape == (1, 4, 4) and label == 3


def test_load_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert labels.shape == (1797,) and set(labels.tolist()) == set(range(10))
    # The first image is a 0: a ring of ink with an empty centre.
    assert labels[0] == 0 and images[0, 0, 4, 4] == 0 and images[0, 0, 1, 2] > 8


def write_idx(path, array, type_code=0x08, compress=False):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    content = header + array.tobytes()
    (gzip.open if compress else open)(path, "wb").write(content)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress=compress)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress=compress)
    dataset = MNIST(tmp_path, train=False)
    assert dataset.data.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(dataset.data[:, 0], images)
    np.testing.assert_array_equal(dataset.targets, labels)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        MNIST(tmp_path, train=True)


def test_idx_reader_types_and_errors(tmp_path):
    values = np.array([[1.5, -2.0], [3.25, 0.0]], dtype=">f4")
    write_idx(tmp_path / "floats", values, type_code=0x0D)
    np.testing.assert_array_equal(read_idx(tmp_path / "floats"), values.astype(np.float32))
    (tmp_path / "bad-magic").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(ValueError, match="bad-magic: not an IDX file"):
        read_idx(tmp_path / "bad-magic")
    write_idx(tmp_path / "short", np.zeros((3, 4), dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-2])
    with pytest.raises(ValueError, match=r"short: the header announces shape \(3, 4\)"):
        read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="expected an IDX array with 3 dimensions"):
        read_idx(tmp_path / "floats", ndim=3)
    (tmp_path / "broken.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="broken.gz: cannot read"):
        read_idx(tmp_path / "broken.gz")


@pytest.mark.parametrize("compress", [False, True])
def test_an_idx_header_announcing_more_than_the_file_can_hold_is_refused_before_allocating(tmp_path, compress):
    path = tmp_path / ("huge.gz" if compress else "huge")
    header = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 2**16, 2**16, 2**10)  # 2**42 float64 values: 32 TiB
    (gzip.open if compress else open)(path, "wb").write(header + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"{path.name}: the header announces shape \(65536, 65536, 1024\) "
                                             rf"\(35184372088832 bytes of data\), but the file holds at most"):
            read_idx(path)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()


def test_a_gzipped_idx_file_is_read_to_exactly_the_announced_size(tmp_path):
    write_idx(tmp_path / "good.gz", np.arange(12, dtype=np.uint8).reshape(3, 4), compress=True)
    content = gzip.decompress((tmp_path / "good.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "good.gz"), np.arange(12).reshape(3, 4))
    (tmp_path / "short.gz").write_bytes(gzip.compress(content[:-2]))
    with pytest.raises(ValueError, match=r"short.gz: the header announces shape \(3, 4\) \(12 bytes of data\), but "
                                         r"the file holds 10 bytes after the header"):
        read_idx(tmp_path / "short.gz")
    # A gzip bomb behind an honest-looking header: 20 MiB of zeros in about 20 KiB.
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(content + bytes(20 * 2**20)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb.gz: .*but the file holds more bytes after the header"):
            read_idx(tmp_path / "bomb.gz")
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()
    (tmp_path / "cut.gz").write_bytes((tmp_path / "good.gz").read_bytes()[:-6])  # the CRC trailer is gone
    with pytest.raises(ValueError, match="cut.gz: cannot read the file"):
        read_idx(tmp_path / "cut.gz")


def write_cifar(path, labels, rng):
    pixels = rng.integers(0, 256, (len(labels), 3 * 32 * 32), dtype=np.uint8)
    path.write_bytes(np.concatenate([np.asarray(labels, np.uint8)[:, None], pixels], axis=1).tobytes())
    return pixels.reshape(-1, 3, 32, 32)


def test_cifar10_reads_binary_batches(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    expected = [write_cifar(folder / f"data_batch_{index}.bin", [index, 9 - index], rng) for index in range(1, 6)]
    dataset = CIFAR10(tmp_path, train=True)
    assert dataset.data.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(dataset.data, np.concatenate(expected))
    np.testing.assert_array_equal(dataset.targets, [1, 8, 2, 7, 3, 6, 4, 5, 5, 4])
    with pytest.raises(FileNotFoundError, match="test_batch.bin"):
        CIFAR10(tmp_path, train=False)
    (folder / "test_batch.bin").write_bytes(b"\x00" * 3000)
    with pytest.raises(ValueError, match="test_batch.bin: size 3000 bytes"):
        CIFAR10(tmp_path, train=False)
    write_cifar(folder / "test_batch.bin", [42], rng)
    with pytest.raises(ValueError, match="label byte 42"):
        CIFAR10(tmp_path, train=False)
