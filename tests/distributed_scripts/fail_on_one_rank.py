"""Run by tests/test_distributed.py under ``mpiexec -n 2``: rank 1 feeds the model an input of the wrong shape
while rank 0 trains on a good one, and so waits for rank 1's gradients. The job must end with rank 1's error, not
hang."""

import autograd
import nn
from autograd import distributed
from nn.parallel import DistributedDataParallel

distributed.init()
model = DistributedDataParallel(nn.Linear(4, 2))
features = 4 if distributed.get_rank() == 0 else 3
model(autograd.randn(8, features)).sum().backward()
print(f"rank {distributed.get_rank()} finished its step", flush=True)
