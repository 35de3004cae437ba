"""``torch.linalg``'s names that gradlab has: ``autograd.linalg.vector_norm``."""

from .ops.reduction import vector_norm

__all__ = ["vector_norm"]
