"""Every command has help with an example, and the README shows it."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_command_help_has_an_example_and_is_in_the_readme(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"csww {name} --help shows no example"
    assert f"csww {name}" in README, f"the README never shows csww {name}"


def test_readme_has_the_two_setup_commands():
    assert "pip install -e '.[test]'" in README
    assert "python -m pytest -q" in README
