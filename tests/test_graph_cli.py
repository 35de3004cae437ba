"""``gradlab graph``: renders a model's training-step graph to a file and prints its path."""

import shutil
import xml.etree.ElementTree as ElementTree

import pytest

from gradlab.cli import main

has_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")


@has_dot
def test_graph_writes_an_svg_and_prints_its_path(tmp_path, capsys):
    out = tmp_path / "mlp.svg"
    assert main(["graph", "--model", "mlp", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(out)
    svg = ElementTree.parse(out).getroot()
    assert svg.tag.endswith("svg")
    assert "1.weight" in out.read_text()


@has_dot
def test_graph_with_gradients_audit_and_png(tmp_path, capsys):
    out = tmp_path / "digits.png"
    assert main(["graph", "--model", "resnet_digits", "--depth", "2", "--grads", "--audit", "--saved",
                 "--format", "png", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "gradient audit: all" in printed and printed.splitlines()[-1] == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_without_dot_writes_the_dot_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "lenet.svg"
    assert main(["graph", "--model", "lenet5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    source = tmp_path / "lenet.dot"
    assert not out.exists() and source.read_text().startswith("digraph")
    assert "not installed" in printed and "apt-get install graphviz" in printed
    assert printed.splitlines()[-1] == str(source)
