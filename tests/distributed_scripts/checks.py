"""Run by tests/test_distributed.py as ``mpiexec -n 2 python checks.py``: every rank asserts, and rank 0 prints
``ok NAME`` once each check has passed on both ranks. An assertion that fails on any rank aborts the job with its
traceback (the excepthook that ``distributed.init()`` installs), so a failure can never hang.

The single-process references are computed on every rank from the same data, so each rank compares its own share
with them. Everything runs in float64.
"""

import copy

import numpy as np

import autograd
import nn
import nn.functional as F
import optim
from autograd import distributed
from nn.models import resnet_digits
from nn.parallel import DistributedDataParallel

distributed.init()
RANK = distributed.get_rank()
assert distributed.get_world_size() == 2
HALF = 4  # images per rank in a step
TIGHT = 1e-12


def passed(name):
    distributed.barrier()  # both ranks got here: neither failed
    if RANK == 0:
        print(f"ok {name}", flush=True)


def assert_close(actual, expected, what):
    """Equal to 1e-12 of the largest expected value."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=TIGHT, atol=TIGHT * np.abs(expected).max(), err_msg=what)


def assert_same_on_ranks(tensors, what):
    mine = autograd.from_numpy(np.concatenate([tensor.data.reshape(-1) for tensor in tensors]))
    both = [autograd.zeros(*mine.shape, dtype=mine.dtype) for _ in range(2)]
    distributed.all_gather(both, mine)
    assert np.array_equal(both[0].data, both[1].data), f"{what} differ between the ranks"


class Net(nn.Module):
    """A CNN with batch norm, a head that only some passes use, a layer that no pass uses, and a way round all of
    them."""

    def __init__(self):
        super().__init__()
        self.body = resnet_digits()
        self.extra = nn.Linear(10, 10)
        self.unused = nn.Linear(3, 3)

    def forward(self, x, extra=False, around=False):
        if around:
            return x.flatten(1)[:, :10] * 2.0
        out = self.body(x)
        return out + self.extra(out) if extra else out


def make_net():
    autograd.manual_seed(RANK)  # different on each rank: DistributedDataParallel must make them identical
    return Net().double()


def batch(step, size=2 * HALF):
    rng = np.random.default_rng(100 + step)
    return autograd.tensor(rng.standard_normal((size, 1, 8, 8))), autograd.tensor(rng.integers(0, 10, size))


def share(tensor, rank=RANK, size=HALF):
    return tensor[rank * size:(rank + 1) * size]


def check_collectives():
    values = autograd.tensor([RANK + 1.0, 10.0 * RANK])
    distributed.all_reduce(values)
    assert values.tolist() == [3.0, 10.0], values
    for op, expected in (("mean", [1.5, 5.0]), ("max", [2.0, 10.0]), ("min", [1.0, 0.0])):
        values = autograd.tensor([RANK + 1.0, 10.0 * RANK])
        distributed.all_reduce(values, op)
        assert values.tolist() == expected, (op, values)
    base = autograd.tensor(np.arange(6.0).reshape(2, 3) * (RANK + 1))
    distributed.all_reduce(base.T)  # a strided view: reduced through a copy, stored back into its base
    assert np.array_equal(base.data, np.arange(6.0).reshape(2, 3) * 3)
    counts = autograd.tensor([RANK + 1])
    work = distributed.all_reduce(counts, async_op=True, group=distributed.new_group())
    assert work.wait() and counts.tolist() == [3]
    sent = autograd.tensor([float(RANK)] * 3)
    distributed.broadcast(sent, src=1)
    assert sent.tolist() == [1.0, 1.0, 1.0]
    gathered = [autograd.zeros(2, dtype=autograd.float64) for _ in range(2)]
    distributed.all_gather(gathered, autograd.tensor([RANK, 2.0 * RANK], dtype=autograd.float64))
    assert [part.tolist() for part in gathered] == [[0.0, 0.0], [1.0, 2.0]]
    assert distributed.get_local_rank() == RANK  # both ranks run on this machine
    passed("collectives")


def check_ddp_matches_one_process(bucket_cap_mb, extra_on_rank_0):
    """Gradients equal one process accumulating the two halves of the batch, and after 5 SGD steps the
    parameters agree; with ``extra_on_rank_0`` one head is used by rank 0's half only."""
    model = make_net()
    ddp = DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
    assert_same_on_ranks(list(model.parameters()) + list(model.buffers()), "parameters after the broadcast")
    reference = copy.deepcopy(model)
    optimizer, reference_optimizer = (optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
                                      for net in (model, reference))
    bitwise = compared = 0
    for step in range(5):
        images, labels = batch(step)
        optimizer.zero_grad()
        F.cross_entropy(ddp(share(images), extra=extra_on_rank_0 and RANK == 0), share(labels)).backward()
        reference_optimizer.zero_grad()
        for rank in range(2):
            loss = F.cross_entropy(reference(share(images, rank), extra=extra_on_rank_0 and rank == 0),
                                   share(labels, rank))
            (loss * 0.5).backward()
        for (name, param), expected in zip(model.named_parameters(), reference.parameters()):
            if expected.grad is None:
                assert param.grad is None, f"{name}: no pass used it, yet it has a gradient"
                continue
            assert_close(param.grad.data, expected.grad.data, f"step {step}: gradient of {name}")
            bitwise += np.array_equal(param.grad.data, expected.grad.data)
            compared += 1
        optimizer.step()
        reference_optimizer.step()
    for (name, param), expected in zip(model.named_parameters(), reference.parameters()):
        assert_close(param.data, expected.data, f"{name} after 5 steps")
    assert_same_on_ranks(model.parameters(), "parameters after 5 steps")
    assert model.unused.weight.grad is None and (model.extra.weight.grad is not None) == extra_on_rank_0
    suffix = ", head used on rank 0 only" if extra_on_rank_0 else ""
    passed(f"ddp matches one process (bucket_cap_mb={bucket_cap_mb}{suffix}; {bitwise}/{compared} gradients "
           f"bitwise equal)")


