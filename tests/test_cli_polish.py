"""The command line's rough edges, run as real processes (--help, which argparse prints alike in any process, is
read in this one): one set of model names, defaults in --help, --version, output formats from the suffix, no stray files, the progress bar only on a terminal, and a short install hint
without graphviz; and the pictures' details (curves, grad-flow legend, graph legend and contrast)."""

import fcntl
import importlib.metadata
import os
import re
import shutil
import struct
import subprocess
import sys
import termios

import pytest

import autograd
from gradlab.arguments import MODEL_ALIASES, MODELS
from viz.dot import INSTALL_GRAPHVIZ, contrast

TIMEOUT = 120
QUICK = ("--limit", "64", "--batch-size", "32")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
has_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")


def gradlab(*args, cwd=None, env=None, stderr=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "gradlab", *map(str, args)], stdout=subprocess.PIPE, stderr=stderr,
                          text=True, timeout=TIMEOUT, cwd=cwd, env=env)


def without_dot(tmp_path):
    """An environment whose PATH finds no graphviz (the interpreter is called by its full path)."""
    empty = tmp_path / "no-dot-bin"
    empty.mkdir(exist_ok=True)
    return dict(os.environ, PATH=str(empty))


def model_choices(help_text):
    names = re.search(r"one of:\s*([\w,\s]+?)(?:\s*\(default|\n\s*--|\Z)", help_text).group(1)
    return sorted(name.strip() for name in names.split(","))


def test_version():
    run = gradlab("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"gradlab {importlib.metadata.version('gradlab')}"


def help_of(command, capsys):
    """``gradlab COMMAND --help`` as printed (in this process: argparse's help needs no fresh interpreter)."""
    from gradlab.cli import main

    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    return capsys.readouterr().out


def test_every_command_with_a_model_takes_the_same_names(capsys):
    from gradlab.cli import COMMANDS

    helps = {name: help_of(name, capsys) for name in COMMANDS}
    with_model = [name for name, text in helps.items() if "--model" in text]
    assert {"train", "graph", "lint"} <= set(with_model)
    for name in with_model:
        assert model_choices(helps[name]) == sorted(MODELS), name


def test_help_shows_defaults(capsys):
    graph = " ".join(help_of("graph", capsys).split())
    assert "(default: resnet20)" in graph and "(default: 1)" in graph
    assert "batch size of the random input (default: 2)" in graph
    train = " ".join(help_of("train", capsys).split())
    assert "default: resnet_digits for digits" in train and "15 for digits" in train and "(default: 0)" in train
    assert "(default: None)" not in train and "(default: False)" not in train


@has_dot
def test_old_model_name_is_an_alias_with_a_deprecation_note(tmp_path):
    old, new = next(iter(MODEL_ALIASES.items()))
    run = gradlab("graph", "--model", old, "--out", tmp_path / "g.svg")
    assert run.returncode == 0 and f"--model {old} is deprecated, use --model {new}" in run.stderr
    assert run.stdout.startswith(f"{new}:")


def test_a_run_saved_under_the_old_name_still_evaluates(tmp_path):
    folder = tmp_path / "run"
    assert gradlab("train", *QUICK, "--epochs", "1", "--out", folder).returncode == 0
    checkpoint = autograd.load(folder / "checkpoint.safetensors")
    assert checkpoint["config"]["model"] == "resnet_digits"
    checkpoint["config"]["model"] = "resnet"  # as runs were saved before the names were unified
    autograd.save(checkpoint, folder / "checkpoint.safetensors")
    run = gradlab("evaluate", "--checkpoint", folder)
    assert run.returncode == 0 and run.stdout.startswith("resnet_digits on digits")


def test_train_refuses_a_model_that_cannot_read_the_images(tmp_path):
    run = gradlab("train", "--model", "resnet18", "--out", tmp_path / "run")
    assert run.returncode == 2 and "--model resnet18 reads 3-channel images; digits has 1-channel ones" in run.stderr
    run = gradlab("train", "--model", "mlp", "--dataset", "mnist", "--data-dir", tmp_path, "--out", tmp_path / "run")
    assert run.returncode == 2 and "--model mlp reads 8x8 images; mnist has 28x28 ones" in run.stderr
    assert not (tmp_path / "run").exists()


@has_dot
def test_the_suffix_of_out_sets_the_format_and_leaves_no_other_file(tmp_path):
    run = gradlab("graph", "--model", "mlp", "--out", "graph.png", cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.splitlines()[-1] == "graph.png"
    assert (tmp_path / "graph.png").read_bytes().startswith(PNG_MAGIC)
    assert gradlab("graph", "--model", "mlp", "--out", "plain", "--format", "pdf", cwd=tmp_path).returncode == 0
    assert (tmp_path / "plain.pdf").read_bytes().startswith(b"%PDF")
    # graphviz writes the DOT source beside the picture first: cleanup removes it
    assert sorted(path.name for path in tmp_path.iterdir()) == ["graph.png", "plain.pdf"]


def test_a_format_that_contradicts_the_suffix_is_a_usage_error(tmp_path):
    run = gradlab("graph", "--model", "mlp", "--out", tmp_path / "g.png", "--format", "svg")
    assert run.returncode == 2 and "asks for png but --format says svg" in run.stderr
    run = gradlab("graph", "--model", "mlp", "--out", tmp_path / "g.jpg")
    assert run.returncode == 2 and "the suffix .jpg is not one of .svg, .png, .pdf" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_a_terminal_train_prints_one_line_per_epoch(tmp_path):
    run = gradlab("train", *QUICK, "--epochs", "2", "--out", tmp_path / "run")
    assert run.returncode == 0
    assert "\r" not in run.stderr and "img/s]" not in run.stderr  # no progress bar in a log
    assert len(re.findall(r"^epoch +\d+/2 ", run.stdout, re.M)) == 2


def test_on_a_terminal_train_shows_the_progress_bar(tmp_path):
    leader, follower = os.openpty()
    # A terminal of 24 x 80: tqdm draws nothing on one of no width.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    run = subprocess.Popen([sys.executable, "-m", "gradlab", "train", *QUICK, "--epochs", "1", "--out",
                            tmp_path / "run"], stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    output = b""
    try:
        while True:  # read as it comes: the terminal's buffer is small, and Linux drops it once the writer exits
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the writer has gone
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(leader)
    assert run.wait(timeout=TIMEOUT) == 0 and b"epoch 1/1" in output and b"img" in output


def test_without_dot_graph_and_train_print_the_same_install_hint(tmp_path):
    environment = without_dot(tmp_path)
    graph = gradlab("graph", "--model", "mlp", "--out", tmp_path / "g.svg", env=environment)
    assert graph.returncode == 0 and INSTALL_GRAPHVIZ in graph.stdout
    train = gradlab("train", *QUICK, "--epochs", "1", "--out", tmp_path / "run", env=environment)
    assert train.returncode == 0 and INSTALL_GRAPHVIZ in train.stdout
    written = sorted(path.name for path in (tmp_path / "run").iterdir())
    assert "graph.dot" in written and "graph" not in written and "graph.svg" not in written


def test_without_dot_python_users_get_a_short_error(tmp_path):
    script = ("import autograd, viz\n"
              "x = autograd.tensor([1.0, 2.0], requires_grad=True)\n"
              "viz.make_dot((x * x).sum()).render('graph', format='svg')\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT,
                         cwd=tmp_path, env=without_dot(tmp_path))
    assert run.returncode == 1 and INSTALL_GRAPHVIZ in run.stderr.splitlines()[-1]
    assert run.stderr.count("Traceback") == 1 and "During handling" not in run.stderr
    assert "direct cause" not in run.stderr and list(tmp_path.glob("graph*")) == []


def test_without_dot_jupyter_shows_the_dot_source(monkeypatch, tmp_path):
    import viz

    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    graph = viz.make_dot((x * x).sum())
    monkeypatch.setenv("PATH", str(tmp_path))
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and bundle["text/plain"].endswith(graph.source)
    assert INSTALL_GRAPHVIZ in bundle["text/plain"]


def test_curves_title_the_learning_rate_show_percent_and_whole_epochs():
    pytest.importorskip("matplotlib")
    import viz

    figure = viz.plot_history({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.3], "test_acc": [0.5, 0.9, 0.975],
                               "lr": [0.05, 0.025, 0.0]})
    loss, accuracy, rate = figure.axes
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy", "learning rate"]
    assert accuracy.yaxis.get_major_formatter()(0.5, 0) == "50%"  # percent, as gradlab train prints accuracy
    for axes in figure.axes:
        ticks = [tick for tick in axes.get_xticks() if 1 <= tick <= 3]
        assert ticks and all(float(tick).is_integer() for tick in ticks)


