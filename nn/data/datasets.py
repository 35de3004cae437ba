"""Image datasets read from local files: the bundled UCI digits, MNIST (IDX files) and CIFAR-10 (binary version).

Nothing is downloaded and nothing is unpickled: MNIST and CIFAR-10 are parsed from their documented
binary layouts, and a missing or malformed file raises an error that names it and says what is wrong.
Only regular files are read (never a FIFO or a device), and never more bytes than their headers and
sizes announce, so a hostile file cannot make a reader block or allocate much more than it holds.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from autograd.serialization import open_regular_file

from .dataset import ImageDataset

DIGITS_FILE = Path(__file__).with_name("digits.csv.gz")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI optical-recognition handwritten digits, bundled with gradlab (no download).

    1,797 grey 8x8 images of the digits 0-9, each pixel a count 0..16 (Alpaydin & Kaynak, 1998; UCI ML
    Repository, CC BY 4.0; see ``nn/data/DIGITS_LICENSE.txt``).

    Returns:
        ``(images, labels)``: uint8 array of shape (1797, 1, 8, 8) with values 0..16, and int64 labels (1797,).
    """
    with gzip.open(DIGITS_FILE, "rt") as file:
        table = np.loadtxt(file, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"{DIGITS_FILE}: expected 1797 rows of 65 values (64 pixels and a label), got {table.shape}")
    return table[:, :64].astype(np.uint8).reshape(-1, 1, 8, 8), table[:, 64]


class MNIST(ImageDataset):
    """MNIST handwritten digits from the four standard IDX files in a local folder.

    Looks in ``root`` and ``root/MNIST/raw`` (torchvision's layout) for ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each possibly
    gzipped (``.gz``).

    Args:
        root: folder holding the files.
        train: the 60,000 training images if True, else the 10,000 test images.
        transform: applied to image batches (N, 1, 28, 28) or single images (see ``nn.data.transforms``).

    Attributes:
        data: uint8 images (N, 1, 28, 28). targets: int64 labels (N,). classes: the class names.
    """

    classes = [str(digit) for digit in range(10)]

    def __init__(self, root: str | Path, train: bool = True, transform: Callable | None = None) -> None:
        prefix = "train" if train else "t10k"
        images = read_idx(_find(root, ["", "MNIST/raw"], _gzipped_or_not(f"{prefix}-images-idx3-ubyte")), ndim=3)
        labels_path = _find(root, ["", "MNIST/raw"], _gzipped_or_not(f"{prefix}-labels-idx1-ubyte"))
        labels = read_idx(labels_path, ndim=1)
        if len(labels) != len(images):
            raise ValueError(f"{labels_path}: {len(labels)} labels for {len(images)} images")
        if labels.max(initial=0) > 9:
            raise ValueError(f"{labels_path}: labels must be digits 0..9, found {labels.max()}")
        super().__init__(images[:, None], labels, transform)


class CIFAR10(ImageDataset):
    """CIFAR-10 from the binary version (``cifar-10-binary.tar.gz``, extracted) in a local folder.

    Looks in ``root`` and ``root/cifar-10-batches-bin`` for ``data_batch_1.bin`` ... ``data_batch_5.bin``
    (training) or ``test_batch.bin`` (test). Each record is one label byte and 3,072 pixel bytes
    (red, green, blue planes of 32x32).

    Args:
        root: folder holding the files.
        train: the 50,000 training images if True, else the 10,000 test images.
        transform: applied to image batches (N, 3, 32, 32) or single images (see ``nn.data.transforms``).

    Attributes:
        data: uint8 images (N, 3, 32, 32). targets: int64 labels (N,). classes: the class names.
    """

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    RECORD = 1 + 3 * 32 * 32

    def __init__(self, root: str | Path, train: bool = True, transform: Callable | None = None) -> None:
        names = [f"data_batch_{index}.bin" for index in range(1, 6)] if train else ["test_batch.bin"]
        parts = []
        for name in names:
            path = _find(root, ["", "cifar-10-batches-bin"], [name])
            with open_regular_file(path) as file:
                size = os.fstat(file.fileno()).st_size
                if size == 0 or size % self.RECORD:
                    raise ValueError(f"{path}: size {size} bytes is not a positive multiple of the "
                                     f"{self.RECORD}-byte CIFAR-10 record (1 label byte + 3x32x32 pixels)")
                raw = np.fromfile(file, dtype=np.uint8, count=size)
            if raw.size != size:
                raise ValueError(f"{path}: {raw.size} bytes read of the {size} the file had when opened")
            records = raw.reshape(-1, self.RECORD)
            if records[:, 0].max() > 9:
                raise ValueError(f"{path}: label byte {records[:, 0].max()} out of range 0..9 (is this CIFAR-100?)")
            parts.append(records)
        records = np.concatenate(parts)
        super().__init__(records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64), transform)


