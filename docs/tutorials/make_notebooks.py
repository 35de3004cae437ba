"""Write the tutorial notebooks of this folder (outputs stripped); the test suite executes them with nbmake.

Run ``python docs/tutorials/make_notebooks.py`` after editing a tutorial here: the notebooks are generated, so
their cells stay reviewable as plain Python in one file.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent


def markdown(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(text.strip())


CONV_SIZES = [
    markdown("""
# Convolution output sizes and modes

A convolution layer slides an `f x f` filter over an `N x N` input padded by `P` on each side with stride `S`.
The output has `floor((N + 2P - f) / S) + 1` positions along each axis, and one channel per filter (each filter
spans all input channels and has one bias). This notebook checks the formula against `F.conv2d` on the worked
tables of the CNN notes.
"""),
    code("""
import numpy as np
import autograd
import nn.functional as F


def out_size(n, f, padding=0, stride=1):
    return (n + 2 * padding - f) // stride + 1


def conv_shape(channels, size, filters, f, padding=0, stride=1):
    x = autograd.zeros(1, channels, size, size)
    w = autograd.zeros(filters, channels, f, f)
    return F.conv2d(x, w, stride=stride, padding=padding).shape[1:]
"""),
    markdown("A 6x6 RGB image and two 3x3 filters: *valid* (no padding) gives 4x4x2, *same* (padding 1) 6x6x2."),
    code("""
print(conv_shape(3, 6, 2, 3), out_size(6, 3))              # (2, 4, 4) 4
print(conv_shape(3, 6, 2, 3, padding=1), out_size(6, 3, 1))  # (2, 6, 6) 6
assert conv_shape(3, 6, 2, 3) == (2, 4, 4) and conv_shape(3, 6, 2, 3, padding=1) == (2, 6, 6)
"""),
    markdown("""
The notes' small network: 39x39x3 -> 10 filters 3x3 stride 1 -> 20 filters 5x5 stride 2 -> 40 filters 5x5
stride 2, flattened into 7 * 7 * 40 = 1960 features for a final classifier.
"""),
    code("""
x = autograd.zeros(1, 3, 39, 39)
for filters, f, stride in [(10, 3, 1), (20, 5, 2), (40, 5, 2)]:
    expected = out_size(x.shape[-1], f, stride=stride)
    x = F.conv2d(x, autograd.zeros(filters, x.shape[1], f, f), stride=stride)
    print(tuple(x.shape[1:]), "formula:", expected)
    assert x.shape[-1] == expected
print("flattened:", x.reshape(1, -1).shape[1])
assert x.reshape(1, -1).shape[1] == 1960
"""),
    markdown("Pooling follows the same formula: 2x2 windows with stride 2 halve 28x28x6 to 14x14x6."),
    code("""
pooled = F.max_pool2d(autograd.zeros(1, 6, 28, 28), 2)
print(pooled.shape, out_size(28, 2, stride=2))
assert pooled.shape == (1, 6, 14, 14)
"""),
    markdown("""
## The three modes

*valid* keeps only positions where the filter lies inside the image (`N - f + 1`), *same* pads by `(f - 1) / 2`
so the size stays `N`, *full* pads by `f - 1` and keeps every position where filter and image overlap at all
(`N + f - 1`). A one-hot image shows which positions each mode keeps: its output is the (mirrored) kernel
wherever the filter covers the one.
"""),
    code("""
image = np.zeros((1, 1, 5, 5)); image[0, 0, 2, 2] = 1
kernel = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
for mode, padding in [("valid", 0), ("same", 1), ("full", 2)]:
    y = F.conv2d(autograd.tensor(image), autograd.tensor(kernel), padding=padding)
    print(mode, tuple(y.shape[2:]))
    print(y.data[0, 0].astype(int))
assert F.conv2d(autograd.tensor(image), autograd.tensor(kernel), padding="same").shape == (1, 1, 5, 5)
"""),
    markdown("""
## What a 1x1 bottleneck saves

A 5x5 convolution from 28x28x192 to 32 channels costs one multiply per output element per filter tap; putting a
1x1 convolution to 16 channels in front cuts the cost tenfold (the Inception example of the notes).
"""),
    code("""
