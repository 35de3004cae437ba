"""ONNX export: the exported graphs pass onnx.checker and give gradlab's outputs in onnxruntime."""

import io
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd.onnx import UnsupportedOperatorError, export, supported_ops
from gradlab.cli import main
from nn import models

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _with_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """The model with running statistics and affine parameters away from their initial 0 / 1, as after training,
    so that batch norm in eval mode is not an identity that would hide a wrong mapping."""
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            channels = module.num_features
            module.running_mean.data[...] = rng.normal(0, 0.2, channels)
            module.running_var.data[...] = rng.uniform(0.5, 1.5, channels)
            module.weight.data[...] = rng.uniform(0.5, 1.5, channels)
            module.bias.data[...] = rng.normal(0, 0.2, channels)
    return model


def _run(proto, feeds: dict) -> list:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {name: value.data for name, value in feeds.items()})


def _reference(model, *inputs):
    with autograd.no_grad():
        model.eval()
        return model(*inputs)


MODELS = {
    "lenet5": (models.LeNet5, (2, 1, 32, 32)),
    "resnet_digits": (models.resnet_digits, (2, 1, 8, 8)),
    "resnet20": (models.resnet20, (2, 3, 16, 16)),
    "resnet18": (lambda: models.resnet18(num_classes=10), (2, 3, 32, 32)),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_builtin_models_match_onnxruntime(name, tmp_path):
    make, shape = MODELS[name]
    autograd.manual_seed(0)
    model = _with_statistics(make())
    x = autograd.randn(*shape)
    path = tmp_path / f"{name}.onnx"
    proto = export(model, x, path)
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    assert [i.name for i in loaded.graph.input] == ["x"] and [o.name for o in loaded.graph.output] == ["output"]
    # Parameters and buffers are initializers under their state-dict names.
    assert {i.name for i in loaded.graph.initializer} >= set(model.state_dict()) - {
        key for key in model.state_dict() if key.endswith("num_batches_tracked")}
    # Nodes are named by the module that made them, as Netron shows them.
    assert "/layer1/0/conv1/Conv" in {node.name.rpartition("_")[0] for node in loaded.graph.node} or name == "lenet5"
    (out,) = _run(proto, {"x": x})
    np.testing.assert_allclose(out, _reference(model, x).data, rtol=1e-5, atol=1e-5)


def test_dynamic_batch_axis():
    autograd.manual_seed(1)
    model = _with_statistics(models.resnet_digits())
    proto = export(model, autograd.randn(2, 1, 8, 8), input_names=["images"], output_names=["logits"],
                   dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 5):
        x = autograd.randn(batch, 1, 8, 8)
        (out,) = _run(proto, {"images": x})
        np.testing.assert_allclose(out, _reference(model, x).data, rtol=1e-5, atol=1e-5)


def test_dynamic_axes_as_a_list_get_pytorchs_names():
    proto = export(nn.Linear(3, 2), autograd.randn(4, 3), input_names=["features"], dynamic_axes={"features": [0]})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "features_dynamic_axes_1"
    (out,) = _run(proto, {"features": autograd.randn(7, 3)})
    assert out.shape == (7, 2)


class Sampler(nn.Module):
    """One module per op family the mapping handles, each with its settings away from the defaults."""

    def __init__(self, case: str) -> None:
        super().__init__()
        self.case = case
        self.conv = nn.Conv2d(4, 6, 3, stride=(2, 1), padding=(2, 1), dilation=2, groups=2)
        self.same = nn.Conv2d(4, 4, 4, padding="same")
        self.transposed = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.bn = nn.BatchNorm2d(4)
        self.linear = nn.Linear(4 * 10 * 10, 5)

    def forward(self, x):
        case = self.case
        if case == "conv":
            return self.conv(x)
        if case == "conv_same":
            return self.same(x)
        if case == "conv_transpose":
            return self.transposed(x)
        if case == "max_pool":
            return F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        if case == "max_pool_dilated":
            return F.max_pool2d(x, 2, stride=1, dilation=2)
        if case == "avg_pool":
            return F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        if case == "avg_pool_no_pad_count":
            return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        if case == "adaptive_avg":
            return F.adaptive_avg_pool2d(x, (4, 2))
        if case == "adaptive_max":
            return F.adaptive_max_pool2d(x, 1) + F.adaptive_max_pool2d(F.pad(x, (0, 2, 0, 2)), (4, 3)).sum((2, 3), True)
        if case == "batch_norm_linear_softmax":
            return F.softmax(self.linear(self.bn(x).flatten(1)), dim=1)
        if case == "log_softmax":
            return F.log_softmax(x.reshape(2, 4, -1), dim=-1)
        if case == "activations":
            parts = [F.relu(x), F.leaky_relu(x, 0.2), F.elu(x, 0.7), F.gelu(x), F.gelu(x, approximate="tanh"),
                     F.sigmoid(x), F.tanh(x), F.silu(x), F.hardtanh(x, -0.5, 0.5), F.relu6(x * 4), F.hardswish(x),
                     F.hardsigmoid(x), F.mish(x), F.selu(x), F.softsign(x)]
            return autograd.cat(parts, dim=1)
        if case == "arithmetic":
            y = (x * 2 - 1) / 3 + x.abs().sqrt() - x.exp().log1p() + x.clamp(min=0) ** 2 + x.maximum(x * 0.5)
            return y.permute(0, 2, 3, 1).mean((1, 2)) + x.amax(dim=(2, 3)) + x.logsumexp(dim=(2, 3))
        if case == "pad_dropout":
            return F.dropout(F.pad(x, (1, 2, 0, 1), value=0.5), p=0.5, training=self.training)
        if case == "inception":
            return self.inception(x)
        if case == "vgg":
            return self.vgg(x)
        raise AssertionError(case)


CASES = ["conv", "conv_same", "conv_transpose", "max_pool", "max_pool_dilated", "avg_pool", "avg_pool_no_pad_count",
         "adaptive_avg", "adaptive_max", "batch_norm_linear_softmax", "log_softmax", "activations", "arithmetic",
         "pad_dropout", "inception", "vgg"]


@pytest.mark.parametrize("case", CASES)
def test_op_mappings_match_onnxruntime(case):
    autograd.manual_seed(2)
    model = Sampler(case)
    model.inception = models.Inception(4, 2, 2, 3, 2, 3, 2)
    model.vgg = models.VGGBlock(2, 4, 3)
    _with_statistics(model)
    x = autograd.randn(2, 4, 10, 10)  # even: ceil_mode adds a window
    proto = export(model, x, dynamic_axes={"x": {0: "batch"}})
    onnx.checker.check_model(proto, full_check=True)
    (out,) = _run(proto, {"x": x})
    np.testing.assert_allclose(out, _reference(model, x).data, rtol=1e-5, atol=1e-5)


def test_gelu_before_opset_20_is_composed():
    x = autograd.randn(3, 5)
    for approximate in ("none", "tanh"):
        proto = export(lambda t: F.gelu(t, approximate=approximate), x, opset_version=17)
        assert "Gelu" not in {node.op_type for node in proto.graph.node}
        (out,) = _run(proto, {"t": x})
        np.testing.assert_allclose(out, F.gelu(x, approximate=approximate).data, rtol=1e-5, atol=1e-6)


def test_a_0d_result_stays_0d():
    x = autograd.randn(2, 3)
    proto = export(lambda t: t.mean() * 2.0, x)  # scalar constants are 0-d initializers, not (1,)
    assert all(list(initializer.dims) == [] for initializer in proto.graph.initializer)
    (out,) = _run(proto, {"t": x})
    assert out.shape == ()
    np.testing.assert_allclose(out, (x.mean() * 2.0).data, rtol=1e-6)


def test_reduction_axes_follow_the_opset():
    x = autograd.randn(2, 3, 4)
    for opset in (13, 18):
        proto = export(lambda t: t.amax(dim=1) + t.logsumexp(dim=1), x, opset_version=opset)
        (out,) = _run(proto, {"t": x})
        np.testing.assert_allclose(out, (x.amax(dim=1) + x.logsumexp(dim=1)).data, rtol=1e-5, atol=1e-6)


class Slicer(nn.Module):
    def forward(self, x):
        return x[:, :2]


def test_unmapped_op_is_an_error_that_names_it():
    with pytest.raises(UnsupportedOperatorError, match=r"the op <Index> .*has no ONNX mapping.*Conv2d"):
        export(lambda t: t[:, :2], autograd.randn(2, 4))
    with pytest.raises(UnsupportedOperatorError, match=r"<Index> \(node 3 of the forward, in 1\)"):
        export(nn.Sequential(nn.Linear(4, 4), Slicer()), autograd.randn(2, 4))
    with pytest.raises(UnsupportedOperatorError, match="Where.*softplus"):
        export(nn.Softplus(), autograd.randn(2, 4))
    with pytest.raises(UnsupportedOperatorError, match=r"BatchNorm.*training=True\) over input \(4, 3\)"):
        export(lambda t: F.batch_norm(t, None, None, training=True), autograd.randn(4, 3))
    with pytest.raises(UnsupportedOperatorError, match="track_running_stats=False"):
        export(nn.BatchNorm2d(3, track_running_stats=False), autograd.randn(2, 3, 4, 4))
    assert "Conv2d" in supported_ops() and "Index" not in supported_ops()


def test_export_restores_each_modules_mode_and_leaves_statistics_alone():
    model = models.resnet_digits()
    model.train()
    model.fc.eval()
    before = {key: value.data.copy() for key, value in model.state_dict().items()}
    export(model, autograd.randn(2, 1, 8, 8))
    assert model.training and model.layer1.training and not model.fc.training
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key])


