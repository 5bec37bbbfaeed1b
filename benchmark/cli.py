"""The ``csww`` command line: a thin face over the library modules.

Each command parses its options, calls one library function and prints.
"""

from __future__ import annotations

from pathlib import Path

import click

from . import __version__, local
from .local import output


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


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--la", metavar="CODE", help="DfE 3-digit LA number: picks one council from an aggregate return, "
              "or names the council of a worker extract without an area_code column.")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of printing.")
def align(file, la, fmt, out):
    """Align a council's own workforce figures to DfE's definitions.

    FILE is an aggregate local return (CSV/XLSX, see examples/template.csv), a worker-level HR extract
    (CSV/XLSX with a worker_id column) or the CSWW census XML return. Prints each measure on DfE's
    definition beside the council's own reported figure, with whether it is comparable and why not.
    Counts of 1-4 people are shown as c. Bad input: every problem is listed and nothing is produced.

    \b
    Example:
        csww align examples/darlington.csv
        csww align hr_extract.xlsx --la 841 --format json -o aligned.json
    """
    try:
        figures = local.align(file, la)
    except local.InputError as exc:
        raise CLIError(str(exc)) from None
    text = output.render(figures, fmt)
    if out:
        output.atomic_write(out, text)
        click.echo(f"{len(figures)} figures written to {out}", err=True)
    else:
        click.echo(text, nl=False)
