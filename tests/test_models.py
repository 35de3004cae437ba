"""Models: parameter counts, output and stage shapes, torchvision state-dict compatibility, and a
ResNet-18 that overfits one batch."""

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from nn.models import (
    BasicBlock, Bottleneck, Inception, LeNet5, VGGBlock, resnet18, resnet20, resnet32, resnet34, resnet50,
    resnet56, resnet_digits,
)
from nn.utils import summary


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("make, expected", [(resnet18, 11_689_512), (resnet34, 21_797_672), (resnet50, 25_557_032)])
def test_imagenet_resnet_parameter_counts_equal_torchvision(make, expected):
    assert _count(make()) == expected


@pytest.mark.parametrize("make, option_a", [(resnet20, 269_722), (resnet32, 464_154), (resnet56, 853_018)])
def test_cifar_resnet_parameter_counts(make, option_a):
    # He et al.'s option A (zero-padded identity) counts, plus our two projection shortcuts:
    # 1x1 conv 16->32 and BN(32), 1x1 conv 32->64 and BN(64).
    assert _count(make()) == option_a + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


def test_cifar_resnet_stages_halve_the_resolution_and_double_the_width():
    model = resnet20()
    report = summary(model, (2, 3, 32, 32))
    shapes = {row.name: row.output_shape for row in report.rows}
    assert shapes["layer1"] == (2, 16, 32, 32)
    assert shapes["layer2"] == (2, 32, 16, 16)
    assert shapes["layer3"] == (2, 64, 8, 8)
    assert "layer1.0.bn1.running_mean" in model.state_dict()
    assert shapes[""] == (2, 10)
    assert len([m for m in model.modules() if isinstance(m, BasicBlock)]) == 9


def test_digits_resnet_is_small_and_takes_8x8_grey_images():
    model = resnet_digits()
    assert 15_000 < _count(model) < 80_000
    assert model(autograd.randn(5, 1, 8, 8)).shape == (5, 10)


def test_cifar_factories_take_the_input_channels():
    assert resnet20(4, in_channels=1)(autograd.randn(2, 1, 8, 8)).shape == (2, 4)
    assert resnet_digits(3, in_channels=3).conv1.weight.shape == (16, 3, 3, 3)


def test_blocks_with_and_without_projection_shortcuts():
    block = BasicBlock(8, 8)
    assert block.downsample is None and block(autograd.randn(1, 8, 6, 6)).shape == (1, 8, 6, 6)
    projected = nn.models.resnet.make_stage(Bottleneck, 16, 8, blocks=2, stride=2)
    assert projected(autograd.randn(1, 16, 6, 6)).shape == (1, 32, 3, 3)
    assert [name for name, _ in projected[0].downsample.named_children()] == ["0", "1"]
    assert projected[1].downsample is None


def test_residual_block_gradcheck_with_all_parameters():
    block = BasicBlock(2, 3, stride=2, downsample=nn.Sequential(nn.Conv2d(2, 3, 1, stride=2, bias=False),
                                                                 nn.BatchNorm2d(3))).double()
    x = autograd.randn(2, 2, 4, 4, dtype=autograd.float64, requires_grad=True)
    assert autograd.gradcheck(lambda x, *params: block(x), (x, *block.parameters()), fast_mode=True)