direct = 28 * 28 * 32 * (5 * 5 * 192)
bottleneck = 28 * 28 * 16 * 192 + 28 * 28 * 32 * (5 * 5 * 16)
print(f"direct: {direct / 1e6:.1f}M multiplies, with the bottleneck: {bottleneck / 1e6:.1f}M")
assert round(direct / 1e6) == 120 and round(bottleneck / 1e5) == 124
"""),
]

CONV_BACKWARD = [
    markdown("""
# Convolution backward: a full convolution with the kernel rotated 180 degrees

A conv layer computes a *valid* cross-correlation `y = x * w`. Each input pixel touched several outputs, each
through a different kernel tap, so its gradient collects `dout` through the kernel *mirrored*: the gradient with
respect to the input is a **full** correlation of `dout` with `rot180(w)`. The weight gradient is the valid
correlation of the input with `dout`. We check this three ways: by hand in numpy, with gradlab's autograd, and
with central differences (`autograd.check_backward`).
"""),
    code("""
%matplotlib inline
import numpy as np
import autograd
import nn.functional as F
import viz


def correlate(image, kernel):
    '''Valid cross-correlation of two 2-d arrays, written out (what a conv layer computes).'''
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


x = np.array([[1., 2., 0., 1.], [0., 1., 3., 2.], [2., 1., 0., 1.], [1., 0., 2., 3.]])
w = np.array([[1., 0., -1.], [2., 1., 0.], [0., 1., 2.]])
y = correlate(x, w)
dout = np.array([[1., -2.], [3., 0.5]])     # the gradient arriving at y
print(y)
"""),
    markdown("## 1. By hand: pad `dout` by `f - 1 = 2` (full mode) and correlate with the rotated kernel"),
    code("""
rot180 = w[::-1, ::-1]
dx_hand = correlate(np.pad(dout, 2), rot180)
dw_hand = correlate(x, dout)
print("rot180(w) =\\n", rot180)
print("dx =\\n", dx_hand)
print("dw =\\n", dw_hand)
"""),
    markdown("Element by element, `dx[0, 0]` only ever met tap `w[0, 0]` (through `y[0, 0]`):"),
    code("""
assert dx_hand[0, 0] == dout[0, 0] * w[0, 0]
assert dx_hand[1, 1] == dout[0, 0] * w[1, 1] + dout[0, 1] * w[1, 0] + dout[1, 0] * w[0, 1] + dout[1, 1] * w[0, 0]
"""),
    markdown("## 2. gradlab's autograd: run `F.conv2d` forward, then backward with the same `dout`"),
    code("""
X = autograd.tensor(x[None, None], requires_grad=True, dtype=autograd.float64)
W = autograd.tensor(w[None, None], requires_grad=True, dtype=autograd.float64)
Y = F.conv2d(X, W)
Y.backward(autograd.tensor(dout[None, None]))
print(X.grad.data[0, 0])
np.testing.assert_allclose(Y.data[0, 0], y)
np.testing.assert_allclose(X.grad.data[0, 0], dx_hand)
np.testing.assert_allclose(W.grad.data[0, 0], dw_hand)
"""),
    markdown("""
## 3. Finite differences, with `autograd.check_backward`

Written as a student writes a layer: `forward(x, w, b) -> (out, cache)` and `backward(dout, cache) -> (dx, dw,
db)`, on batches with several channels. `check_backward` compares the backward with central differences in
float64 and, with `reference=F.conv2d`, with gradlab's own gradient.
"""),
    code("""
def conv_forward(x, w, b):
    out = np.stack([np.stack([sum(correlate(xi[c], wf[c]) for c in range(x.shape[1])) + bf
                              for wf, bf in zip(w, b)]) for xi in x])
    return out, (x, w)


def conv_backward(dout, cache):
    x, w = cache
    f = w.shape[-1]
    dx = np.stack([np.stack([sum(correlate(np.pad(dn[k], f - 1), w[k, c, ::-1, ::-1]) for k in range(w.shape[0]))
                             for c in range(x.shape[1])]) for dn in dout])
    dw = np.stack([np.stack([sum(correlate(x[n, c], dout[n, k]) for n in range(x.shape[0]))
                             for c in range(x.shape[1])]) for k in range(w.shape[0])])
    return dx, dw, dout.sum(axis=(0, 2, 3))


