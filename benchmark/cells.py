"""Spreadsheet cells that stay text: defence against formula (CSV) injection in every workbook we write.

OWASP's CSV-injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
read as a formula by Excel and LibreOffice, so text that starts with one is written with a leading single
quote (``'=HYPERLINK(...)``), which makes it inert text. Text from a council's return or a DfE file reaches
the workbooks of packs (``report.render``) and of the data package (``package``) alike.
"""

from __future__ import annotations

import re

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Text that starts with one of them but cannot be a formula: a signed plain number, or a lone "-" (DfE's
#: "nil or rounds to zero" symbol in the SFR files).
_INERT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$|^-$")


def safe_text(value):
    """``value`` unchanged unless it is text a spreadsheet would read as a formula; then prefixed with ``'``.

    >>> safe_text('=HYPERLINK("http://example.org","x")')
    '\\'=HYPERLINK("http://example.org","x")'
    >>> safe_text("-"), safe_text(-3.5), safe_text("Darlington")
    ('-', -3.5, 'Darlington')
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _INERT.match(value):
        return "'" + value
    return value
