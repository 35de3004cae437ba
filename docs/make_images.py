"""Regenerate the pictures in docs/images (run from the repository root: python docs/make_images.py).

The training curves come from a real 6-epoch ``gradlab train`` run (about 20 s on two cores), the health heat-maps
from a 7-epoch ResNet-20 run with ``--health``.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

import autograd
import nn
import nn.functional as F
import viz

OUT = "docs/images/"


def cross_entropy_against(targets):
    labels = autograd.tensor(np.array(targets))
    return lambda logits: F.cross_entropy(logits, labels)


def main() -> None:
    autograd.manual_seed(0)
    # A micrograd-style scalar expression: values and gradients on every node.
    a, b = autograd.tensor(2.0, requires_grad=True), autograd.tensor(-3.0, requires_grad=True)
    c, f = autograd.tensor(10.0, requires_grad=True), autograd.tensor(-2.0, requires_grad=True)
    with autograd.record_inputs():
        result = (a * b + c) * f
    viz.make_dot(result, dict(a=a, b=b, c=c, f=f), show_grads=True, rankdir="LR").render(
        outfile=OUT + "graph_scalar.png", cleanup=True)

    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    viz.draw_model(mlp, autograd.randn(5, 8), depth=None, show_grads=True,
                   loss_fn=cross_entropy_against([0, 1, 2, 3, 0])).render(outfile=OUT + "graph_mlp.png", cleanup=True)

    viz.draw_model(nn.models.LeNet5(), autograd.randn(2, 1, 32, 32), depth=1, show_grads=True,
                   loss_fn=cross_entropy_against([3, 7])).render(outfile=OUT + "graph_lenet5.png", cleanup=True)

    viz.draw_model(nn.models.resnet20(), autograd.randn(2, 3, 32, 32), depth=1, show_grads=True,
                   loss_fn=cross_entropy_against([3, 7])).render(outfile=OUT + "graph_resnet20_grads.png",
                                                                 cleanup=True)

    # Every op of a small ResNet, with its skip connections.
    viz.draw_model(nn.models.resnet_digits(), autograd.randn(2, 1, 8, 8), depth=None, show_grads=True,
                   loss_fn=cross_entropy_against([3, 7])).render(outfile=OUT + "graph_resnet_digits_full.svg",
                                                                 cleanup=True)

    # One gradient element of a residual block, split into the paths it came along.
    autograd.manual_seed(0)
    x = autograd.randn(1, 1, 6, 6, requires_grad=True)
    conv1, conv2 = nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1)
    summed = conv2(conv1(x).relu()) + x
    block = summed.relu().mean()
    # An element whose output ReLU is on, so that the skip path carries its 1/36 of the mean.
    on = tuple(int(i) for i in np.argwhere(summed.data[0, 0] > 0)[len(np.argwhere(summed.data[0, 0] > 0)) // 2])
    viz.draw_explanation(autograd.explain(block, x, (0, 0, *on)), {"x": x}).render(
        outfile=OUT + "explanation.png", cleanup=True)

    # Gradient flow through ResNet-20 after one backward.
    model = nn.models.resnet20()
    F.cross_entropy(model(autograd.randn(8, 3, 32, 32)), autograd.tensor(np.arange(8) % 10)).backward()
    viz.plot_grad_flow(model, path=OUT + "grad_flow.png")

    # Why gradcheck runs in float64.
    sweep_input = autograd.tensor(np.linspace(0.2, 1.5, 6), requires_grad=True)
    viz.plot_gradcheck_sweep(lambda t: (t.exp() * t.sin()).sum(), (sweep_input,), path=OUT + "gradcheck_sweep.png")

    # A hand-written convolution backward whose weight gradient forgot the outer 180-degree rotation.
    viz.plot_backward_check(autograd.check_backward(conv_forward, conv_backward_mirrored, *conv_inputs(),
                                                    raise_exception=False), path=OUT + "backward_check.png")

    lint_badges()
    backward_steps_player()

    # The curves gradlab train draws, from a short real run.
    from gradlab.cli import main as gradlab

    with tempfile.TemporaryDirectory() as folder:
        assert gradlab(["train", "--epochs", "6", "--out", folder]) == 0
        Path(OUT + "curves.png").write_bytes((Path(folder) / "curves.png").read_bytes())
        print(json.loads((Path(folder) / "metrics.json").read_text())["epochs"][-1])

    # viz.HealthMonitor's heat-maps of ResNet-20 over 315 steps on the digits (a few minutes on two cores).
    with tempfile.TemporaryDirectory() as folder:
        assert gradlab(["train", "--model", "resnet20", "--health", "--epochs", "7", "--out", folder]) == 0
        Path(OUT + "health_resnet20.png").write_bytes((Path(folder) / "health.png").read_bytes())


def lint_badges() -> None:
    """viz.lint's findings as badges: the README's model with a conv bias before batch norm and a log_softmax
    before cross_entropy, one node per layer, top to bottom (every op left to right is too wide to read)."""
    autograd.manual_seed(0)
    broken = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(8, 4), nn.LogSoftmax(dim=1))
    viz.lint(broken, autograd.randn(16, 1, 8, 8), cross_entropy_against([0, 1, 2, 3] * 4)).draw(
        depth=0, rankdir="TB").render(outfile=OUT + "lint_badges.png", cleanup=True)


def backward_steps_player(clicks: int = 8) -> None:
    """viz.backward_steps' HTML player on the README's scalar example, screenshot in headless Chromium after
    ``clicks`` presses of Next (the player opens at step 0, before the first node runs)."""
    from playwright.sync_api import sync_playwright

    a, b = autograd.tensor(-4.0, requires_grad=True), autograd.tensor(2.0, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    steps = viz.backward_steps((c - d).relu() + (c * d).tanh(), {"a": a, "b": b})
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        page_path = steps.save(Path(folder) / "steps.html")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 920, "height": 660})
        page.goto(page_path.resolve().as_uri())
        for _ in range(clicks):
            page.click(".gs-next")
        page.screenshot(path=OUT + "backward_steps.png", full_page=True)
        browser.close()


def conv_forward(x, w, b):
    """Valid cross-correlation, one bias per filter (README's example)."""
    taps = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwpq,fcpq->nfhw", taps, w) + b[:, None, None], (x, w)


def conv_backward_mirrored(dout, cache):
    """Its backward with the weight gradient left rotated by 180 degrees."""
    x, w = cache
    kh, kw = w.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view
    padded = np.pad(dout, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    dx = np.einsum("nfhwpq,fcpq->nchw", windows(padded, (kh, kw), axis=(2, 3)), w[:, :, ::-1, ::-1])
    dw = np.einsum("nchwpq,nfhw->fcpq", windows(x, (kh, kw), axis=(2, 3)), dout)
    return dx, dw[:, :, ::-1, ::-1], dout.sum(axis=(0, 2, 3))


def conv_inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)


if __name__ == "__main__":
    main()
