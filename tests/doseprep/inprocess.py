"""Running the ``doseprep`` command in the test's own process (fast enough for fuzzing): the
exit status, what it wrote on standard output and standard error, with standard input given."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass

from doseprep.cli import main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_main(*args: str, stdin: str = "") -> Run:
    """``doseprep ARGS`` in process; argparse's own refusals (exit 2) are caught too."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help, a usage error
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdin = saved
    return Run(code, out.getvalue(), err.getvalue())