def test_grad_flow_legend_covers_no_bar():
    pytest.importorskip("matplotlib")
    import nn
    import viz
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model(autograd.randn(3, 4)).sum().backward()
    figure = viz.plot_grad_flow(model)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    axes = figure.axes[0]
    legend = axes.get_legend().get_window_extent(renderer)
    assert legend.x0 >= axes.get_window_extent(renderer).x1  # beside the bars, not over them


def graph_nodes(source):
    """(fill, font colour, label) of every node line of a DOT source."""
    nodes = []
    for line in source.splitlines():
        fill = re.search(r'fillcolor="(#[0-9a-f]{6})"', line)
        if fill:
            nodes.append((fill.group(1), re.search(r'fontcolor="(#[0-9a-f]{6})"', line).group(1), line))
    return nodes


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_graph_text_keeps_contrast_on_every_fill_and_the_legend_covers_every_fill():
    import viz
    from viz.dot import MIN_CONTRAST, _ColorScale

    autograd.manual_seed(0)
    x = autograd.tensor([0.0, 1.0], requires_grad=True)
    weights = [autograd.randn(2, 2, requires_grad=True) * 10.0 ** -power for power in range(6)]
    tiny = autograd.tensor([1.0, 2.0], requires_grad=True)
    total = x.sqrt().sum() + (tiny * 1e-12).sum()
    for weight in weights:
        total = total + (weight * autograd.randn(2, 2)).tanh().sum()
    graph = viz.make_dot(total, {"x": x, "tiny": tiny}, show_grads=True)
    nodes = graph_nodes(graph.source)
    assert len({fill for fill, _, _ in nodes}) >= 6
    for fill, font, line in nodes:
        assert contrast(font, fill) >= MIN_CONTRAST, line
        for color in re.findall(r'font point-size="\d+" color="(#[0-9a-f]{6})"', line):
            assert contrast(color, fill) >= MIN_CONTRAST, line
    # The colour bar runs over the scale's whole range in gradient cells, with a label on every decade.
    scale = _ColorScale(graph.graph)
    legend = next(line for line in graph.source.splitlines() if line.strip().startswith('"legend"'))
    cells = re.findall(r'bgcolor="(#[0-9a-f]{6}):(#[0-9a-f]{6})"', legend)
    assert cells[0][0] == scale.color(scale.high) and cells[-1][1] == scale.color(scale.low)
    assert all(lower == upper for (_, lower), (upper, _) in zip(cells, cells[1:]))  # no gap in the bar
    for decade in range(scale.low, scale.high + 1):
        assert f"1e{decade}<" in legend
