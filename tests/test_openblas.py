"""gradlab.openblas: the command line sends OpenBLAS's idle threads to sleep at once, unless told otherwise."""

import os
import subprocess
import sys

import pytest

from autograd.kernels.parallel import blas_threads

# A product on several BLAS threads, then 0.3 s of sleep: prints the CPU time the process used while it slept,
# which OpenBLAS's workers spend spinning (about 0.1 s by default) unless they went to sleep at once.
SPIN_AFTER_PRODUCT = """
import os, time
import gradlab.cli  # before numpy, as the gradlab command imports it
import numpy as np
a = np.ones((512, 512), np.float32)
a @ a
start = time.process_time()
time.sleep(0.3)
print(time.process_time() - start, os.environ["OPENBLAS_THREAD_TIMEOUT"])
"""


def run(environment: dict) -> tuple[float, str]:
    result = subprocess.run([sys.executable, "-c", SPIN_AFTER_PRODUCT], capture_output=True, text=True, check=True,
                            env=environment, timeout=60)
    spin, timeout = result.stdout.split()
    return float(spin), timeout


def test_the_command_line_sets_the_shortest_timeout_and_keeps_a_users():
    environment = {key: value for key, value in os.environ.items() if key != "OPENBLAS_THREAD_TIMEOUT"}
    assert run(environment)[1] == "4"
    assert run({**environment, "OPENBLAS_THREAD_TIMEOUT": "10"})[1] == "10"


@pytest.mark.skipif(blas_threads() < 2, reason="OpenBLAS runs one thread here: there is no worker to spin")
def test_idle_workers_stop_spinning_after_a_product():
    environment = {key: value for key, value in os.environ.items() if key != "OPENBLAS_THREAD_TIMEOUT"}
    default_spin, _ = run({**environment, "OPENBLAS_THREAD_TIMEOUT": "28"})  # OpenBLAS's default, 2**28 cycles
    spin, _ = run(environment)
    assert default_spin > 0.03  # a worker spun on after the product
    assert spin < 0.02
