"""Atomic outputs: a file or folder is either the old one or the complete new one, never half-written.

``atomic_write(path)`` yields a temporary path in the destination's folder (so the final rename never crosses
file systems); when the block succeeds the file is fsynced and ``os.replace``d into place, otherwise removed.
``atomic_dir(final)`` yields a new folder beside ``final``; ``atomic_replace_dir(tmp, final)`` puts it in place:
the old folder is moved aside, the new one renamed in, and only then is the old one deleted (put back if the
rename fails). A destination that cannot be written is an ``OutputError`` naming it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .problems import OutputError


def _fail(path: Path, exc: OSError) -> OutputError:
    where = f": {exc.filename}" if exc.filename and str(exc.filename) != str(path) else ""
    return OutputError(f"{path}: cannot write here ({exc.strerror or exc}{where})")


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; it replaces ``path`` only if the block succeeds.

    The file gets the usual permissions (0666 less the umask), not ``mkstemp``'s private 0600: outputs are
    meant to be shared. Raises ``OutputError`` when the folder cannot be made or written to.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    except OSError as exc:
        raise _fail(final, exc) from None
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, final)
        except OSError as exc:
            raise _fail(final, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text(path: str | Path, text: str | bytes) -> Path:
    """Write ``text`` (str as UTF-8, or bytes) to ``path`` with ``atomic_write``; return the path."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a new empty folder (mode 0755) beside ``final`` to build it in; when the block succeeds it replaces
    ``final`` (``atomic_replace_dir``), otherwise it is removed and ``final`` is untouched."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    except OSError as exc:
        raise _fail(final, exc) from None
    tmp.chmod(0o755)
    try:
        yield tmp
        atomic_replace_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # already gone when it was renamed into place


def atomic_replace_dir(tmp: str | Path, final: str | Path) -> Path:
    """Move the finished folder ``tmp`` to ``final`` (same file system), deleting the old ``final`` only after."""
    tmp, final = Path(tmp), Path(final)
    old = final.with_name(f".{final.name}.old.{os.getpid()}") if final.exists() else None
    try:
        if old is not None:
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except OSError:
            if old is not None:
                os.replace(old, final)
            raise
    except OSError as exc:
        raise _fail(final, exc) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes as 64 hex digits, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