rng = np.random.default_rng(0)
xs, ws, bs = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
print(autograd.check_backward(conv_forward, conv_backward, xs, ws, bs, reference=F.conv2d))
"""),
    markdown("""
Forget the rotation in `dx` and the check fails: it names the input and its worst element, shows the pattern of
the error over that slice, and says which gradients are right (`dw` and `db` still are). The heat-maps below are
analytic minus numeric for every input, on one colour scale.
"""),
    code("""
def conv_backward_unrotated(dout, cache):
    x, w = cache
    dx = conv_backward(dout, (x, w[:, :, ::-1, ::-1]))[0]   # rotated twice: the kernel as it was
    return (dx,) + conv_backward(dout, cache)[1:]


report = autograd.check_backward(conv_forward, conv_backward_unrotated, xs, ws, bs, raise_exception=False)
print(report.message)
assert not report.passed
viz.plot_backward_check(report)
"""),
]

POOLING = [
    markdown("""
# Max and average pooling backward, on the 4x4 example

A 2x2 pooling with stride 2 turns a 4x4 map into 2x2. In backward, each window's gradient goes back to that
window only. Max pooling routes it to the element that was the maximum (remembered in forward), zeros elsewhere;
average pooling spreads it evenly, a quarter to each element. The notes' example: the gradient `[[2, 8], [4, 6]]`
arriving at the pooled map, with the maxima top-left, bottom-right, top-right and bottom-left of their windows.
"""),
    code("""
import numpy as np
import autograd
import nn.functional as F

x = np.array([[1.0, 0.0, 2.0, 3.0],
              [0.0, 0.5, 1.0, 4.0],
              [1.0, 5.0, 0.0, 1.0],
              [2.0, 1.0, 6.0, 0.0]])
dout = np.array([[2.0, 8.0], [4.0, 6.0]])


def pool_gradient(pool):
    X = autograd.tensor(x[None, None], requires_grad=True)
    pool(X, 2).backward(autograd.tensor(dout[None, None]))
    return X.grad.data[0, 0]
"""),
    code("""
max_grad = pool_gradient(F.max_pool2d)
print(max_grad)
np.testing.assert_array_equal(max_grad, [[2, 0, 0, 0], [0, 0, 0, 8], [0, 4, 0, 0], [0, 0, 6, 0]])
"""),
    code("""
avg_grad = pool_gradient(F.avg_pool2d)
print(avg_grad)
np.testing.assert_array_equal(avg_grad, [[0.5, 0.5, 2, 2], [0.5, 0.5, 2, 2], [1, 1, 1.5, 1.5], [1, 1, 1.5, 1.5]])
"""),
    markdown("""
## The same, written by hand and checked by finite differences

The hand-written backward of average pooling must divide by the window's area; one that forgets fails
`check_backward` by a factor of 4 on every element. (Finite differences need the inputs away from ties for max
pooling: a max shared by two elements has no derivative.)
"""),
    code("""
def avg_forward(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)), x.shape


def avg_backward(dout, shape):
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4


def avg_backward_forgot_the_area(dout, shape):
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)


def max_forward(x):
    n, c, h, w = x.shape
    windows = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = windows.max(axis=(3, 5))
    return out, windows == out[:, :, :, None, :, None]


def max_backward(dout, is_max):
    return (is_max * dout[:, :, :, None, :, None]).reshape(dout.shape[:2] + (2 * dout.shape[2], 2 * dout.shape[3]))


X = x[None, None]
print(autograd.check_backward(avg_forward, avg_backward, X, reference=lambda t: F.avg_pool2d(t, 2)))
print(autograd.check_backward(max_forward, max_backward, X, reference=lambda t: F.max_pool2d(t, 2)))
report = autograd.check_backward(avg_forward, avg_backward_forgot_the_area, X, raise_exception=False)
print(report.message)
assert not report.passed
"""),
]

BATCH_NORM = [
    markdown("""
# Batch norm's gradient

In training, batch norm normalises each feature with the statistics of the batch,
`xhat = (x - mean) / sqrt(var + eps)`, then scales and shifts, `y = gamma * xhat + beta`. Because the mean and the
variance depend on every example, each input's gradient involves the whole batch. With `g = dout * gamma`, `M` the
batch size and `invstd = 1 / sqrt(var + eps)`:

