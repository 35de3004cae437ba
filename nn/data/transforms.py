"""Image transforms that work on a whole batch (N, C, H, W) at once, or on one image (C, H, W).

Each transform takes and returns an ndarray (or a Tensor, after ``ToTensor``); random ones draw one
choice per image from the global generator, so ``autograd.manual_seed`` makes augmentation reproducible.
Typical use::

    transform = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), ToTensor(),
                         Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from autograd import random as _random
from autograd.tensor import Tensor, wrap


def _batched(transform: Callable[[np.ndarray], np.ndarray], images: Any, name: str) -> Any:
    """Run ``transform`` on (N, C, H, W) data, adding and removing the batch axis for a single image;
    Tensors in give Tensors out."""
    array = images.data if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim not in (3, 4):
        raise ValueError(f"{name}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {array.shape}")
    result = transform(array[None] if array.ndim == 3 else array)
    result = result[0] if array.ndim == 3 else result
    return wrap(result) if isinstance(images, Tensor) else result


class Compose:
    """Apply transforms one after another.

    Args:
        transforms: the transforms, in order.
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, images: Any) -> Any:
        for transform in self.transforms:
            images = transform(images)
        return images

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(repr(transform) for transform in self.transforms) + ")"


class ToTensor:
    """Convert images to a float32 Tensor: uint8 values in [0, 255] are scaled to [0, 1], other types only
    cast. The layout is kept (gradlab's datasets already store images channels first)."""

    def __call__(self, images: Any) -> Tensor:
        array = images.data if isinstance(images, Tensor) else np.asarray(images)
        if array.dtype == np.uint8:
            return wrap(array.astype(np.float32) / np.float32(255))
        return wrap(array.astype(np.float32, copy=False))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Per-channel ``(x - mean[c]) / std[c]``.

    Args:
        mean: one value per channel (or one for all).
        std: one value per channel (or one for all), all non-zero.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to float32, leading to division by "
                             f"zero (std={std})")

    def __call__(self, images: Any) -> Any:
        def normalize(batch: np.ndarray) -> np.ndarray:
            channels = batch.shape[1]
            if len(self.mean) not in (1, channels) or len(self.std) not in (1, channels):
                raise ValueError(f"Normalize: {len(self.mean)} means and {len(self.std)} stds for images with "
                                 f"{channels} channels")
            return ((batch - self.mean) / self.std).astype(np.float32, copy=False)
        return _batched(normalize, images, "Normalize")

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


class RandomCrop:
    """Crop each image at a random position, after zero-padding its borders.

    Args:
        size: output size, an int (square) or (height, width).
        padding: zeros added on each side before cropping.
    """

    def __init__(self, size: int | tuple[int, int], padding: int = 0) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding}")
        self.padding = padding

    def __call__(self, images: Any) -> Any:
        def crop(batch: np.ndarray) -> np.ndarray:
            pad = self.padding
            if pad:
                batch = np.pad(batch, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            height, width = self.size
            if batch.shape[2] < height or batch.shape[3] < width:
                raise ValueError(f"RandomCrop: crop size {self.size} is larger than the padded image "
                                 f"{batch.shape[2:]}")
            rng = _random.generator()
            top = rng.integers(0, batch.shape[2] - height + 1, len(batch))
            left = rng.integers(0, batch.shape[3] - width + 1, len(batch))
            # All crop windows as a strided view (N, C, rows, cols, height, width); pick one per image.
            windows = np.lib.stride_tricks.sliding_window_view(batch, (height, width), axis=(2, 3))
            return windows[np.arange(len(batch)), :, top, left]
        return _batched(crop, images, "RandomCrop")

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``.

    Args:
        p: probability of flipping an image.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, images: Any) -> Any:
        def flip(batch: np.ndarray) -> np.ndarray:
            chosen = _random.generator().random(len(batch)) < self.p
            return np.where(chosen[:, None, None, None], batch[..., ::-1], batch)
        return _batched(flip, images, "RandomHorizontalFlip")

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
