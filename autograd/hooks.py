"""``RemovableHandle``: what every ``register_*hook`` method returns, for tensors, graph nodes and modules; and
the hooks of a leaf tensor."""

from __future__ import annotations

import itertools


class RemovableHandle:
    """Returned by the ``register_*hook`` methods; ``remove()`` unregisters the hook.

    Args:
        hooks: the dict the hook is registered in, under this handle's ``id``.
    """

    _next_id = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        """Unregister the hook (a no-op when it is already gone)."""
        self._hooks.pop(self.id, None)


def add_hook(hooks: dict, hook) -> RemovableHandle:
    """Register ``hook`` in ``hooks`` (called in insertion order) and return its handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


class LeafHooks:
    """A leaf tensor's hooks, each a dict from handle id to hook: created with the first hook."""

    __slots__ = ("grad", "post_accumulate")

    def __init__(self) -> None:
        self.grad: dict = {}  # hook(gradient) before it is added into .grad (``Tensor.register_hook``)
        self.post_accumulate: dict = {}  # hook(tensor) after (``Tensor.register_post_accumulate_grad_hook``)
