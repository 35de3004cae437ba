"""Array-level kernels: plain numpy arrays in and out, one small spec per call, no Tensors and no graph.

The ops in ``autograd/ops`` wrap them in Functions. Each fast kernel has a short reference kernel beside it
that tests it (``tests/test_kernels.py``); threads, BLAS limits and workspaces live in ``parallel``.
"""
