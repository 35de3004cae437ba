"""Optimizers and learning-rate schedulers, with PyTorch's names, defaults and update rules.

Every optimizer updates the parameters' arrays in place under ``no_grad``: a step builds no graph and,
once the optimizer state exists, allocates nothing.

Example::

    >>> optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    >>> for x, y in loader:
    ...     optimizer.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     optimizer.step()
    >>> scheduler.step()
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD
