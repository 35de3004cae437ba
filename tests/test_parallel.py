"""autograd.kernels.parallel: batch chunks on helper threads give the results of one chunk, errors in helpers reach
the caller, the caller does not wait for idle helpers, and a forked child starts its own helpers.
"""

import multiprocessing
import os
import threading

import numpy as np
import pytest

import autograd
import nn.functional as F
from autograd.kernels import parallel


def leaf(array):
    return autograd.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@pytest.fixture
def three_threads(monkeypatch):
    """Chunks spread over three threads, whatever BLAS and the machine allow."""
    parallel.blas_threads()  # finds the BLAS whose thread limit the chunks set
    monkeypatch.setattr(parallel, "blas_threads", lambda: 3)


# stride 2 takes four stride phases in the input gradient; 2x2 images with 16 channels take the weight gradient's
# side-by-side product
@pytest.mark.parametrize("stride, size, channels", [(1, 32, 8), (2, 32, 8), (1, 2, 16)])
def test_batch_chunks_on_threads_match_one_chunk(monkeypatch, three_threads, stride, size, channels):
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((16, channels, size, size)), rng.standard_normal((channels, channels, 3, 3))
    results = []
    # One image per chunk over three threads, then the whole batch in the calling thread.
    for chunk_bytes, parallel_bytes in ((1 << 12, 0), (1 << 30, 1 << 30)):
        monkeypatch.setattr(parallel, "CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(parallel, "PARALLEL_BYTES", parallel_bytes)
        monkeypatch.setattr(parallel, "PARALLEL_MULTIPLY_ADDS", parallel_bytes)
        inputs = leaf(x), leaf(w)
        y = F.conv2d(*inputs, stride=stride, padding=1)
        y.backward(autograd.ones(*y.shape))
        results.append([y.data, inputs[0].grad.data, inputs[1].grad.data])
    for chunked, whole in zip(*results):
        np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)


def test_the_chunks_cover_the_batch_once(monkeypatch, three_threads):
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1)
    seen = []
    parallel.in_batch_chunks(lambda start, stop: seen.append((start, stop)), 7, parallel.PARALLEL_BYTES)
    chunks = sorted(seen)
    assert chunks[0][0] == 0 and chunks[-1][1] == 7 and all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))


def test_an_error_in_a_helper_thread_reaches_the_caller(three_threads):
    caller = threading.current_thread()
    helper_started = threading.Event()

    def work(start, stop):
        if threading.current_thread() is caller:
            assert helper_started.wait(timeout=30)  # holds on to its first chunk until a helper has one
        else:
            helper_started.set()
            raise RuntimeError(f"chunk {start} failed")

    with pytest.raises(RuntimeError, match="chunk [0-5] failed"):
        parallel.in_batch_chunks(work, 6, parallel.CHUNK_BYTES)


def test_the_caller_does_not_wait_for_a_helper_that_took_no_chunk(three_threads):
    parallel.in_batch_chunks(lambda start, stop: None, 6, parallel.CHUNK_BYTES)  # starts the helpers
    release = threading.Event()
    for _ in range(parallel.CORES - 1):
        parallel._helper_tasks.put(release.wait)  # every helper thread is busy elsewhere
    safety_net = threading.Timer(30, release.set)
    safety_net.start()
    threads = []
    try:
        parallel.in_batch_chunks(lambda start, stop: threads.append(threading.current_thread()), 6,
                                 parallel.CHUNK_BYTES)
        assert not release.is_set()  # returned while the helpers were still busy
    finally:
        release.set()
        safety_net.cancel()
    assert threads == [threading.current_thread()] * 6


def test_a_small_batch_runs_in_the_calling_thread():
    threads = []
    parallel.in_batch_chunks(lambda start, stop: threads.append((threading.current_thread(), start, stop)), 4,
                             parallel.PARALLEL_BYTES // 8)
    assert threads == [(threading.current_thread(), 0, 4)]


def test_a_batch_of_few_multiply_adds_runs_in_the_calling_thread(monkeypatch, three_threads):
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 1)  # one image per chunk, when the batch is shared
    few = []
    parallel.in_batch_chunks(lambda start, stop: few.append((threading.current_thread(), start, stop)), 6,
                             parallel.PARALLEL_BYTES, parallel.PARALLEL_MULTIPLY_ADDS // 8)
    assert few == [(threading.current_thread(), 0, 6)]
    many = []
    parallel.in_batch_chunks(lambda start, stop: many.append((start, stop)), 6, parallel.PARALLEL_BYTES,
                             parallel.PARALLEL_MULTIPLY_ADDS // 4)
    assert sorted(many) == [(i, i + 1) for i in range(6)]


def test_the_workspace_is_reused_per_thread_up_to_its_limit():
    first = parallel.workspace((4, 8), np.float64)
    again = parallel.workspace((2, 8), np.float32)
    assert first.shape == (4, 8) and again.dtype == np.float32 and np.shares_memory(first, again)
    huge = parallel.workspace((parallel._WORKSPACE_LIMIT // 8 + 1,), np.float64)
    assert not np.shares_memory(huge, first)


def _conv2d_output(x, w):
    return F.conv2d(autograd.tensor(x), autograd.tensor(w), padding=1).data


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_convolution_runs_in_a_forked_child(three_threads):
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((16, 8, 32, 32)), rng.standard_normal((4, 8, 3, 3))
    expected = _conv2d_output(x, w)  # starts the helper threads, which a forked child does not inherit
    with multiprocessing.get_context("fork").Pool(1) as pool:
        np.testing.assert_array_equal(pool.apply_async(_conv2d_output, (x, w)).get(timeout=60), expected)


def _section_in_child():
    starts = []
    parallel.in_batch_chunks(lambda start, stop: starts.append(start), 4, parallel.CHUNK_BYTES)
    return sorted(starts), [blas.num_threads for blas in parallel._blas.lib_controllers]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_during_a_section_runs_sections_and_keeps_blas_threads(three_threads):
    # A data-loader worker forked while another thread is inside a section: that section's lock is held and BLAS
    # limited to one thread at the moment of the fork, and the child has neither the thread nor its finally.
    limits = [blas.num_threads for blas in parallel._blas.lib_controllers]
    inside, release = threading.Event(), threading.Event()

    def hold(start, stop):
        inside.set()
        release.wait(timeout=60)

    holder = threading.Thread(target=parallel.in_batch_chunks, args=(hold, 2, parallel.CHUNK_BYTES))
    holder.start()
    try:
        assert inside.wait(timeout=30)
        with multiprocessing.get_context("fork").Pool(1) as pool:
            starts, child_limits = pool.apply_async(_section_in_child).get(timeout=60)
    finally:
        release.set()
        holder.join(timeout=60)
    assert starts == [0, 1, 2, 3]
    assert child_limits == limits
    assert [blas.num_threads for blas in parallel._blas.lib_controllers] == limits