def check_a_backward_that_reaches_no_parameter_still_reduces():
    model = make_net()
    ddp = DistributedDataParallel(model)
    reference = copy.deepcopy(model)
    images, labels = batch(40)
    images.requires_grad_()
    # Rank 1's output does not depend on any parameter: its backward runs no parameter's hook.
    F.cross_entropy(ddp(share(images), around=RANK == 1), share(labels)).backward()
    (F.cross_entropy(reference(share(images, 0)), share(labels, 0)) * 0.5).backward()
    for (name, param), expected in zip(model.named_parameters(), reference.parameters()):
        if expected.grad is not None:
            assert_close(param.grad.data, expected.grad.data, f"gradient of {name}")
    passed("a rank whose backward reaches no parameter takes part with zeros")


def check_no_sync_accumulates_then_reduces():
    model = make_net()
    ddp = DistributedDataParallel(model)
    reference = copy.deepcopy(model)
    images, labels = batch(20, 4 * HALF)
    # Micro-batch m of rank r is quarter 2 * m + r of the batch.
    with ddp.no_sync():
        F.cross_entropy(ddp(share(images, RANK)), share(labels, RANK)).backward()
    local = autograd.from_numpy(np.concatenate([param.grad.data.reshape(-1) for param in model.body.parameters()]))
    both = [autograd.zeros(*local.shape, dtype=local.dtype) for _ in range(2)]
    distributed.all_gather(both, local)
    assert not np.array_equal(both[0].data, both[1].data), "no_sync reduced the gradients"
    F.cross_entropy(ddp(share(images, 2 + RANK)), share(labels, 2 + RANK)).backward()
    for quarter in range(4):
        (F.cross_entropy(reference(share(images, quarter)), share(labels, quarter)) * 0.5).backward()
    for (name, param), expected in zip(model.named_parameters(), reference.parameters()):
        if expected.grad is not None:
            assert_close(param.grad.data, expected.grad.data, f"accumulated gradient of {name}")
    passed("no_sync accumulates, the next backward reduces the sum")


