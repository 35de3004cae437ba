"""The documentation site builds with warnings as errors (a broken reference, a bad docstring or a missing picture
fails it), and its pages hold what they promise."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("sphinxarg")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "html",
                            str(ROOT / "docs"), str(out), "-d", str(out / ".doctrees")],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, f"sphinx-build -W failed:\n{build.stderr[-6000:]}"
    return out


def text(page: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text()))


def test_the_site_builds_with_warnings_as_errors(site):
    assert (site / "index.html").is_file()


def test_api_reference_documents_each_package(site):
    for page, names in {"autograd": ["autograd.Tensor", "autograd.grad", "autograd.gradcheck"],
                        "nn": ["nn.Conv2d", "nn.Module", "nn.models.resnet20"],
                        "functional": ["nn.functional.conv2d", "nn.functional.cross_entropy"],
                        "optim": ["optim.SGD", "optim.Adam"],
                        "viz": ["viz.make_dot", "viz.plot_history"]}.items():
        html = (site / "api" / f"{page}.html").read_text()
        for name in names:
            assert f'id="{name}"' in html, f"{name} is not documented on api/{page}"


def test_differences_page_is_the_readme_section(site):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Decisions that differ from PyTorch", 1)[1]
    page = " ".join(re.findall(r"[A-Za-z]+", text(site / "differences.html")))
    for bullet in re.findall(r"^- (.+)$", section, re.M)[:3]:
        assert " ".join(re.findall(r"[A-Za-z]+", bullet)[:8]) in page, bullet


def test_cli_page_shows_every_command_and_its_defaults(site):
    from gradlab.cli import COMMANDS

    page = text(site / "cli.html")
    for name in COMMANDS:
        assert f"gradlab {name}" in page
    assert "resnet_digits" in page and "Default: resnet20" in page


def test_each_picture_page_shows_its_picture(site):
    pages = sorted((ROOT / "docs" / "pictures").glob("*.md"))
    assert len(pages) >= 8
    for page in pages:
        if page.stem == "index":
            continue
        pictures = re.findall(r"\(\.\./images/([^)]+)\)", page.read_text())
        assert pictures, f"{page.name} shows no picture"
        for picture in pictures:
            assert (site / "_images" / picture).is_file(), f"{picture} of {page.name} was not copied"


def test_supported_ops_page_is_a_table_linking_the_differences(site):
    html = (site / "supported_ops.html").read_text()
    assert "<table" in html and 'href="differences.html"' in html
    assert "nn.Conv2d" in text(site / "supported_ops.html")
    assert "supported_ops.html" in (site / "index.html").read_text()


def test_every_tutorial_notebook_is_a_page(site):
    notebooks = sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))
    assert len(notebooks) >= 6
    for notebook in notebooks:
        assert (site / "tutorials" / f"{notebook.stem}.html").is_file(), notebook.name
        assert f"tutorials/{notebook.stem}.html" in (site / "tutorials.html").read_text()
