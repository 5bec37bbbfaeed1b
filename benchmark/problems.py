"""Bad input, reported whole: every problem in every file, each located by file, row, column and value."""

from __future__ import annotations

from dataclasses import dataclass


class CswwError(Exception):
    """Root of every error the toolkit expects; the CLI prints it without a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    message: str
    row: int | None = None  # line number in a CSV (header = 1), record number in XML
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return ", ".join(parts) + f": {self.message}"


class InputError(Exception):
    """Raised when input cannot be used. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.row or 0))
        super().__init__(f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in the input:\n"
                         + self.summary())

    def summary(self, limit: int = 50) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problems")
        return "\n".join(lines)