def check_sync_batch_norm_matches_batch_norm():
    rng = np.random.default_rng(7)
    full = rng.normal(2.0, 3.0, (7, 3, 4, 5))
    weights = [rng.normal(size=full.shape) for _ in range(3)]
    mine = slice(0, 4) if RANK == 0 else slice(4, 7)  # uneven shares: 4 and 3 images
    batch_norm = nn.BatchNorm2d(3, momentum=0.3).double()
    with autograd.no_grad():
        batch_norm.weight.copy_(rng.normal(size=3))
        batch_norm.bias.copy_(rng.normal(size=3))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(batch_norm))
    assert type(synced) is nn.SyncBatchNorm

    def summed(grad):
        """The ranks' sums of the local weight gradient: DistributedDataParallel's mean, times 2."""
        total = grad.detach().clone()
        distributed.all_reduce(total)
        return total.data

    for step, weight in enumerate(weights[:2]):
        x_full, x_mine = autograd.tensor(full, requires_grad=True), autograd.tensor(full[mine], requires_grad=True)
        out_full, out_mine = batch_norm(x_full), synced(x_mine)
        assert_close(out_mine.data, out_full.data[mine], f"step {step}: output")
        (out_full * autograd.tensor(weight)).sum().backward()
        (out_mine * autograd.tensor(weight[mine])).sum().backward()
        assert_close(x_mine.grad.data, x_full.grad.data[mine], f"step {step}: input gradient")
        assert_close(summed(synced.weight.grad), batch_norm.weight.grad.data, f"step {step}: weight gradient")
        assert_close(summed(synced.bias.grad), batch_norm.bias.grad.data, f"step {step}: bias gradient")
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            assert_close(getattr(synced, name).data, getattr(batch_norm, name).data, f"step {step}: {name}")
        batch_norm.zero_grad()
        synced.zero_grad()
        full = full * 1.5 + 0.5  # other statistics for the second step
    # Second order: the gradient of <dL/dx, v> through the allreduces' adjoints.
    x_full, x_mine = autograd.tensor(full, requires_grad=True), autograd.tensor(full[mine], requires_grad=True)
    (grad_full,) = autograd.grad(batch_norm(x_full), x_full, autograd.tensor(weights[0]), create_graph=True)
    (grad_mine,) = autograd.grad(synced(x_mine), x_mine, autograd.tensor(weights[0][mine]), create_graph=True)
    (grad_full * autograd.tensor(weights[2])).sum().backward()
    (grad_mine * autograd.tensor(weights[2][mine])).sum().backward()
    assert_close(x_mine.grad.data, x_full.grad.data[mine], "second-order input gradient")
    assert_close(summed(synced.weight.grad), batch_norm.weight.grad.data, "second-order weight gradient")
    synced.eval()
    batch_norm.eval()
    assert_close(synced(autograd.tensor(full[mine])).data, batch_norm(autograd.tensor(full)).data[mine], "eval")
    passed("sync batch norm matches batch norm on the whole batch (forward, backward, double backward, "
           "running statistics)")


def check_ddp_with_sync_batch_norm_matches_the_whole_batch():
    model = nn.SyncBatchNorm.convert_sync_batchnorm(make_net())
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.01)
    reference = make_net()
    reference.load_state_dict(model.state_dict())
    optimizer, reference_optimizer = (optim.SGD(net.parameters(), lr=0.1, momentum=0.9) for net in (model, reference))
    for step in range(3):
        images, labels = batch(30 + step)
        optimizer.zero_grad()
        F.cross_entropy(ddp(share(images)), share(labels)).backward()
        reference_optimizer.zero_grad()
        F.cross_entropy(reference(images), labels).backward()
        for (name, param), expected in zip(model.named_parameters(), reference.parameters()):
            if expected.grad is not None:
                assert_close(param.grad.data, expected.grad.data, f"step {step}: gradient of {name}")
        optimizer.step()
        reference_optimizer.step()
    for (name, value), expected in zip(model.state_dict().items(), reference.state_dict().values()):
        assert_close(value.data, expected.data, f"{name} after 3 steps")
    passed("ddp with sync batch norm on 2 x 4 images matches one process on 8")


check_collectives()
check_ddp_matches_one_process(25.0, extra_on_rank_0=False)
check_ddp_matches_one_process(0.001, extra_on_rank_0=True)
check_a_backward_that_reaches_no_parameter_still_reduces()
check_no_sync_accumulates_then_reduces()
check_sync_batch_norm_matches_batch_norm()
check_ddp_with_sync_batch_norm_matches_the_whole_batch()
