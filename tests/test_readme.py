"""Every ```python block of README.md runs, each on its own in a fresh interpreter, and prints what the README says.

The conventions (CONTRIBUTING.md, "README examples"):

- A line ending in ``# -> TEXT`` claims that the block prints the line TEXT; the block's output must be exactly
  those lines, in order.
- A ```text block right after the python block (nothing but blank lines between) is the block's whole output.
- A block with neither only has to run without an error.
- ``<!-- readme-test: skip REASON -->`` on the line before a block skips it (for one that needs several processes or
  runs long), and the reason shows in pytest's report.

Blocks run in a temporary folder (what they write goes there) with a 60 s limit.
"""

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
CLAIM = re.compile(r"#\s*->\s?(.*)$")
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b\s*(.*?)\s*-->")


@dataclass
class Example:
    """One ```python block: where it is, its code, its claimed output (None: none claimed), why it is skipped."""

    line: int
    heading: str
    code: str
    expected: list[str] | None
    skip: str | None


def fenced_blocks(lines: list[str]) -> list[tuple[int, int, str, list[str]]]:
    """(first line, line after the closing fence, language, body) of every fenced block, in order."""
    blocks, index = [], 0
    while index < len(lines):
        opening = re.match(r"^(`{3,})\s*([\w+-]*)", lines[index])
        if not opening:
            index += 1
            continue
        fence, language, start = opening.group(1), opening.group(2), index
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            index += 1
        blocks.append((start, index + 1, language, lines[start + 1:index]))
        index += 1
    return blocks


def examples(text: str) -> list[Example]:
    """The python blocks of a README's text."""
    lines = text.splitlines()
    blocks = fenced_blocks(lines)
    found = []
    for position, (start, end, language, body) in enumerate(blocks):
        if language != "python":
            continue
        heading = next((line.lstrip("#").strip() for line in reversed(lines[:start]) if line.startswith("#")),
                       "top")
        before = next((line for line in reversed(lines[:start]) if line.strip()), "")
        skip = SKIP.search(before)
        claims = [match.group(1).rstrip() for match in map(CLAIM.search, body) if match]
        expected = claims or None
        following = blocks[position + 1] if position + 1 < len(blocks) else None
        if following and following[2] == "text" and not any(line.strip() for line in lines[end:following[0]]):
            expected = [line.rstrip() for line in following[3]]
        found.append(Example(start + 1, heading, "\n".join(body) + "\n", expected,
                             (skip.group(1) or "marked skipped") if skip else None))
    return found


EXAMPLES = examples(README.read_text())


def test_the_readme_has_examples_and_claims():
    assert len(EXAMPLES) >= 5 and sum(example.expected is not None for example in EXAMPLES) >= 3


def example_id(example: Example) -> str:
    return f"line{example.line}-" + re.sub(r"\W+", "_", example.heading)[:40]


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_readme_example(example, tmp_path):
    if example.skip:
        pytest.skip(f"README.md line {example.line}: {example.skip}")
    run = subprocess.run([sys.executable, "-c", example.code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, f"README.md line {example.line} ({example.heading}) failed:\n{run.stderr[-3000:]}"
    if example.expected is not None:
        printed = [line.rstrip() for line in run.stdout.rstrip("\n").splitlines()]
        assert printed == example.expected, f"README.md line {example.line} ({example.heading}) printed this"


def test_conventions_are_read_as_documented():
    text = "\n".join([
        "## A", "```python", "print(1)  # -> 1", "print(2)  # -> 2", "```",
        "## B", "<!-- readme-test: skip needs two processes -->", "```python", "x = 1", "```",
        "```python", "print('a'); print('b')", "```", "", "```text", "a", "b", "```",
        "```python", "pass", "```", "some prose", "```text", "not its output", "```",
    ])
    first, second, third, fourth = examples(text)
    assert (first.heading, first.expected, first.skip) == ("A", ["1", "2"], None)
    assert second.skip == "needs two processes" and second.heading == "B"
    assert third.expected == ["a", "b"]
    assert fourth.expected is None