def test_writes_to_a_file_object_and_returns_the_model():
    buffer = io.BytesIO()
    proto = export(nn.Linear(3, 2), autograd.randn(1, 3), buffer, input_names=["a"], output_names=["b"])
    assert onnx.load_from_string(buffer.getvalue()) == proto
    assert proto.opset_import[0].version == 20 and proto.producer_name == "gradlab"


def test_several_inputs_and_outputs():
    class TwoWay(nn.Module):
        def forward(self, a, b):
            total = a + b
            return total, total * b

    a, b = autograd.randn(2, 3), autograd.randn(2, 3)
    proto = export(TwoWay(), (a, b))
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    first, second = _run(proto, {"a": a, "b": b})
    np.testing.assert_allclose(first, (a + b).data, rtol=1e-6)
    np.testing.assert_allclose(second, ((a + b) * b).data, rtol=1e-6)


def test_bad_arguments_are_named():
    x = autograd.randn(2, 3)
    linear = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset_version must be between 13"):
        export(linear, x, opset_version=11)
    with pytest.raises(ValueError, match="dynamic_axes names 'inputs'"):
        export(linear, x, dynamic_axes={"inputs": [0]})
    with pytest.raises(ValueError, match="input_names has 2 names for 1 values"):
        export(linear, x, input_names=["a", "b"])
    with pytest.raises(TypeError, match="input 0 must be a floating-point Tensor"):
        export(linear, autograd.tensor([1, 2, 3]))


