"""DfE's symbols in place of a number, with their meanings: EES files (c, x, z, u, low) and the 2015-2016 SFR files.

Kept apart from the readers (which need pandas) so that the number formatter, and ``csww compare``'s fast path
through it, load without pandas. Source: DfE's 2024 data guidance and the SFR underlying-data notes
(docs/dfe-csww-reference.md).
"""

from __future__ import annotations

#: DfE's symbols in EES files (2024 data guidance); ":" and "~" are older, obsolete EES symbols.
EES_SYMBOLS = {
    "c": "suppressed for confidentiality",
    "x": "not available",
    "z": "not applicable",
    "u": "low reliability",
    "low": "rounds to zero but is not zero",
    ":": "not available (older releases)",
    "~": "rounds to zero (older releases)",
}
#: Symbols in the 2015-2016 SFR underlying data.
SFR_SYMBOLS = {
    "x": "suppressed or not available",
    "..": "not available",
    ".": "not applicable",
    "-": "nil or rounds to zero",
}
SYMBOLS = {**SFR_SYMBOLS, **EES_SYMBOLS}
