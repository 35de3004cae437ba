"""docs/supported_ops.md is what docs/make_supported_ops.py makes of the op registry today, README.md states its
counts, and every public differentiable function of ``autograd`` and ``nn.functional`` is in the registry."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd
import nn.functional as F
from autograd.opinfo import OpInfo, Sample, all_opinfos, unwrap_samples

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_supported_ops", ROOT / "docs" / "make_supported_ops.py")
make = sys.modules["make_supported_ops"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up there
_spec.loader.exec_module(make)

_TESTS = "a test of values, or a logical or bitwise op: its result is boolean or integer, with no gradient"
_INDICES = "returns indices or counts (integers)"
_FACTORY = "makes a tensor from shapes, numbers or another library's array: nothing to differentiate"
_MACHINERY = "autograd's machinery (gradients, checks, modes, dtypes, files), not an op"

# Public functions of autograd and nn.functional that are not in the registry, and why.
NOT_REGISTERED = {
    **dict.fromkeys(["all", "any", "allclose", "equal", "isclose", "isfinite", "isinf", "isnan", "isneginf",
                     "isposinf", "logical_and", "logical_not", "logical_or", "logical_xor", "bitwise_and",
                     "bitwise_not", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"], _TESTS),
    **dict.fromkeys(["argmax", "argmin", "argsort", "count_nonzero", "nonzero", "one_hot"], _INDICES),
    "unique": "its values have no gradient (PyTorch's unique has no derivative either)",
    "mode": "its value is one of several equal elements and a finite-difference step changes which one, so "
            "gradcheck measures nothing; tests/test_torch_parity_selection.py compares its gradient with PyTorch's",
    **dict.fromkeys(["arange", "as_tensor", "empty", "empty_like", "eye", "from_dlpack", "from_numpy", "full",
                     "full_like", "linspace", "ones", "ones_like", "rand", "rand_like", "randint", "randn",
                     "randn_like", "tensor", "zeros", "zeros_like", "load"], _FACTORY),
    **dict.fromkeys(["backward", "grad", "gradcheck", "gradgradcheck", "gradcheck_graph", "check_backward", "explain",
                     "record_inputs", "is_grad_enabled", "get_default_dtype", "set_default_dtype", "promote_types",
                     "result_type", "manual_seed", "save"], _MACHINERY),
}


@pytest.fixture(scope="module")
def table():
    return make.rows()


def test_the_page_is_generated_from_the_registry_as_it_is_now():
    assert make.PAGE.read_text() == make.page(), "docs/supported_ops.md is stale: run python docs/make_supported_ops.py"


def test_readme_states_the_counts_of_the_page(table):
    sentence = make.headline(make.counts(table))
    assert sentence in make.PAGE.read_text()
    assert sentence in " ".join(make.README.read_text().split()), \
        f"README.md's 'What is supported' should say (wrapped as you like): {sentence}"
    assert "[docs/supported_ops.md](docs/supported_ops.md)" in make.README.read_text()


def test_the_page_is_in_the_docs_site():
    assert "\nsupported_ops\n" in (ROOT / "docs" / "index.md").read_text()


def test_rows_are_the_registry_and_count_its_samples(table):
    registry = all_opinfos()
    assert [row.name for row in table] == [info.name for info in registry]
    numbers = make.counts(table)
    assert numbers.entries == len(registry) and numbers.families == len(make.families())
    assert numbers.samples == sum(len(unwrap_samples(info)) for info in registry)
    assert numbers.gradgrad == sum(len(unwrap_samples(info)) for info in registry if info.gradgrad)
    assert all(row.samples > 0 for row in table)


def test_every_location_names_a_real_public_object(table):
    for row in table:
        for location in row.locations:
            assert callable(make.resolve(location)), (row.name, location)


def test_locations_are_read_from_the_objects(table):
    where = {row.name: row.locations for row in table}
    assert where["conv2d"] == ("F.conv2d", "nn.Conv2d")
    assert where["relu"] == ("autograd.relu", "F.relu", "Tensor.relu", "nn.ReLU")
    assert where["vector_norm"] == ("autograd.vector_norm", "autograd.linalg.vector_norm")
    assert where["box_iou"] == ("nn.ops.box_iou",)
    assert set(where["batch_norm"]) == {"F.batch_norm", "nn.BatchNorm1d", "nn.BatchNorm2d"}
    assert where["Tensor.unfold"] == ("Tensor.unfold",)


def test_an_entry_that_names_no_public_op_is_refused():
    entry = OpInfo("no_such_op", lambda a: a, lambda rng: [Sample("x", (autograd.ones(2),))])
    with pytest.raises(LookupError, match="no_such_op"):
        make.locations(entry)


def test_every_public_differentiable_op_is_registered(table):
    covered = {id(make.resolve(location)) for row in table for location in row.locations}
    public = {name for namespace in (autograd, F, autograd.linalg) for name, value in vars(namespace).items()
              if not name.startswith("_") and make._is_op(value) and id(value) not in covered}
    assert not public - NOT_REGISTERED.keys(), "register these in autograd/opinfo (or say in NOT_REGISTERED why not)"
    assert not NOT_REGISTERED.keys() - public, "these are registered now, or no longer public: drop them here"


@pytest.mark.parametrize("name", ["isnan", "isfinite", "isinf", "isneginf", "isposinf", "logical_not", "argmax",
                                  "argmin", "argsort", "count_nonzero", "nonzero", "all", "any", "unique"])
def test_unregistered_tests_of_values_have_no_gradient(name):
    x = autograd.tensor(np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.5]]), requires_grad=True)
    result = getattr(autograd, name)(x)
    assert name in NOT_REGISTERED
    assert not result.requires_grad and result.grad_fn is None