`dx = invstd / M * (M * g - sum(g) - xhat * sum(g * xhat))`,  `dgamma = sum(dout * xhat)`,  `dbeta = sum(dout)`.

The two subtracted terms remove what the gradient would do to the batch's mean and variance, which are fixed by
the normalisation.
"""),
    code("""
import numpy as np
import autograd
import nn.functional as F

EPS = 1e-5


def bn_forward(x, gamma, beta):
    mean, var = x.mean(axis=0), x.var(axis=0)
    invstd = 1 / np.sqrt(var + EPS)
    xhat = (x - mean) * invstd
    return gamma * xhat + beta, (xhat, gamma, invstd)


def bn_backward(dout, cache):
    xhat, gamma, invstd = cache
    m = dout.shape[0]
    g = dout * gamma
    dx = invstd / m * (m * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


rng = np.random.default_rng(0)
x, gamma, beta = rng.standard_normal((6, 3)) * 2 + 1, rng.standard_normal(3), rng.standard_normal(3)
"""),
    markdown("Checked against central differences and against gradlab's fused `F.batch_norm` (training mode):"),
    code("""
reference = lambda x, gamma, beta: F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)
print(autograd.check_backward(bn_forward, bn_backward, x, gamma, beta, reference=reference))
"""),
    markdown("""
What the formula says, seen in numbers: whatever `dout` is, the gradient sums to zero over the batch (shifting
every example alike does not change `y`) and is orthogonal to `xhat` (neither does scaling them alike), up to the
`eps` that keeps the division safe.
"""),
    code("""
dout = rng.standard_normal((6, 3))
dx, dgamma, dbeta = bn_backward(dout, bn_forward(x, gamma, beta)[1])
xhat = bn_forward(x, gamma, beta)[1][0]
print("sum over the batch:", dx.sum(axis=0))
print("sum of dx * xhat:  ", (dx * xhat).sum(axis=0))
np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)
np.testing.assert_allclose((dx * xhat).sum(axis=0), 0, atol=1e-4)
"""),
    markdown("The same gradient from gradlab's autograd, by backward through `F.batch_norm`:"),
    code("""
X = autograd.tensor(x, requires_grad=True, dtype=autograd.float64)
G = autograd.tensor(gamma, requires_grad=True, dtype=autograd.float64)
B = autograd.tensor(beta, requires_grad=True, dtype=autograd.float64)
reference(X, G, B).backward(autograd.tensor(dout))
np.testing.assert_allclose(X.grad.data, dx, rtol=1e-8)
np.testing.assert_allclose(G.grad.data, dgamma, rtol=1e-8)
np.testing.assert_allclose(B.grad.data, dbeta, rtol=1e-8)
print(X.grad.data)
"""),
]

VANISHING = [
    markdown("""
# Vanishing gradients: a deep plain net against a ResNet

Backward multiplies the gradient by one local Jacobian per layer. With sigmoids (derivative at most 1/4) and
modest weights, twenty layers shrink it by many decades before it reaches the first layers, which then barely
learn. A residual block `x + f(x)` adds the identity to each Jacobian: the gradient reaches every block at least
unchanged along the skip path. Same layers, same data; only the skips differ.
"""),
    code("""
%matplotlib inline
import numpy as np
import autograd
import nn
import nn.functional as F
import viz

DEPTH, WIDTH = 20, 16


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.act = nn.Sigmoid()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return x + self.fc(self.act(x))


def plain():
    return nn.Sequential(*[nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Sigmoid()) for _ in range(DEPTH)],
                         nn.Linear(WIDTH, 1))


def resnet():
    return nn.Sequential(nn.Linear(WIDTH, WIDTH), *[Residual(WIDTH) for _ in range(DEPTH - 1)], nn.Linear(WIDTH, 1))


autograd.manual_seed(0)
x, target = autograd.randn(32, WIDTH), autograd.randn(32, 1)
models = {"plain": plain(), "resnet": resnet()}
for model in models.values():
    F.mse_loss(model(x), target).backward()
"""),
    markdown("The mean `|grad|` of each layer's weight, from the input side to the output side:"),
    code("""
for name, model in models.items():
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    first, last = np.abs(weights[0].grad.data).mean(), np.abs(weights[-1].grad.data).mean()
    print(f"{name:7s} first layer {first:.1e}, last layer {last:.1e}: {np.log10(last / first):.1f} decades apart")
