"""``viz.backward_steps``: the recorded steps follow the engine, and the HTML player shows them (in Chromium)."""

import re
import shutil

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
import viz
from gradlab.cli import main

has_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?|nan|-?inf")


def numbers(text: str) -> np.ndarray:
    return np.array([float(token) for token in NUMBER.findall(text)])


def fan_in_graph():
    """x reaches the loss along two paths (through y = x * w, and directly): its .grad is a sum of two."""
    x = autograd.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = autograd.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    y = x * w
    loss = (y * y + x).sum()
    return x, w, y, loss


def engine_order(loss) -> list:
    """The nodes in the order the engine runs them, seen by pre-hooks of our own."""
    ran = []
    handles = [node.register_prehook(lambda grads, node=node: ran.append(node))
               for node in autograd.graph.walk_graph([autograd.graph.get_gradient_edge(loss).node])]
    loss.backward(retain_graph=True)
    for handle in handles:
        handle.remove()
    return ran


def test_steps_follow_the_engine_and_leave_the_same_gradients():
    x, w, y, loss = fan_in_graph()
    expected_order = engine_order(loss)
    expected_x, expected_w = x.grad.data.copy(), w.grad.data.copy()
    x.grad = w.grad = None
    steps = viz.backward_steps(loss, {"x": x, "w": w})
    assert [step.node for step in steps] == expected_order
    np.testing.assert_allclose(x.grad.data, expected_x)
    np.testing.assert_allclose(w.grad.data, expected_w)
    # The leaf x receives two gradients (from Mul and from Add), shown with their sum, which became .grad.
    x_step = next(step for step in steps if step.label == "x (2, 2)")
    assert len(x_step.arrivals) == 2
    np.testing.assert_allclose(sum(arrival.gradient.value for arrival in x_step.arrivals), x.grad.data)
    np.testing.assert_allclose(x_step.received[0].value, x.grad.data)
    np.testing.assert_allclose(x_step.leaf_grad.value, x.grad.data)
    np.testing.assert_allclose(steps.leaves[0].final.value if steps.leaves[0].label.startswith("x")
                               else steps.leaves[1].final.value, x.grad.data)
    # What y's Mul received is dloss/dy = 2y; what it sent to x is 2y * w.
    mul = next(step for step in steps if step.node is y.grad_fn)
    np.testing.assert_allclose(mul.received[0].value, 2 * y.data)
    np.testing.assert_allclose(mul.sent[0].gradient.value, 2 * y.data * w.data)
    assert mul.rule == "y = a * b; da = grad * b, db = grad * a."
    assert "leaf.grad" in x_step.rule


def test_recording_hooks_are_removed_and_grad_builds_up_across_passes():
    x, w, y, loss = fan_in_graph()
    first = viz.backward_steps(loss, retain_graph=True)
    once = x.grad.data.copy()
    second = viz.backward_steps(loss)
    assert len(second) == len(first)  # no hook of the first recording fired again
    np.testing.assert_allclose(x.grad.data, 2 * once)
    x_leaf = next(leaf for leaf in second.leaves if leaf.node.variable is x)
    np.testing.assert_allclose(x_leaf.before.value, once)
    np.testing.assert_allclose(x_leaf.final.value, 2 * once)


def test_a_gradient_is_needed_for_a_non_scalar_output():
    x = autograd.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for one-element outputs"):
        viz.backward_steps(x * 2)
    steps = viz.backward_steps(x * 2, gradient=autograd.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0, 6.0])
    assert steps[0].arrivals[0].source is None and steps[0].arrivals[0].gradient.text() == "[1, 2, 3]"


def test_a_tensor_without_a_graph_is_refused_by_name():
    with pytest.raises(ValueError, match=r"the output \(shape \(2,\)\) has no graph: it does not require grad"):
        viz.backward_steps(autograd.ones(2))
    with pytest.raises(TypeError, match="backward_steps: expected the Tensor to differentiate, got float"):
        viz.backward_steps(1.0)


def test_big_gradients_show_shape_and_norm():
    x = autograd.ones(5, 5, requires_grad=True)
    steps = viz.backward_steps((x * 3).sum())
    assert steps[-1].leaf_grad.text() == "shape (5, 5), |grad| = 15"


@has_dot
def test_page_is_self_contained():
    x, w, y, loss = fan_in_graph()
    steps = viz.backward_steps(loss, {"x": x, "w": w})
    page = steps.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script>" in page
    assert not re.search(r"<script[^>]+src=|<link|@import|url\(", page)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg",
                                                              "http://www.w3.org/1999/xlink"}
    fragment = steps._repr_html_()
    assert "<html" not in fragment and f"gradlab-steps-{id(steps):x}" in fragment


@has_dot
def test_model_steps_collapse_by_module():
    model = nn.models.resnet_digits()
    labels = autograd.tensor(np.array([1, 2]))
    steps = viz.model_backward_steps(model, autograd.randn(2, 1, 8, 8),
                                     loss_fn=lambda logits: F.cross_entropy(logits, labels))
    drawn = {node.id: node for node in steps.graph.nodes}
    inner = [step for step in steps if drawn[step.drawn].kind == "module"]
    assert {drawn[step.drawn].name for step in inner} == {"layer1.0", "layer2.0"}
    assert {step.node.name() for step in inner} >= {"Conv2d", "BatchNorm", "Relu", "Add"}
    for name, parameter in model.named_parameters():
        leaf = next(leaf for leaf in steps.leaves if leaf.node.variable is parameter)
        assert leaf.label.startswith(name + " ")
        np.testing.assert_allclose(leaf.final.value if leaf.final.value is not None else leaf.final.norm,
                                   parameter.grad.data if leaf.final.value is not None
                                   else np.linalg.norm(parameter.grad.data), rtol=1e-5)


