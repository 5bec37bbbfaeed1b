"""A build imports only what it uses (issue 14 item 6: the build's import time): the EES client's network and
schema libraries (requests, urllib3, jsonschema) and click are imported when a fetch or the CLI needs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
UNUSED_BY_A_BUILD = ("requests", "urllib3", "jsonschema", "click")


def _loaded(code: str) -> list[str]:
    probe = f"{code}; import json, sys; print(json.dumps(sorted(m for m in {UNUSED_BY_A_BUILD!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_build_loads_no_network_schema_or_cli_library():
    assert _loaded("import benchmark.build") == []


def test_a_client_loads_them_when_made():
    """The EES client still gets requests and urllib3 (its session, retries and deadline adapter) when made."""
    assert _loaded("from benchmark import ees; ees.Client('http://127.0.0.1:9')") == ["requests", "urllib3"]
