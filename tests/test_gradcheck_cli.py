"""``gradlab gradcheck``: one row per registered op and sample, exit status 1 on any failure."""

from autograd.opinfo import OpInfo, Sample, leaf
from gradlab import gradcheck_command
from gradlab.cli import main
from squares import BrokenSquare


def test_passing_ops_print_one_row_per_sample_and_order(capsys):
    assert main(["gradcheck", "--op", "relu", "--op", "conv2d"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.rstrip().endswith(("pass", "FAIL"))]
    assert any(line.startswith("relu[") for line in rows) and any(line.startswith("conv2d[") for line in rows)
    assert all(line.rstrip().endswith("pass") for line in rows)
    assert any(" 1st " in line for line in rows) and any(" 2nd " in line for line in rows)
    assert lines[-1].startswith(f"{len(rows)} passed, 0 failed")


def test_a_wrong_gradient_fails_its_row_and_the_exit_status(monkeypatch, capsys):
    broken = OpInfo("wrong_square", BrokenSquare.apply, lambda rng: [Sample("(3,)", (leaf(rng, 3, low=0.5),))],
                    gradgrad=False)
    monkeypatch.setattr(gradcheck_command, "all_opinfos", lambda: [broken])
    assert main(["gradcheck"]) == 1
    output = capsys.readouterr().out
    assert "wrong_square[(3,)]" in output and "FAIL" in output and "Jacobian mismatch" in output
    assert output.splitlines()[-1].startswith("0 passed, 1 failed")


def test_unknown_op_name_is_an_error(capsys):
    assert main(["gradcheck", "--op", "no_such_op"]) == 1
    assert "no registered op matches" in capsys.readouterr().out