# IDX type codes (http://yann.lecun.com/exdb/mnist/): the element type of the array that follows.
IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


# Deflate cannot expand data by more than 1032:1, so a gzipped IDX header announcing more than that many
# bytes per compressed byte is a lie, refused before the array is allocated.
_DEFLATE_MAX_RATIO = 1032


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an array stored in the IDX format (gzipped if the name ends in ``.gz``).

    The header is two zero bytes, a type code, the number of dimensions, then each dimension as a big-endian
    int32; the data follows in row-major order. The header is read first, and then exactly the bytes it
    announces, once the file's size shows they can be there.

    Args:
        path: the file.
        ndim: the number of dimensions expected, or None to accept any.

    Returns:
        the array, in native byte order.

    Raises:
        ValueError: the file cannot be read, is not a regular file, or its content does not match its header.
    """
    path = Path(path)
    try:
        with open_regular_file(path) as raw:
            size = os.fstat(raw.fileno()).st_size
            if path.suffix == ".gz":
                with gzip.GzipFile(fileobj=raw) as file:
                    return _read_idx_content(file, path, ndim, size * _DEFLATE_MAX_RATIO)
            return _read_idx_content(raw, path, ndim, size)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: cannot read the file ({error})") from None


def _read_idx_content(file: BinaryIO, path: Path, ndim: int | None, most: int) -> np.ndarray:
    """The IDX array in ``file``, which holds at most ``most`` bytes (header included)."""
    magic = file.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {magic.hex() or 'empty'})")
    dtype, dims = IDX_TYPES[magic[2]], magic[3]
    if ndim is not None and dims != ndim:
        raise ValueError(f"{path}: expected an IDX array with {ndim} dimensions, the header says {dims}")
    sizes = file.read(4 * dims)
    if len(sizes) < 4 * dims:
        raise ValueError(f"{path}: truncated IDX header ({4 + len(sizes)} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(sizes, ">u4"))
    expected = math.prod(shape) * dtype.itemsize
    header = 4 + 4 * dims
    if expected > most - header:
        raise ValueError(f"{path}: the header announces shape {shape} ({expected} bytes of data), but the file "
                         f"holds at most {max(most - header, 0)} bytes after the header")
    content = bytearray(expected)
    read = file.readinto(content)
    if read != expected or file.read(1):
        raise ValueError(f"{path}: the header announces shape {shape} ({expected} bytes of data), but the file "
                         f"holds {'more' if read == expected else read} bytes after the header")
    return np.frombuffer(content, dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _gzipped_or_not(name: str) -> list[str]:
    return [name, name + ".gz"]


def _find(root: str | Path, folders: list[str], names: list[str]) -> Path:
    """The first existing ``root/folder/name``; else a FileNotFoundError that lists every place tried."""
    candidates = [Path(root) / folder / name for folder in folders for name in names]
    for candidate in candidates:
        # exists(), not is_file(): a FIFO or a folder under a dataset file's name is reported as such by the reader.
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"dataset file {names[0]} not found; looked for: {', '.join(map(str, candidates))}")
