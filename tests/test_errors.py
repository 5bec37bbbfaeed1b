"""One error model, one atomic write, one round_half_up, and no import cycle among benchmark's modules."""

from __future__ import annotations

import ast
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT, one

from benchmark import councils, ees, fileio, measures, report, site
from benchmark.build import build
from benchmark.cli import cli
from benchmark.problems import CswwError, DatabaseError, InputError, NotFoundError, OutputError, Problem
from benchmark.report.model import fmt_number

PACKAGE = ROOT / "benchmark"


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("errors")
    build([FIXTURES / "indicators_mini.csv"], out)
    return out / "csww.db"


# ------------------------------------------------------------------ the error model

def test_every_exception_class_is_under_cswwerror():
    for cls in (InputError, NotFoundError, OutputError, DatabaseError, ees.FetchError, ees.NotFound,
                councils.AreaNotFound, report.ReportError):
        assert issubclass(cls, CswwError), cls
    classes = [node.name for path in PACKAGE.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ClassDef) and any(getattr(b, "id", getattr(b, "attr", "")).endswith(
                   ("Error", "Exception", "NotFound")) for b in node.bases)]
    # every exception class in the package derives from one of ours (CLIError is click's own message type)
    assert set(classes) <= {"CswwError", "InputError", "NotFoundError", "UsageError", "OutputError", "DatabaseError", "FetchError",
                            "NotFound", "AreaNotFound", "ReportError", "CLIError"}, classes


def test_one_problem_names_file_row_column_and_value():
    p = Problem("darlington.csv", "not a number", 4, "inpost_fte", "lots")
    assert str(p) == "darlington.csv, row 4, column inpost_fte, value 'lots': not a number"
    q = Problem("observations", "above 100", 7, "value", type="rate-range", severity="warning")
    assert str(q) == "observations, row 7, column value: rate-range (warning): above 100"
    assert q.to_dict() == {"file": "observations", "message": "above 100", "row": 7, "column": "value",
                           "value": None, "type": "rate-range", "severity": "warning"}


def test_the_cli_catches_only_cswwerror():
    text = (PACKAGE / "cli.py").read_text()
    assert "except (OSError" not in text and "except KeyError" not in text and "sqlite3.Error" not in text


def expected(args: list[str]) -> str:
    """Run a command that must fail as the user's fault: exit 1 with a message, never a traceback."""
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (args, r.exception, r.output)
    assert "Traceback" not in r.output
    return r.output


def test_expected_failures_are_one_message(mini, tmp_path):
    db = str(mini)
    assert "none.db: no database here; run 'csww build' first" in expected(
        ["compare", "--la", "841", "--db", str(tmp_path / "none.db")])
    text = tmp_path / "notes.db"
    text.write_text("not a database at all")
    assert f"{text}: not a CSWW database (file is not a database)" in expected(["compare", "--la", "841", "--db", str(text)])
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert "not a CSWW database (it has no observations table)" in expected(["returns", "--db", str(other)])
    assert "unknown measure 'turnover'; known: " in expected(["compare", "--la", "841", "--measure", "turnover",
                                                               "--db", db])
    assert "no area matches 'Darlingtn'; did you mean Darlington (841)?" in expected(
        ["compare", "--la", "Darlingtn", "--db", db])
    assert "no local return 'nope'" in expected(["returns", "--db", db, "--publish", "nope"])
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert f"{blocker / 'sub' / 'datapackage'}: cannot write here (Not a directory: {blocker / 'sub'})" in expected(
        ["package", "--db", db, "--out", str(blocker / "sub")])
    groups = tmp_path / "groups.yml"
    groups.write_text("groups:\n  - id: ne\n  - name: no id\n    members: [841]\n")
    out = expected(["compare", "--la", "841", "--group", str(groups), "--db", db])
    assert f"{groups}, row 1, column members, value 'ne': every group needs an id and members" in out
    assert f"{groups}, row 2, column id" in out


