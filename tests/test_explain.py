"""autograd.explain: one gradient element split into what each path carried; rows sum to the gradient."""

import re
import shutil

import numpy as np
import pytest

import autograd
import nn.functional as F
import viz

has_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")


def scalar(value):
    return autograd.tensor(value, dtype=autograd.float64, requires_grad=True)


def residual_block(scale):
    """out = relu(conv2(relu(conv1(x))) + x), loss = sum(out * c): the conv branch is scaled by ``scale``."""
    rng = np.random.default_rng(0)
    x, c = (autograd.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True) for _ in range(2))
    w1, w2 = (autograd.tensor(rng.standard_normal((2, 2, 3, 3)) * scale, requires_grad=True) for _ in range(2))
    x.data[0, 0, 2, 2] = 1.5  # keeps the final relu on at this element
    pre = F.conv2d(F.relu(F.conv2d(x, w1, padding=1)), w2, padding=1) + x
    return (F.relu(pre) * c).sum(), x, pre, c, {"x": x, "w1": w1, "w2": w2, "c": c}


def test_a_times_b_plus_a_splits_b_plus_one_into_two_paths():
    a, b = scalar(2.0), scalar(3.0)
    explanation = autograd.explain(a * b + a, a)
    assert explanation.total == 4.0 and explanation.complete
    assert [(path.ops, path.contribution, path.factors) for path in explanation.paths] == [
        (("Mul", "Add"), 3.0, (3.0, 1.0)), (("Add",), 1.0, (1.0,))]
    assert explanation.residual == 0.0
    text = str(explanation)
    assert text.splitlines()[0].startswith("d output / d tensor = 4: 2 paths, 2 rows")
    assert re.search(r"75\.0%\s+3\s+Mul -> Add  \(3 x 1\)", text) and re.search(r"25\.0%\s+1\s+Add  \(1\)", text)
    assert a.grad is None and b.grad is None  # explain leaves .grad alone


def test_a_value_used_twice_by_one_op_gives_two_paths():
    x = scalar(3.0)
    explanation = autograd.explain(x * x, x)
    assert [path.contribution for path in explanation.paths] == [3.0, 3.0] and explanation.total == 6.0


def test_exponentially_many_paths_are_bundled_beyond_max_paths_and_still_sum():
    x = scalar(0.7)
    z = x
    for _ in range(5):
        z = z * x + z.sin()
    full = autograd.explain(z, x, max_paths=100)
    assert full.complete and len(full.paths) == 63 and all(path.paths == 1 for path in full.paths)
    assert abs(full.residual) < 1e-10
    assert full.total == pytest.approx(autograd.grad(z, x, retain_graph=True)[0].item(), abs=1e-12)
    for path in full.paths:  # a path of scalars carries the product of its local derivatives
        assert path.contribution == pytest.approx(np.prod(path.factors), rel=1e-12)
    short = autograd.explain(z, x, max_paths=8)
    assert not short.complete and len(short.paths) <= 8 and sum(path.paths for path in short.paths) == 63
    assert abs(short.residual) < 1e-10 and "bundle" in str(short)
    assert [path.contribution for path in short.paths] == sorted((p.contribution for p in short.paths), key=
                                                                 lambda value: -abs(value))


def test_residual_block_skip_and_conv_paths_sum_to_the_gradient():
    loss, x, pre, c, _ = residual_block(scale=0.2)
    index = (0, 0, 2, 2)
    explanation = autograd.explain(loss, x, index)
    (gradient,) = autograd.grad(loss, x, retain_graph=True)
    assert explanation.total == pytest.approx(gradient.data[index], abs=1e-12)
    by_start = {path.ops[0]: path for path in explanation.paths}
    assert set(by_start) == {"Add", "Conv2d"} and len(explanation.paths) == 2
    assert by_start["Add"].ops == ("Add", "Relu", "Mul", "Sum")
    assert by_start["Conv2d"].ops == ("Conv2d", "Relu", "Conv2d", "Add", "Relu", "Mul", "Sum")
    # the skip path, by hand: d relu(pre) / d pre * c at the element itself
    assert pre.data[index] > 0 and by_start["Add"].contribution == pytest.approx(c.data[index], abs=1e-12)
    assert abs(explanation.residual) < 1e-10 and by_start["Add"].factors is None


