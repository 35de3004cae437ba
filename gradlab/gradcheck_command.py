"""``gradlab gradcheck``: finite-difference check of every registered op, one row per op and sample."""

from __future__ import annotations

import argparse
import time
import warnings

from autograd.gradcheck import gradcheck_report, gradgrad_problem
from autograd.opinfo import all_opinfos, call, unwrap_samples

HELP = "check every built-in op's gradient (and second derivative) against finite differences"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument("--op", action="append", help="only ops whose name contains this (repeatable)")
    parser.add_argument("--no-gradgrad", action="store_true", help="skip second-derivative checks")


def run(args: argparse.Namespace) -> int:
    """Check the selected ops, print a table, and return 1 if any check failed."""
    infos = [info for info in all_opinfos() if not args.op or any(part in info.name for part in args.op)]
    if not infos:
        print(f"no registered op matches {args.op}")
        return 1
    cases = [(info, name, sample) for info in infos for name, sample in unwrap_samples(info)]
    width = max(len("op [sample]"), *(len(name) for _, name, _ in cases))
    header = f"{'op [sample]':<{width}} {'order':<6} {'max abs err':>12} {'max rel err':>12}  result"
    print(header)
    print("-" * len(header))
    failures = 0
    rows = 0
    start = time.perf_counter()
    for info, name, sample in cases:
        orders = [("1st", call(info, sample), sample.args)]
        if info.gradgrad and not args.no_gradgrad:
            orders.append(("2nd", *gradgrad_problem(call(info, sample), sample.args, None)))
        for order, function, inputs in orders:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    report = gradcheck_report(function, inputs, atol=info.atol, rtol=info.rtol,
                                              fast_mode=info.fast)
                    ok, abs_error, rel_error = report.passed, report.max_abs_error, report.max_rel_error
                    detail = report.message.splitlines()[0] if report.message else ""
                except Exception as error:  # a crash in an op is a failed check, reported on its row
                    ok, abs_error, rel_error, detail = False, float("nan"), float("nan"), repr(error)
            rows += 1
            failures += not ok
            print(f"{name:<{width}} {order:<6} {abs_error:>12.2e} {rel_error:>12.2e}  {'pass' if ok else 'FAIL'}"
                  + (f"  {detail}" if not ok else ""))
    print("-" * len(header))
    print(f"{rows - failures} passed, {failures} failed ({len(infos)} ops, {time.perf_counter() - start:.1f} s)")
    return 1 if failures else 0
