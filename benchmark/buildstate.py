"""One build, one unit: the build directories of ``OUT``, its lock and the fingerprint of a build's inputs.

Layout of an output folder (``csww build --out OUT``)::

    OUT/builds/<build id>/csww.db            the database of one build
    OUT/builds/<build id>/datapackage/       the data package written from that database
    OUT/builds/<build id>/build.json         the build id and the fingerprint of its inputs
    OUT/current -> builds/<build id>         the one link swapped (atomically) to make a build current
    OUT/csww.db -> current/csww.db           the paths users know, fixed links through ``current``
    OUT/datapackage -> current/datapackage

A build is written into its own directory and made current by one ``rename(2)`` of a new ``current``
link over the old one, so ``OUT/csww.db`` and ``OUT/datapackage`` always come from the same build, whatever
moment a build is killed at. ``build_info.build_id`` in the database and ``x-csww.build_id`` in
``datapackage.json`` carry the same id. A lock (the operating system's lock of ``OUT/.lock``, taken with the
``filelock`` library: ``flock(2)`` on Linux and macOS, ``LockFileEx`` on Windows) serialises builds into one
``OUT``; the lock holder removes builds that are not current and the temporaries of killed builds.

This module imports nothing heavy (no pandas): ``csww build`` uses it to decide that ``OUT`` is up to date
before loading the rest of the toolkit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from . import __version__
from .database import connect  # noqa: F401  (buildstate.connect, as callers know it)
from .fileio import sha256_file, write_text
from .problems import OutputError
from .tables import SCHEMA_DIR_ENV

BUILDS = "builds"
CURRENT = "current"
STATE = "build.json"
LOCK = ".lock"
DATABASE = "csww.db"
PACKAGE = "datapackage"
#: Where the holder's process id starts in ``OUT/.lock``: Windows' lock covers byte 0 and forbids other processes to
#: read it while held, so there the id follows one space (``.strip()`` reads both).
_PID_AT = 1 if sys.platform == "win32" else 0
#: The toolkit's code, catalogue and schemas: their digest is part of every fingerprint.
_PACKAGE_ROOT = Path(__file__).resolve().parent


def new_build_id() -> str:
    """A new build id: UTC time to the second and 6 random hex digits, e.g. ``20261130T011500Z-3fa9c1``;
    ids sort by time."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def _tree_digest(root: Path, suffixes: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in suffixes and p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def fingerprint(sources, local_files=(), options: dict | None = None) -> dict:
    """What a build's result depends on: the SHA-256 of every input file (each file under a folder), the
    toolkit (version and a digest of its code, catalogue and schemas), the schema folder override and
    ``options``. Two builds with equal fingerprints write the same tables. A missing input is left to the
    build to report (it is recorded as missing, so it never matches)."""
    def digest(paths):
        out = []
        for src in paths:
            src = Path(src)
            if not src.exists():
                out.append({"path": str(src), "sha256": None})
                continue
            for f in _files(src):
                out.append({"path": str(f), "sha256": sha256_file(f)})
        return out
    schema_dir = os.environ.get(SCHEMA_DIR_ENV)
    return {"toolkit_version": __version__,
            "toolkit": _tree_digest(_PACKAGE_ROOT, (".py", ".yml", ".yaml", ".json", ".csv")),
            "schema_dir": schema_dir and _tree_digest(Path(schema_dir), (".json",)),
            "inputs": sorted(f["sha256"] or f["path"] for f in digest(sources)),
            "local": [f["sha256"] or f["path"] for f in digest(local_files)],
            "options": options or {}}


