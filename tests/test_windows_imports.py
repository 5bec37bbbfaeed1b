"""Every module of ``benchmark`` imports where POSIX-only modules are missing (councils' Windows laptops).

Before: ``benchmark.buildstate`` and ``benchmark.cache`` imported ``fcntl`` at module level, so ``csww build``,
``csww fetch`` and most commands failed at import on Windows. The test imports every module in one subprocess in
which the POSIX-only modules cannot be imported (``sys.modules[name] = None``, what Python does for a module that
is not there) and the POSIX-only signal numbers are gone, so such an import at module level cannot come back.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

# Modules of the standard library (and uvloop, a dependency everywhere but Windows: see pyproject.toml) that
# Windows' Python does not have.
POSIX_ONLY = ("fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "syslog", "posix", "readline", "_curses",
              "uvloop")
# Signal numbers Windows' ``signal`` module does not define.
POSIX_SIGNALS = ("SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGSTOP")

CHILD = """
import importlib, json, os, pkgutil, signal, sys, traceback
for name in {posix_only!r}:
    if name != "posix":  # os needs it here: its absence is shown by what os lacks on Windows (below)
        sys.modules[name] = None
for name in {signals!r}:
    if hasattr(signal, name):
        delattr(signal, name)
for name in ("fork", "forkpty", "pread", "pwrite", "getuid", "geteuid", "setsid", "killpg", "getpgid"):
    if hasattr(os, name):
        delattr(os, name)
import ctypes
_CDLL = ctypes.CDLL.__init__
def no_process_library(self, name, *args, **kwargs):  # Windows: ctypes.CDLL(None) is a TypeError
    if name is None:
        raise TypeError("CDLL(None): there is no such library on Windows")
    return _CDLL(self, name, *args, **kwargs)
ctypes.CDLL.__init__ = no_process_library
import benchmark
failed, names = {{}}, ["benchmark"]
for info in pkgutil.walk_packages(benchmark.__path__, "benchmark.", onerror=names.append):
    if info.name.rsplit(".", 1)[-1] != "__main__":  # runs the command line
        names.append(info.name)
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps({{"imported": sorted(set(names) - set(failed)), "failed": failed}}))
"""


def test_every_module_imports_without_posix_only_modules():
    code = CHILD.format(posix_only=POSIX_ONLY, signals=POSIX_SIGNALS)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["failed"] == {}, "\n".join(result["failed"].values())
    imported = set(result["imported"])
    # the walk reached the whole package, the two modules that imported fcntl among them
    assert {"benchmark.buildstate", "benchmark.cache", "benchmark.cli", "benchmark.workbook", "benchmark.site",
            "benchmark.local.workers", "benchmark.report.docx_out", "benchmark.snapshot"} <= imported
    assert len(imported) >= 60, sorted(imported)
