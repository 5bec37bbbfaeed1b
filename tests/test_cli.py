"""The ``csww`` command line itself (benchmark/cli.py): Ctrl-C, its help examples, the build's report lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from conftest import FIXTURES, ROOT

from benchmark import buildstate


def test_ctrl_c_during_build_exits_130_with_one_line_and_changes_nothing(tmp_path):
    """SIGINT while 'csww build' waits for the build lock (held here, so the moment is certain): exit 130 and
    one line, no traceback, no build written."""
    out = tmp_path / "out"
    with buildstate.lock(out):
        proc = subprocess.Popen([sys.executable, "-m", "benchmark", "build", "--from",
                                 str(FIXTURES / "indicators_2025_small.csv"), "--out", str(out), "--wait", "60"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("waiting for another csww build"):
                break
        assert seen and seen[-1].startswith("waiting for another csww build"), seen
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        assert sorted(p.name for p in out.iterdir()) == [buildstate.LOCK]  # no builds/, no csww.db
    assert proc.returncode == 130
    assert stderr == "interrupted: nothing was changed\n"
    assert stdout == ""
