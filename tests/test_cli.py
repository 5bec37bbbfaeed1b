"""The ``csww`` command line itself (benchmark/cli.py): Ctrl-C, its help examples, the build's report lines."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT

from benchmark import buildstate
from benchmark.cli import cli


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


RETURN_2025 = ("area_code,la_name,period_start,period_end,inpost_fte,inpost_headcount\n"
               "841,Darlington,2024-10-01,2025-09-30,90,95\n")


def test_as_at_counts_a_release_with_no_recorded_date_from_the_end_of_february(tmp_path):
    """The new-user review: a 2024-25 return read at 1 Nov 2026 was set beside DfE 2024, because the catalogue had
    no 2025 release. Its day is not recorded offline: taken as the end of February 2026, and said so."""
    ret = tmp_path / "a25.csv"
    ret.write_text(RETURN_2025, encoding="utf-8")
    no_db = ["--db", str(tmp_path / "none.db")]
    runner = CliRunner()
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-11-01", *no_db])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[:2] == [
        "841: 1 October 2024 to 30 September 2025 (set beside DfE 2025: at DfE's 30 September 2025 census), a25.csv "
        "row 2",
        "  note: DfE's publication date of the 2025 census is not recorded: taken as published by 28 February 2026, as "
        "every release so far was published in late February of the year after its census"]
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-01-31", *no_db])     # before it was due
    assert "(set beside DfE 2024: 12 months after DfE's 30 September 2024 census)" in res.output.splitlines()[0]
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-02-15", *no_db])     # when it was due: ask
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("Error: --as-at 2026-02-15: DfE's publication date of the 2025 census is not "
                                 "recorded")
    assert "or give an --as-at before 1 February 2026 or from 1 March 2026" in res.output


def test_as_at_takes_the_date_a_fetched_build_recorded(mini_db, tmp_path):
    """EES's 'published' date, stored by 'csww fetch' in the build's releases table, wins over the assumption."""
    db = tmp_path / "csww.db"
    shutil.copyfile(mini_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO releases (release_id, title, kind, data_year, published) "
                     "VALUES ('2025', 'Reporting year 2025', 'ees', 2025, '2026-02-26T09:30:00')")
    ret = tmp_path / "a25.csv"
    ret.write_text(RETURN_2025, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-02-26", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "(set beside DfE 2025: at DfE's 30 September 2025 census)" in res.output and "not recorded" not in res.output
    res = runner.invoke(cli, ["align", str(ret), "--as-at", "2026-02-25", "--db", str(db)])
    assert res.exit_code == 0 and "(set beside DfE 2024: 12 months after" in res.output
    # a build from files given with --from records the catalogue's dates
    with sqlite3.connect(mini_db) as conn:
        assert conn.execute("SELECT published FROM releases WHERE data_year = 2024").fetchone() == ("2025-02-27",)


def test_a_build_with_fewer_releases_than_the_one_it_replaces_warns(example_dir, tmp_path):
    """The new-user review: an offline 'csww build' after the quick tour silently dropped release 2024. A build
    missing releases the current build had says which (a warning: exit 0), also with --quiet (on stderr)."""
    out = tmp_path / "out"
    shutil.copytree(example_dir / "build", out, symlinks=True)  # the North East file's release and both SFRs
    first = buildstate.current(out)["build_id"]
    with sqlite3.connect(out / "csww.db") as conn:
        assert conn.execute("SELECT release_id FROM releases ORDER BY data_year DESC").fetchall() == [
            ("2025",), ("SFR08/2017",), ("SFR07/2016",)]
    res = CliRunner().invoke(cli, ["build", "-q", "--from", str(FIXTURES / "sfr" / "sfr_2015_small.csv"),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stderr == (f"warning: the previous build ({first}) also had releases 2025, SFR08/2017: give --from "
                          "for them to keep them (this build has SFR07/2016)\n")
    assert res.stdout.startswith(f"wrote {out}/csww.db (build ") and len(res.stdout.splitlines()) == 1
    assert buildstate.current(out)["build_id"] != first                     # a warning: the build was made


# The example files of the help texts, as the fixtures that stand in for them (beside those made in the folder).
EXAMPLE_FILES = {
    "~/Downloads/csww_indicators_2017_to_2025.csv": FIXTURES / "report" / "indicators_north_east.csv",
    "~/Downloads/sfr": FIXTURES / "sfr",
    "examples/north_east.yml": FIXTURES / "report" / "tees_tyne.yml",  # the councils the fixture has
    "hr_extract.xlsx": FIXTURES / "workers_841_2024-03-31.csv",
}


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory):
    """A folder holding what the help examples name: examples/, the release ZIPs, downloads/, hr_extract.csv,
    build-2024 and build-2025, and build/ made by the one build example with --local (so its returns are there)."""
    work = tmp_path_factory.mktemp("examples")
    (work / "examples").symlink_to(ROOT / "examples")
    for name in ("children-s-social-work-workforce_2025.zip", "data.zip"):
        with zipfile.ZipFile(work / name, "w") as z:
            z.write(FIXTURES / "report" / "indicators_north_east.csv", "data/indicators_north_east.csv")
    (work / "downloads").mkdir()
    (work / "downloads" / "csww_indicators_2017_to_2025.csv").symlink_to(EXAMPLE_FILES["~/Downloads/csww_indicators_2017_to_2025.csv"])
    (work / "hr_extract.csv").symlink_to(FIXTURES / "workers_841_2024-03-31.csv")
    for name in ("build-2024", "build-2025"):
        (work / name).symlink_to("build")
    made = CliRunner().invoke(cli, ["build", "-q", "--from", str(FIXTURES / "sfr"), "--from", str(work / "data.zip"),
                                    "--local", str(work / "examples" / "darlington.csv"), "--out", str(work / "build")])
    assert made.exit_code == 0, made.output
    return work


def _parse_only(args: list[str]) -> str | None:
    """Why an example is only parsed (the command, its options, their values and files checked by click), not run:
    what it does has its own tests, and running it would cost the suite seconds or need the network."""
    name, rest = args[0], args[1:]
    if name in ("fetch", "serve"):
        return "network or a server"
    if name == "build":
        return "a build (test_build*.py); example_dir ran the one with --local"
    if name == "docs" and "--check" not in rest:
        return "rewrites the repository's generated docs"
    if name in ("package", "publish") or (name == "validate" and not rest[0].startswith("examples/")):
        return "writes or validates a whole package (test_package.py, test_validate.py, test_site.py)"
    if name == "report" and not (rest[-1].endswith(".md") or "md" in rest):  # the pack is one in every format
        return "the pack in HTML, Word, Excel or PDF (test_report*.py); its Markdown examples run"
    return None


def help_examples() -> list[str]:
    """Every line under 'Example:' / 'Examples:' in the help of csww and of each of its commands."""
    lines = []
    for cmd in [cli, *cli.commands.values()]:
        shown, joined = False, ""
        for line in (cmd.help or "").splitlines():
            text = line.strip()
            if text in ("Example:", "Examples:"):
                shown = True
            elif not text:
                shown = False
            elif shown:
                joined += text
                if joined.endswith("\\"):
                    joined = joined[:-1]
                else:
                    lines.append(joined)
                    joined = ""
    return lines


def test_every_help_example_runs(example_dir, monkeypatch):
    """The new-user review: 'csww report --help' pointed at a 'csww measures' that did not exist and 'csww compare
    --help' at a partnerships.yml that does not ship. Every csww line of every help text is parsed by click; those
    that read a build or a council's return run, in example_dir, and exit 0."""
    monkeypatch.chdir(example_dir)
    assert all((ROOT / f).exists() for f in EXAMPLE_FILES if f.startswith("examples/"))  # they ship
    runner = CliRunner()
    examples = help_examples()
    assert "csww measures" in examples and len(examples) >= 45
    ran, parsed = [], []
    for line in examples:
        words = shlex.split(line, comments=True)
        while words and "=" in words[0]:  # VAR=value csww ...
            words.pop(0)
        if not words or words[0] != "csww":
            continue  # frictionless, docker: not ours
        for cut in ("|", ">"):
            words = words[:words.index(cut)] if cut in words else words
        args = [str(EXAMPLE_FILES.get(w, w)) for w in words[1:]]
        if _parse_only(args):
            cli.commands[args[0]].make_context(args[0], args[1:])  # click.UsageError / BadParameter: fails
            parsed.append(line)
            continue
        result = runner.invoke(cli, args, env={"CSWW_CACHE": str(example_dir / "cache")})
        assert result.exit_code == 0, f"{line}\n{result.output}"
        ran.append(line)
    assert "csww measures" in ran and "csww compare --la 841" in ran
    assert 'csww compare --la "E06000002" --group examples/north_east.yml --format csv' in ran
    assert "csww returns --publish 841:2016-04-01:2016-07-31:5983a1e9233c" in ran
    assert len(ran) >= 20 and len(parsed) >= 20, (ran, parsed)


def test_validate_names_a_dfe_file_and_where_it_goes(tmp_path):
    """'csww validate' given one of DfE's own CSVs (not a package, not a council's return) says what it is and to
    give it to 'csww build --from', not "cannot tell what this file is"; exit 1, no traceback."""
    dfe = FIXTURES / "indicators_mini.csv"
    r = CliRunner().invoke(cli, ["validate", str(dfe)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert (f"indicators_mini.csv, row 1: dfe-file (error): a DfE CSWW file (layout ees-indicators), not a data "
            f"package or a council's own return: give it to 'csww build --from {dfe}'") in r.output
    assert "cannot tell what this file is" not in r.output
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    r = CliRunner().invoke(cli, ["validate", str(other)])
    assert r.exit_code == 1 and "cannot tell what this file is" in r.output
