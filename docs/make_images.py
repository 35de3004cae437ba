"""Regenerate the graph pictures in docs/images (run from the repository root: python docs/make_images.py)."""

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


if __name__ == "__main__":
    main()