# ----------------------------------------------------------------------------- torchvision compatibility
def _torch_resnet18(torch):
    """torchvision's resnet18 written with torch.nn and torchvision's attribute names."""
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, inplanes, planes, stride, downsample):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    def stage(inplanes, planes, stride):
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = tnn.Sequential(tnn.Conv2d(inplanes, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes))
        return tnn.Sequential(Block(inplanes, planes, stride, downsample), Block(planes, planes, 1, None))

    class ResNet18(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            self.layer1, self.layer2 = stage(64, 64, 1), stage(64, 128, 2)
            self.layer3, self.layer4 = stage(128, 256, 2), stage(256, 512, 2)
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet18()


def test_resnet18_loads_a_pytorch_state_dict_and_gives_the_same_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = _torch_resnet18(torch)
    with torch.no_grad():
        # non-trivial batch-norm statistics and affine parameters, so that a mix-up of keys shows
        for module in theirs.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
                module.num_batches_tracked.fill_(7)
    theirs.eval()
    ours = resnet18()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()}, strict=True)
    ours.eval()
    assert int(ours.layer1[0].bn1.num_batches_tracked) == 7
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with autograd.no_grad():
        got = ours(autograd.tensor(x)).data
    want = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_resnet18_loads_a_torchvision_style_safetensors_file(tmp_path):
    """The README's "Load torchvision weights" path with the file PyTorch writes: safetensors.torch.save_file."""
    torch = pytest.importorskip("torch")
    import safetensors.torch

    torch.manual_seed(1)
    theirs = _torch_resnet18(torch)
    with torch.no_grad():
        for module in theirs.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    theirs.eval()
    path = tmp_path / "resnet18.safetensors"
    safetensors.torch.save_file(theirs.state_dict(), str(path))
    ours = resnet18()
    ours.load_state_dict(autograd.load(path), strict=True)
    ours.eval()
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with autograd.no_grad():
        got = ours(autograd.tensor(x)).data
    np.testing.assert_allclose(got, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_resnet18_overfits_one_small_batch():
    autograd.manual_seed(0)
    model = resnet18(num_classes=10)
    images = autograd.randn(4, 3, 32, 32)
    labels = autograd.tensor([0, 3, 7, 9])
    params = list(model.parameters())
    # SGD with momentum written inline, so that this test depends on nothing but nn
    velocities = [np.zeros_like(p.data) for p in params]
    losses = []
    for _ in range(30):
        model.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        losses.append(float(loss))
        if losses[-1] < 0.05 * losses[0]:
            break
        for p, velocity in zip(params, velocities):
            velocity[...] = 0.9 * velocity + p.grad.data
            p.data -= 0.01 * velocity
    assert losses[-1] < 0.05 * losses[0], losses


# ----------------------------------------------------------------------------- LeNet, VGG, Inception
def test_lenet5_layer_shapes_and_parameter_count():
    model = LeNet5()
    report = summary(model, (2, 1, 32, 32))
    shapes = {row.name: row.output_shape for row in report.rows}
    assert shapes == {"": (2, 10), "c1": (2, 6, 28, 28), "s2": (2, 6, 14, 14), "c3": (2, 16, 10, 10),
                      "s4": (2, 16, 5, 5), "c5": (2, 120, 1, 1), "f6": (2, 84), "output": (2, 10)}
    # (5*5*1 + 1)*6 + (5*5*6 + 1)*16 + (5*5*16 + 1)*120 + (120 + 1)*84 + (84 + 1)*10
    assert report.total_params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706


def test_vgg_block_halves_the_resolution():
    block = VGGBlock(2, 3, 8)
    assert [type(m).__name__ for m in block] == ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"]
    assert block(autograd.randn(2, 3, 8, 6)).shape == (2, 8, 4, 3)
    assert _count(block) == (3 * 9 + 1) * 8 + (8 * 9 + 1) * 8
    with pytest.raises(ValueError, match="at least 1"):
        VGGBlock(0, 3, 8)
    tiny = VGGBlock(1, 1, 2).double()
    x = autograd.randn(1, 1, 4, 4, dtype=autograd.float64, requires_grad=True)
    assert autograd.gradcheck(lambda x, *params: tiny(x), (x, *tiny.parameters()))


def test_inception_block_concatenates_its_branches():
    block = Inception(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a)
    report = summary(block, (1, 192, 28, 28))
    shapes = {row.name: row.output_shape for row in report.rows}
    assert shapes[""] == (1, 64 + 128 + 32 + 32, 28, 28)
    assert shapes["branch1"] == (1, 64, 28, 28) and shapes["branch4"] == (1, 32, 28, 28)
    # seed 004's cost example is the 5x5 branch: a 1x1 reduction to 16, then the 5x5 conv to 32
    mult_adds = {row.name: row.mult_adds for row in report.rows}
    assert mult_adds["branch3.0"] == 28 * 28 * 16 * 192 == 2_408_448
    assert mult_adds["branch3.2"] == 28 * 28 * 32 * 5 * 5 * 16 == 10_035_200
    tiny = Inception(2, 1, 1, 2, 1, 1, 1).double()
    x = autograd.randn(1, 2, 3, 3, dtype=autograd.float64, requires_grad=True)
    assert autograd.gradcheck(lambda x, *params: tiny(x), (x, *tiny.parameters()), fast_mode=True)
