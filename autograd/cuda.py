"""``autograd.cuda``: whether gradlab can use an NVIDIA GPU (through CuPy), as ``torch.cuda`` says."""

from __future__ import annotations

from . import device as _device


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU (never raises)."""
    try:
        _device._cuda_device_count()
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or without a GPU)."""
    try:
        return _device._cuda_device_count()
    except RuntimeError:
        return 0
