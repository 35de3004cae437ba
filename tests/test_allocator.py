"""gradlab.allocator: with glibc told to keep freed memory, a freed block is reused without faulting its pages in."""

import platform
import subprocess
import sys

import pytest

# Like a training step: allocates 20 blocks of 1 MB, fills them and frees them all, 10 times, and prints the minor
# page faults of the last 5 rounds. By default glibc raises its mmap threshold to 1 MB and then trims the heap
# whenever more than 2 MB at its top is free, so every round faults its 20 MB in again.
FAULTS_OF_REALLOCATION = """
import resource, sys
import numpy as np
from gradlab.allocator import keep_freed_memory
if sys.argv[1] == "keep" and not keep_freed_memory():
    sys.exit(3)
for round in range(10):
    if round == 5:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(1 << 18, np.float32) for _ in range(20)]
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", FAULTS_OF_REALLOCATION, mode], capture_output=True, text=True,
                            check=True)
    return int(result.stdout)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_memory_is_reused_without_page_faults():
    # 5 rounds of 20 MB are 25,600 pages of 4 KB when every round faults its blocks in again.
    assert faults("default") > 5000
    assert faults("keep") < 500