def current(out: str | Path) -> dict | None:
    """The state (``build.json``) of the current build of ``out``, or None when there is none whole: the
    current link, its database and its package must all be there."""
    out = Path(out)
    try:
        state = json.loads((out / CURRENT / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not ((out / DATABASE).is_file() and (out / PACKAGE / "datapackage.json").is_file()):
        return None
    return state


def up_to_date(out: str | Path, print_: dict) -> dict | None:
    """The current build's state when it was made from the same fingerprint, else None."""
    state = current(out)
    return state if state and state.get("fingerprint") == print_ else None


@contextlib.contextmanager
def lock(out: str | Path, wait: float = 600.0, echo=None) -> Iterator[None]:
    """Hold the build lock of ``out`` (the lock of ``OUT/.lock``: ``filelock.lock_descriptor``, i.e. ``flock(2)`` on
    Linux and macOS and ``LockFileEx`` on Windows; either belongs to the open file, so the operating system releases
    it when the process ends, however it ends). Another build holding it is waited for, up to ``wait`` seconds
    (``echo`` is told once), then an ``OutputError`` names the folder and the holder's process id.

    A lock file this call made is removed again when the folder holds nothing else at the end (a first build
    that failed), and so is ``out`` when this call made it: a failed build into a new folder leaves no trace.
    A build waiting meanwhile finds its lock file gone once it holds it, and locks the new one instead."""
    import filelock  # optional import: some 50 ms of modules, only when a build locks OUT ('up to date' never does)

    out = Path(out)
    deadline = time.monotonic() + wait
    told = False
    while True:
        made_out, made_lock = not out.exists(), not (out / LOCK).exists()  # by this attempt
        fd = _open_lock(out)
        try:
            while True:
                if filelock.lock_descriptor(fd, blocking=False):
                    break
                holder = _holder(fd)
                if time.monotonic() >= deadline:
                    raise OutputError(f"{out}: another csww build (process {holder}) is writing here; "
                                      f"nothing was written. Try again when it has finished.") from None
                if echo and not told:
                    echo(f"waiting for another csww build (process {holder}) writing {out}")
                    told = True
                time.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        if _is_the_lock_file(fd, out):
            break
        os.close(fd)  # the holder removed it (a failed first build): lock the new one
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b" " * _PID_AT + str(os.getpid()).encode())
        yield
    finally:
        removed = _remove_if_alone(out, made_out) if made_lock else True
        try:
            filelock.unlock_descriptor(fd)
        finally:
            os.close(fd)  # releases the lock (if the unlock above failed)
        if not removed and sys.platform == "win32":  # Windows removes no open file: again once it is closed (a
            _remove_if_alone(out, made_out)  # build waiting may have opened it by then: then it is left, harmless)


def _remove_if_alone(out: Path, made_out: bool) -> bool:
    """Remove ``OUT/.lock`` when the folder holds nothing else, and ``out`` too when ``made_out``; False when the
    operating system refused (the lock file is harmless: left as it is)."""
    try:
        if [p.name for p in out.iterdir()] == [LOCK]:
            (out / LOCK).unlink()
            if made_out:
                out.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def _holder(fd: int) -> str:
    """The process id the holder of the lock ``fd`` is on wrote into ``OUT/.lock``, or "unknown"."""
    try:
        os.lseek(fd, _PID_AT, os.SEEK_SET)
        return os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
    except OSError:
        return "unknown"


def _open_lock(out: Path) -> int:
    try:
        out.mkdir(parents=True, exist_ok=True)
        return os.open(out / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)  # O_BINARY: Windows
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror or exc})") from None


def _is_the_lock_file(fd: int, out: Path) -> bool:
    """Whether ``fd`` is still the file at ``OUT/.lock`` (not one a previous holder removed)."""
    try:
        here = os.stat(out / LOCK)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def new_build_dir(out: str | Path, build_id: str) -> Path:
    """Make ``OUT/builds/<build_id>/`` (hold the lock)."""
    path = Path(out) / BUILDS / build_id
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    return path


def _link(target: str, where: Path) -> None:
    """Point the symlink ``where`` at ``target`` by one atomic rename (a file in the way is replaced; a
    folder in the way, left by a toolkit before build directories, is moved into ``builds/`` first)."""
    if where.is_symlink() and os.readlink(where) == target:
        return
    if where.is_dir() and not where.is_symlink():
        where.rename(where.parent / BUILDS / f".old-{where.name}-{secrets.token_hex(3)}")
    tmp = where.parent / f".{where.name}.{secrets.token_hex(4)}.link"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, where)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def make_current(out: str | Path, build_dir: Path, state: dict) -> None:
    """Record ``state`` in the build directory, make it current by one atomic link swap, make sure
    ``OUT/csww.db`` and ``OUT/datapackage`` lead through ``current``, then remove every other build and the
    temporaries of killed builds (hold the lock)."""
    out = Path(out)
    write_text(build_dir / STATE, json.dumps(state, indent=2) + "\n")
    fsync_dir(build_dir)
    try:
        _link(f"{BUILDS}/{build_dir.name}", out / CURRENT)
        _link(f"{CURRENT}/{DATABASE}", out / DATABASE)
        _link(f"{CURRENT}/{PACKAGE}", out / PACKAGE)
    except OSError as exc:
        if getattr(exc, "winerror", None) == 1314:  # ERROR_PRIVILEGE_NOT_HELD: symbolic links need a right on Windows
            raise OutputError(f"{out}: Windows did not let csww make the symbolic link that makes a build current "
                              f"({exc.strerror}); turn on Developer Mode (Settings, For developers) or ask for the "
                              "'Create symbolic links' right; the previous build stays current") from None
        raise OutputError(f"{out}: cannot write here ({exc.strerror or exc})") from None
    fsync_dir(out)
    clean(out)


def fsync_dir(path: Path) -> None:
    """Make the names in the folder ``path`` durable (``fsync(2)`` of the folder). Nothing on Windows, where a
    folder cannot be opened with ``os.open`` (NTFS logs renames in its metadata journal)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean(out: str | Path) -> None:
    """Remove the builds of ``out`` that are not current and what killed builds left behind: build
    directories, half-made links, and the ``.csww.db.*.tmp`` files and ``.datapackage.*`` folders of the
    toolkit before build directories (hold the lock)."""
    out = Path(out)
    keep = os.readlink(out / CURRENT) if (out / CURRENT).is_symlink() else None
    for d in (out / BUILDS).iterdir() if (out / BUILDS).is_dir() else []:
        if f"{BUILDS}/{d.name}" == keep:
            continue
        if d.is_dir() and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)
        else:
            d.unlink(missing_ok=True)
    for p in out.iterdir():
        if p.name.startswith((f".{DATABASE}.", f".{PACKAGE}.", f".{CURRENT}.")) and not p.is_symlink() and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith((f".{DATABASE}.", f".{PACKAGE}.", f".{CURRENT}.")):
            p.unlink(missing_ok=True)
