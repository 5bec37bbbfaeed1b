"""The toolkit's one error model and its one ``Problem``.

Every failure the user can cause or fix (bad input, a missing file, an unknown council or measure, an output
path that cannot be written, a network that fails) is a ``CswwError``; the CLI prints it as a message and exits
non-zero. Any other exception is a bug and keeps its traceback. Subclasses: ``InputError`` (every problem in
every input file at once), ``NotFoundError`` (lookups: files, databases, councils, measures, returns),
``UsageError`` (an option the command cannot use), ``OutputError`` (an output that cannot be written),
``DatabaseError`` (a file that is not a CSWW database), and elsewhere ``ees.FetchError``,
``councils.AreaNotFound`` and ``report.ReportError``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file or a data package, located as precisely as we can.

    ``file`` is the input file (or the package resource; None for the package as a whole), ``row`` the line
    number in a CSV (header = 1) or the record number in XML, ``column`` the column (or package field) and
    ``value`` the cell as read. ``type`` names the kind of problem for machines (Frictionless error types and
    csww's own, e.g. ``rate-range``); ``severity`` is "error", or "warning" for one that leaves data valid.
    """

    file: str | None
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    type: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        parts = [self.file or "package"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        tag = f"{self.type} ({self.severity}): " if self.type else ""
        return ", ".join(parts) + f": {tag}{self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


class CswwError(Exception):
    """Root of every expected failure: its message is shown to the user as it is, without a traceback."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(CswwError):
    """Raised when input cannot be used. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file or "", p.row or 0))
        super().__init__(f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in the input:\n"
                         + self.summary())

    def summary(self, limit: int = 50) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problems")
        return "\n".join(lines)


class NotFoundError(CswwError):
    """Something looked up is not there: a file, a database, a council, a measure, a local return."""


class UsageError(CswwError):
    """An option or argument the command cannot use (an unknown model or format, a missing password)."""


class OutputError(CswwError):
    """An output file or folder cannot be written (no permission, not a folder, disk full)."""


class DatabaseError(CswwError):
    """A file that is not a CSWW database (not SQLite, or without the observations table)."""
