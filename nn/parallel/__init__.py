"""Training on several processes and machines: ``DistributedDataParallel`` (on ``autograd.distributed``)."""

from .distributed import DistributedDataParallel