plain_weights = [p for n, p in models["plain"].named_parameters() if n.endswith("weight")]
resnet_weights = [p for n, p in models["resnet"].named_parameters() if n.endswith("weight")]
assert np.abs(plain_weights[0].grad.data).mean() < 1e-6 * np.abs(plain_weights[-1].grad.data).mean()
assert np.abs(resnet_weights[0].grad.data).mean() > 1e-2 * np.abs(resnet_weights[-1].grad.data).mean()
"""),
    markdown("`viz.plot_grad_flow` shows it per parameter, on a log scale: the plain net's bars fall away to the left."),
    code("""
figure = viz.plot_grad_flow(models["plain"])
figure.suptitle("plain: 20 x (Linear, Sigmoid)")
figure
"""),
    code("""
figure = viz.plot_grad_flow(models["resnet"])
figure.suptitle("resnet: 20 x (x + Linear(Sigmoid(x)))")
figure
"""),
    markdown("""
The same on the graph, for six layers: `capture_grads` before backward colours every op by the norm of the
gradient reaching it (viridis, one colour step per decade). In the plain net the colour darkens layer after layer
toward the input; in the ResNet it stays within a decade, carried by the skip edges (dashed purple).
"""),
    code("""
def gradient_map(model):
    loss = model(x).sum()
    viz.capture_grads(loss)
    loss.backward()
    return viz.make_dot(loss, dict(model.named_parameters()), show_grads=True, rankdir="LR")


autograd.manual_seed(0)
gradient_map(nn.Sequential(*[nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Sigmoid()) for _ in range(6)]))
"""),
    code("""
gradient_map(nn.Sequential(nn.Linear(WIDTH, WIDTH), *[Residual(WIDTH) for _ in range(5)]))
"""),
]

STEPS = [
    markdown("""
# Stepping through backward on a scalar expression

`viz.backward_steps(loss)` runs `loss.backward()` and records every node the engine runs, in its real order:
the gradient that arrived (summed where paths fan in), the rule the node applied, and what it sent along each
input edge. The result displays as a player: press **Next**, or **Play**.
"""),
    code("""
import autograd
import viz

a = autograd.tensor(-4.0, requires_grad=True)
b = autograd.tensor(2.0, requires_grad=True)
c = a + b
d = a * b + b ** 3
e = (c - d).relu() + (c * d).tanh()
steps = viz.backward_steps(e, {"a": a, "b": b})
steps
"""),
    markdown("The same steps as text. A node runs only once every gradient meant for it has arrived:"),
    code("""
for number, step in enumerate(steps, 1):
    arrived = " + ".join(arrival.gradient.text() for arrival in step.arrivals)
    sent = ", ".join(sent.gradient.text() for sent in step.sent)
    print(f"{number:2d}. {step.label:14s} got {arrived:12s} sent [{sent}]   {step.rule}")
"""),
    markdown("`b` is used three times (in `c`, `a * b` and `b ** 3`), so its `.grad` is the sum of three arrivals:"),
    code("""
b_step = next(step for step in steps if step.label == "b")
print(" + ".join(arrival.gradient.text() for arrival in b_step.arrivals), "=", b_step.leaf_grad.text())
assert b.grad.item() == sum(arrival.gradient.value.item() for arrival in b_step.arrivals) == -16
"""),
    markdown("`steps.save('steps.html')` writes the player as one self-contained page (no network needed)."),
]

NOTEBOOKS = {
    "01_conv_output_sizes.ipynb": CONV_SIZES,
    "02_conv_backward_rot180.ipynb": CONV_BACKWARD,
    "03_pooling_backward.ipynb": POOLING,
    "04_batch_norm_gradient.ipynb": BATCH_NORM,
    "05_vanishing_gradients.ipynb": VANISHING,
    "06_step_through_backward.ipynb": STEPS,
}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        for number, cell in enumerate(cells):
            cell.id = f"{Path(name).stem[:2]}-{number}"  # stable ids: regenerating changes no line but edited ones
        notebook = nbformat.v4.new_notebook(cells=cells, metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}})
        nbformat.validate(notebook)
        nbformat.write(notebook, HERE / name)


if __name__ == "__main__":
    main()