def test_intermediate_tensors_and_broadcast_parameters():
    rng = np.random.default_rng(2)
    x = autograd.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    bias = autograd.tensor(rng.standard_normal(4), requires_grad=True)
    h = (x + bias).tanh()
    loss = (h * bias).sum() + (h ** 2).mean()
    for tensor, index in ((bias, 1), (h, (2, 3)), (x, 5)):
        explanation = autograd.explain(loss, tensor, index)
        (gradient,) = autograd.grad(loss, tensor, retain_graph=True)
        assert explanation.total == pytest.approx(gradient.data.flat[np.ravel_multi_index(explanation.index,
                                                                                          tensor.shape)])
        assert abs(explanation.residual) < 1e-10
    assert len(autograd.explain(loss, bias, 1).paths) == 3  # through h twice (Mul, Pow), and as Mul's factor


def test_float32_rows_sum_to_rounding():
    x = autograd.tensor(np.linspace(-1, 1, 6, dtype=np.float32), requires_grad=True)
    y = (x.exp() * x + x.sin()).sum()
    explanation = autograd.explain(y, x, 4)
    assert abs(explanation.residual) <= 1e-6 * max(abs(path.contribution) for path in explanation.paths)
    assert "float32" in str(explanation).splitlines()[0]


def test_explain_can_run_twice_and_backward_afterwards_is_unchanged():
    loss, x, *_ = residual_block(scale=0.5)
    first = autograd.explain(loss, x, 7)
    second = autograd.explain(loss, x, 7)
    assert [p.contribution for p in first.paths] == [p.contribution for p in second.paths]
    expected = autograd.grad(loss, x, retain_graph=True)[0].data.copy()
    loss.backward()  # the cutting hooks are gone: an ordinary backward sees every path
    np.testing.assert_array_equal(x.grad.data, expected)


def test_errors_name_the_problem():
    a, b = scalar(1.0), scalar(2.0)
    with pytest.raises(ValueError, match="one-element tensor"):
        autograd.explain(autograd.stack([a, b]), a)
    with pytest.raises(ValueError, match="does not depend on tensor"):
        autograd.explain(a * 2, b)
    with pytest.raises(IndexError, match="out of range"):
        autograd.explain(a * b, a, 3)
    with pytest.raises(ValueError, match="the output itself"):
        y = a * b
        autograd.explain(y, y)


def test_draw_emphasises_the_paths_by_width():
    a, b = scalar(2.0), scalar(3.0)
    dot = viz.draw_explanation(autograd.explain(a * b + a, a), {"a": a, "b": b})
    widths = {label.strip(): float(width) for width, label in
              re.findall(r'penwidth="([\d.]+)"[^\]]*label="([^"]+)"', dot.source)}
    assert set(widths) == {"+3", "+1", "+4"}  # a -> Mul -> Add, a -> Add, and the output edge
    assert widths["+4"] > widths["+3"] > widths["+1"]
    assert "d output / d tensor = 4" in dot.source


@has_dot
def test_draw_residual_block_renders(tmp_path):
    loss, x, _, _, params = residual_block(scale=0.2)
    dot = viz.draw_explanation(autograd.explain(loss, x, (0, 0, 2, 2)), params)
    # 7 edges of the conv path, the skip edge into Add (the rest is shared), and the edge to the output
    assert len(re.findall(r"penwidth=\"[\d.]+\" color=\"#(?:2166ac|b2182b)\"", dot.source)) == 9
    path = dot.render(str(tmp_path / "residual"), format="png")
    assert (tmp_path / "residual.png").stat().st_size > 0 and path.endswith(".png")