@has_dot
def test_graph_cli_writes_a_steps_page(tmp_path, capsys):
    out = tmp_path / "steps.html"
    assert main(["graph", "--model", "mlp", "--steps", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == str(out) and "backward steps" in printed[-2]
    page = out.read_text()
    assert "<svg" in page and "CrossEntropy" in page


def test_without_dot_jupyter_shows_the_steps_as_text(tmp_path, monkeypatch):
    x, w, y, loss = fan_in_graph()
    steps = viz.backward_steps(loss, {"x": x, "w": w})
    monkeypatch.setenv("PATH", str(tmp_path))
    shown = steps._repr_html_()
    assert "apt-get install graphviz" in shown and f"BackwardSteps: {len(steps)} steps" in shown
    assert "<script" not in shown


def test_graph_cli_steps_refuses_the_options_of_the_picture(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["graph", "--model", "mlp", "--steps", str(tmp_path / "steps.html"), "--out", str(tmp_path / "g.svg"),
              "--grads"])
    assert exit.value.code == 2 and "--out, --grads would be ignored" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_graph_cli_steps_without_dot_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "steps.html"
    assert main(["graph", "--model", "mlp", "--steps", str(out)]) == 1
    assert not out.exists() and "apt-get install graphviz" in capsys.readouterr().out


# ------------------------------------------------------------------ in a real browser

@pytest.fixture(scope="module")
def browser():
    if shutil.which("dot") is None:
        pytest.skip("graphviz 'dot' is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert not errors, errors


def open_steps(page, steps, tmp_path):
    path = steps.save(tmp_path / "steps.html")
    page.goto(path.resolve().as_uri())
    return page


def press_next(page, times: int) -> None:
    for _ in range(times):
        page.click(".gs-next")


def running(page) -> list[str]:
    return page.locator("g.node.gs-running > title").all_text_contents()


def test_browser_highlights_each_node_in_engine_order(page, tmp_path):
    x, w, y, loss = fan_in_graph()
    steps = viz.backward_steps(loss, {"x": x, "w": w})
    open_steps(page, steps, tmp_path)
    assert page.text_content(".gs-counter") == f"step 0 / {len(steps)}" and running(page) == []
    for number, step in enumerate(steps, 1):
        press_next(page, 1)
        assert page.text_content(".gs-counter") == f"step {number} / {len(steps)}"
        assert running(page) == [step.drawn]
        assert page.text_content(".gs-heading").startswith(f"{number}. {step.node.name()}")
        assert page.text_content(".gs-rule") == step.rule
    page.click(".gs-prev")
    assert running(page) == [steps[-2].drawn]


def test_browser_shows_the_engines_gradients(page, tmp_path):
    x, w, y, loss = fan_in_graph()
    steps = viz.backward_steps(loss, {"x": x, "w": w})
    open_steps(page, steps, tmp_path)
    order = [step.node for step in steps]

    # y's Mul: y * y sent it y twice (once per factor), summed to 2y; it sends 2y * w to x and 2y * x to w.
    press_next(page, order.index(y.grad_fn) + 1)
    for text in page.locator(".gs-arrival pre").all_text_contents():
        np.testing.assert_allclose(numbers(text), y.data.ravel(), rtol=1e-3)
    np.testing.assert_allclose(numbers(page.text_content(".gs-sum pre")), (2 * y.data).ravel(), rtol=1e-3)
    sent = page.locator(".gs-sent-row pre").all_text_contents()
    np.testing.assert_allclose(numbers(sent[0]), (2 * y.data * w.data).ravel(), rtol=1e-3)
    np.testing.assert_allclose(numbers(sent[1]), (2 * y.data * x.data).ravel(), rtol=1e-3)
    assert page.locator("g.edge.gs-send").count() == 2

    x_node = autograd.graph.get_gradient_edge(x).node
    page.fill(".gs-slider", str(order.index(x_node) + 1))  # the slider jumps there
    page.dispatch_event(".gs-slider", "input")
    arrivals = [numbers(text) for text in page.locator(".gs-arrival pre").all_text_contents()]
    assert len(arrivals) == 2
    np.testing.assert_allclose(sum(arrivals), x.grad.data.ravel(), rtol=1e-3)
    np.testing.assert_allclose(numbers(page.text_content(".gs-sum pre")), x.grad.data.ravel(), rtol=1e-3)
    np.testing.assert_allclose(numbers(page.text_content(".gs-leafgrad pre")), x.grad.data.ravel(), rtol=1e-3)
    changed = page.locator(".gs-leaves tr.gs-changed td").all_text_contents()
    assert changed[0] == "x (2, 2)"
    np.testing.assert_allclose(numbers(changed[1]), x.grad.data.ravel(), rtol=1e-3)


def test_browser_play_and_keys(page, tmp_path):
    a = autograd.tensor(2.0, requires_grad=True)
    steps = viz.backward_steps(a * 3, {"a": a})
    open_steps(page, steps, tmp_path)
    page.click(".gs-play")
    page.wait_for_function("document.querySelector('.gs-counter').textContent === 'step 2 / 2'", timeout=5000)
    assert page.text_content(".gs-play").strip().endswith("Play")  # stopped at the end
    assert numbers(page.text_content(".gs-leafgrad pre")).tolist() == [3.0]
    page.focus(".gradlab-steps")
    page.keyboard.press("ArrowLeft")
    assert running(page) == [steps[0].drawn]
