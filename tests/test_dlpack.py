"""DLPack: gradlab tensors and other libraries' arrays share memory both ways, without copies."""

import sys
import types

import numpy as np
import pytest

import autograd
import autograd.cuda
from autograd import Tensor


def test_numpy_from_dlpack_shares_memory_both_ways():
    t = autograd.arange(6, dtype=np.float32).reshape(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a.dtype == np.float32
    assert np.shares_memory(a, t.data)
    a[0, 1] = 42.0
    assert t.data[0, 1] == 42.0
    t.data[1, 2] = -1.0
    assert a[1, 2] == -1.0


def test_from_dlpack_of_a_numpy_array_shares_memory():
    a = np.linspace(0, 1, 12, dtype=np.float64).reshape(3, 4)[:, ::2]  # a strided view travels as it is
    t = autograd.from_dlpack(a)
    assert isinstance(t, Tensor) and t.shape == (3, 2) and t.dtype == np.float64
    assert not t.requires_grad
    a[2, 1] = 7.0
    assert t.data[2, 1] == 7.0
    t.add_(1.0)
    np.testing.assert_array_equal(a[0], [1.0, 1 + 2 / 11])


def test_dlpack_device_is_the_host():
    assert tuple(int(v) for v in autograd.zeros(2).__dlpack_device__()) == (1, 0)


def test_tensors_that_require_grad_are_refused_as_in_pytorch():
    t = autograd.ones(3, requires_grad=True)
    with pytest.raises(BufferError, match="require gradient, use tensor.detach"):
        np.from_dlpack(t)
    a = np.from_dlpack(t.detach())
    a[0] = 5.0
    assert t.data[0] == 5.0  # detach() shares the memory, as in PyTorch


def test_round_trip_through_gradlab_keeps_dtypes():
    for dtype in (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_):
        a = np.zeros((2, 2), dtype)
        back = np.from_dlpack(autograd.from_dlpack(a))
        assert back.dtype == dtype and np.shares_memory(back, a)


def test_from_dlpack_names_what_it_cannot_read():
    with pytest.raises(TypeError, match="from_dlpack.*list"):
        autograd.from_dlpack([1.0, 2.0])


def test_torch_shares_memory_both_ways():
    torch = pytest.importorskip("torch")
    t = autograd.randn(2, 3)
    shared = torch.from_dlpack(t)
    assert shared.shape == (2, 3) and shared.dtype == torch.float32
    shared[1, 1] = 3.5
    assert t.data[1, 1] == 3.5
    t.mul_(2.0)
    assert shared[1, 1].item() == 7.0

    source = torch.arange(4, dtype=torch.float64)
    view = autograd.from_dlpack(source)
    assert view.dtype == np.float64
    source.add_(10)
    np.testing.assert_array_equal(view.data, [10.0, 11.0, 12.0, 13.0])
    view.data[0] = -1.0
    assert source[0].item() == -1.0


def test_torch_requires_grad_is_refused_on_both_sides():
    torch = pytest.importorskip("torch")
    with pytest.raises(BufferError, match="require gradient"):
        torch.from_dlpack(autograd.ones(2, requires_grad=True))
    with pytest.raises(BufferError, match="require gradient"):
        autograd.from_dlpack(torch.ones(2, requires_grad=True))
    assert autograd.from_dlpack(torch.ones(2, requires_grad=True).detach()).shape == (2,)


def test_a_copy_is_made_only_when_asked():
    t = autograd.ones(3)
    copied = np.from_dlpack(t, copy=True)
    assert not np.shares_memory(copied, t.data)
    copied[0] = 9.0
    assert t.data[0] == 1.0


# ----------------------------------------------------------------------------- GPU memory (through CuPy)

class OnTheGpu:
    """A DLPack producer reporting CUDA memory (kDLCUDA = 2), as a CuPy array or a torch CUDA tensor does."""

    def __init__(self, device_id: int = 0) -> None:
        self.device_id = device_id

    def __dlpack__(self, **settings):
        raise AssertionError("host code read the capsule of GPU memory")

    def __dlpack_device__(self) -> tuple[int, int]:
        return 2, self.device_id


def test_gpu_memory_without_cupy_is_the_device_layers_error(monkeypatch, without_cuda_backend):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(RuntimeError, match="cuda: CuPy is not installed.*pip install cupy-cuda12x"):
        autograd.from_dlpack(OnTheGpu())


def test_gpu_memory_is_taken_by_cupy_from_dlpack(monkeypatch, without_cuda_backend):
    taken, made = [], np.zeros(3)  # ``made`` stands in for the CuPy array cupy.from_dlpack returns
    fake = types.ModuleType("cupy")
    fake.__version__ = "14.2.0"
    fake.ndarray = type("ndarray", (), {})
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    fake.from_dlpack = lambda obj: taken.append(obj) or made
    monkeypatch.setitem(sys.modules, "cupy", fake)
    source = OnTheGpu()
    t = autograd.from_dlpack(source)
    assert taken == [source] and t.data is made and not t.requires_grad
    with pytest.raises(RuntimeError, match="device cuda:1 was asked for, but only 1 GPU"):
        autograd.from_dlpack(OnTheGpu(1))


def test_memory_on_other_devices_is_refused():
    producer = OnTheGpu()
    producer.__dlpack_device__ = lambda: (10, 0)  # kDLROCM
    with pytest.raises(BufferError, match=r"from_dlpack\(\).*OnTheGpu is on DLPack device \(10, 0\).*CPU first"):
        autograd.from_dlpack(producer)


@pytest.mark.skipif(not autograd.cuda.is_available(), reason="needs CuPy and a CUDA GPU")
def test_cupy_shares_gpu_memory_both_ways():
    import cupy

    source = cupy.arange(4, dtype=cupy.float32)
    t = autograd.from_dlpack(source)
    assert t.device == "cuda:0" and t.dtype == np.float32
    source += 10
    np.testing.assert_array_equal(t.cpu().numpy(), [10, 11, 12, 13])
    assert tuple(int(v) for v in t.__dlpack_device__()) == (2, 0)
    back = cupy.from_dlpack(t)
    back[0] = -1
    assert float(source[0]) == -1.0