def test_gradlab_export_writes_a_trained_run(tmp_path):
    run = tmp_path / "digits-resnet"
    assert main(["train", "--limit", "64", "--batch-size", "32", "--epochs", "1", "--out", str(run)]) == 0
    out = tmp_path / "exported" / "digits.onnx"
    done = subprocess.run([sys.executable, "-m", "gradlab", "export", "--checkpoint", str(run), "--format", "onnx",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}: resnet_digits trained on digits for 1 epoch," in done.stdout
    assert "mean (0.305,) and std (0.376,)" in done.stdout

    model = models.resnet_digits()
    model.load_state_dict(autograd.load(run / "checkpoint.safetensors")["model"])
    images = autograd.randn(3, 1, 8, 8)  # a batch of 3 through a graph traced with 1
    proto = onnx.load(out)
    onnx.checker.check_model(proto, full_check=True)
    assert {prop.key: prop.value for prop in proto.metadata_props}["gradlab.model"] == "resnet_digits"
    (logits,) = _run(proto, {"images": images})
    np.testing.assert_allclose(logits, _reference(model, images).data, rtol=1e-5, atol=1e-5)


def test_gradlab_export_reports_a_missing_run(tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tmp_path / "nothing")]) == 1
    assert "error: no checkpoint at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit:
        main(["export", "--checkpoint", str(tmp_path), "--format", "tflite"])
    assert exit.value.code == 2


def test_the_exporter_reads_the_graph_through_its_public_api():
    source = (pathlib.Path(__file__).resolve().parent.parent / "autograd" / "onnx.py").read_text().splitlines()
    assert [line for line in source if re.search(r"\._[a-z]", line)] == []
