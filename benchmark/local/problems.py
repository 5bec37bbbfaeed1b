"""Bad input in a council's file: the toolkit's one Problem and InputError (see ``benchmark.problems``)."""

from ..problems import InputError, Problem

__all__ = ["InputError", "Problem"]
