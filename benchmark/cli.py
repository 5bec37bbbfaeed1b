"""The ``csww`` command line: a thin face over the library modules.

Each command parses its options, calls one library function and prints.
"""

from __future__ import annotations

import click

from . import __version__


class CLIError(click.ClickException):
    """An error shown to the user as one clear message with a non-zero exit."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="csww")
def cli():
    """Children's social work workforce benchmarks for English councils.

    \b
    Example:
        csww build --from ./downloads/csww_indicators_2017_to_2025.csv
    """
