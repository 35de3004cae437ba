"""Shared test settings: float64 tolerances and a fixed seed for every test."""

import pytest

import autograd


@pytest.fixture(autouse=True)
def _seed():
    autograd.manual_seed(0)


@pytest.fixture
def without_cuda_backend(monkeypatch):
    """The device layer as before CuPy was first loaded, so that a test's own ``sys.modules["cupy"]`` (None for
    "not installed", or a fake) is what ``"cuda"`` loads; the real registrations come back afterwards."""
    from autograd import device

    monkeypatch.setattr(device, "_backends", dict(device._backends))
    monkeypatch.setattr(device, "_by_array_type", dict(device._by_array_type))
    device._backends.pop("cuda", None)
