"""Every op in the sample registry passes gradcheck and (where it applies) gradgradcheck."""

import warnings

import pytest

import autograd
from autograd.opinfo import all_opinfos, call, unwrap_samples

CASES = [(info, sample) for info in all_opinfos() for _, sample in unwrap_samples(info)]
IDS = [name for info in all_opinfos() for name, _ in unwrap_samples(info)]


@pytest.mark.parametrize("info, sample", CASES, ids=IDS)
def test_gradcheck(info, sample):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # samples are float64 and off kinks: no warning expected
        assert autograd.gradcheck(call(info, sample), sample.args, atol=info.atol, rtol=info.rtol, fast_mode=info.fast)


@pytest.mark.parametrize("info, sample", [case for case in CASES if case[0].gradgrad],
                         ids=[name for (info, _), name in zip(CASES, IDS) if info.gradgrad])
def test_gradgradcheck(info, sample):
    assert autograd.gradgradcheck(call(info, sample), sample.args, atol=info.atol, rtol=info.rtol,
                                  fast_mode=info.fast)


def test_registry_names_are_unique_and_cover_the_core_ops():
    names = [info.name for info in all_opinfos()]
    assert len(names) == len(set(names))
    for op in ["add", "mul", "div", "matmul", "sum", "softmax", "log_softmax", "getitem", "cat", "where"]:
        assert op in names