def test_a_bug_shows_its_traceback(mini, tmp_path):
    """What is a bug: store.connect checks that a file is SQLite with the observations table every build writes
    first; a database that passes but lacks a column every build writes (here comparisons.sn_median, renamed) was
    damaged or written by other code, and no message of ours can explain it. That must reach the user as a
    traceback to report, not be caught and dressed up (the CLI used to catch KeyError wholesale, which hid
    exactly this). The expected failure beside it, an unknown council, stays one line."""
    db = tmp_path / "csww.db"
    db.write_bytes(mini.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE comparisons RENAME COLUMN sn_median TO renamed")
    run = [sys.executable, "-m", "benchmark", "compare", "--db", str(db), "--la"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bug = subprocess.run(run + ["Darlington"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bug.returncode == 1
    assert "Traceback (most recent call last)" in bug.stderr and "KeyError: 'sn_median'" in bug.stderr
    fine = subprocess.run([*run[:-2], str(mini), "--la", "nowhere-at-all"], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert fine.returncode == 1 and "Traceback" not in fine.stderr
    assert fine.stderr.startswith("Error: no area matches 'nowhere-at-all'")


# ------------------------------------------------------------------ atomic writes

def test_atomic_write_keeps_the_old_file_until_the_new_one_is_whole(tmp_path):
    out = tmp_path / "pack.md"
    fileio.write_text(out, "old")
    with pytest.raises(ZeroDivisionError):
        with fileio.atomic_write(out) as tmp:
            tmp.write_text("half")
            1 / 0
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["pack.md"]
    with fileio.atomic_write(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        tmp.write_text("new")
    assert out.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["pack.md"]
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_replace_dir_puts_the_old_folder_back_when_the_rename_fails(tmp_path):
    final = tmp_path / "bundle"
    final.mkdir()
    (final / "csww.db").write_text("old")
    with pytest.raises(OutputError, match="bundle: cannot write here"):
        fileio.atomic_replace_dir(tmp_path / "never-made", final)
    assert (final / "csww.db").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    with fileio.atomic_dir(final) as tmp:
        (tmp / "csww.db").write_text("new")
        assert (final / "csww.db").read_text() == "old"          # the old folder is whole until the swap
    assert (final / "csww.db").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_publish_bundle_replaces_the_old_bundle_only_when_the_new_one_is_complete(mini, tmp_path):
    out = tmp_path / "dist" / "site"
    out.mkdir(parents=True)
    (out / "stale.txt").write_text("from the previous bundle")
    site.publish_bundle(mini, out)
    assert (out / "csww.db").exists() and (out / "run.sh").stat().st_mode & 0o111
    assert not (out / "stale.txt").exists() and [p.name for p in out.parent.iterdir()] == ["site"]


# ------------------------------------------------------------------ one rounding

def test_round_half_up_is_dfes_rounding():
    assert measures.round_half_up(10.25, 1) == 10.3 and round(10.25, 1) == 10.2
    assert measures.round_half_up(10.35, 1) == 10.4 and round(10.35, 1) == 10.3
    assert measures.round_half_up(-0.05, 1) == -0.1
    assert measures.round_half_up(2.5, 0) == 3 and isinstance(measures.round_half_up(2.5, 0), int)


def test_darlington_2025_vacancy_neighbour_median_rounds_up(real_db):
    """The issue's figure: DfE's neighbours of Darlington had a median vacancy rate of 10.25 % in 2025."""
    (median,) = one(real_db, "SELECT sn_median FROM comparisons WHERE area_code = '841' AND time_period = 2025 "
                             "AND measure_id = 'vacancy_rate_fte' AND provisional = 0")
    assert median == pytest.approx(10.25)
    assert measures.round_half_up(median, measures.get("vacancy_rate_fte").decimals) == 10.3
    assert fmt_number(median, 1) == "10.3"


# ------------------------------------------------------------------ imports

def _imports(path: Path) -> set[str]:
    """benchmark modules imported anywhere in ``path`` (module level and inside functions)."""
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("benchmark")}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p) if node.level else node.module or ""
            if not mod.startswith("benchmark"):
                continue
            for a in node.names:  # "from . import x" imports the module benchmark.x when there is one
                sub = f"{mod}.{a.name}"
                found.add(sub if sub in MODULES else mod)
    return found - {name}


MODULES = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
           for p in PACKAGE.rglob("*.py") if "publish" not in p.parts}


def test_no_import_cycle_among_benchmark_modules():
    graph = {m: {d for d in _imports(p) if d in MODULES}
             for m, p in MODULES.items()}
    assert graph["benchmark.cli"] >= {"benchmark.site", "benchmark.package", "benchmark.report"}  # the walk works
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(d):] + [d]))
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_imports_of_our_own_modules_are_at_module_level():
    """Function-level imports are kept for optional heavy libraries only (each with a comment)."""
    inner = []
    for m, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("benchmark")):
                    inner.append((m, node.lineno, [a.name for a in node.names]))
    assert inner == []
