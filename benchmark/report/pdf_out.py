"""A pack as PDF: the HTML pack printed to A4 by headless Chromium, driven by Playwright.

Why Chromium and not WeasyPrint: the PDF is then exactly the HTML pack a reader prints from a browser (the same
engine the browser tests check the print layout with: CSS grid for chart-beside-table, ``break-after: avoid``,
repeated table heads), it is tagged (``tagged=True``: headings, tables and the charts' text alternatives reach
a screen reader) with a bookmark outline from the headings, and ``.ci/run`` already installs Debian's chromium
for those tests: no second rendering engine and its system libraries to keep. Playwright is Microsoft's
well-kept driver; it is given the system Chromium (``executable_path``) and never downloads a browser.

Chromium is found as ``$CSWW_CHROMIUM``, else ``chromium``/``chromium-browser``/``google-chrome`` on ``PATH``,
else ``/usr/bin/chromium``; none is a ``NotFoundError`` saying how to install it. Nothing is fetched while
printing: every request that is not ``data:``/``about:`` is refused (the pack is one self-contained file).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..problems import NotFoundError, OutputError

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
_FOOTER = ('<div style="font-family: Arial, sans-serif; font-size: 7pt; color: #4a4a4a; width: 100%; '
           'margin: 0 12mm; display: flex; justify-content: space-between;"><span>{title}</span>'
           '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')


def chromium_path() -> str:
    """The Chromium executable to print with (see the module docstring), or ``NotFoundError``."""
    env = os.environ.get("CSWW_CHROMIUM")
    if env:
        if Path(env).exists():
            return env
        raise NotFoundError(f"CSWW_CHROMIUM={env}: no such file; a PDF pack needs Chromium")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    raise NotFoundError("a PDF pack needs Chromium, and none is installed: apt-get install chromium "
                        "(or set CSWW_CHROMIUM to its path); HTML, DOCX, XLSX and Markdown packs need no browser")


def _sync_api():
    try:
        from playwright import sync_api  # heavy (starts a driver): imported only when a PDF is printed
    except ImportError:  # pragma: no cover - playwright is a dependency of the package
        raise NotFoundError("a PDF pack needs the playwright package: pip install playwright") from None
    return sync_api


class Printer:
    """One Chromium for many packs (``with Printer() as p: p.pdf(html, title)``); ``pdf_bytes`` prints one."""

    def __init__(self):
        self._pw = self._browser = None

    def __enter__(self) -> "Printer":
        exe = chromium_path()
        sync_api = _sync_api()
        self._pw = sync_api.sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=exe, args=ARGS)
        except Exception as exc:  # Playwright's own Error: the browser did not start
            self._pw.stop()
            raise OutputError(f"{exe}: Chromium did not start to print the PDF ({str(exc).splitlines()[0]})") \
                from None
        return self

    def __exit__(self, *exc) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._pw is not None:
            self._pw.stop()

    def pdf(self, html: str, title: str = "") -> bytes:
        """``html`` (a self-contained page) printed to A4 with the page's own ``@page`` margins, backgrounds,
        a footer "title … Page n of N", tagged and with a heading outline."""
        page = self._browser.new_page()
        try:
            page.route(re.compile(r"^(?!data:|about:).*"), lambda route: route.abort())
            page.set_content(html, wait_until="load")
            page.emulate_media(media="print")
            footer = _FOOTER.format(title=(title.replace("&", "&amp;").replace("<", "&lt;")
                                           .replace(">", "&gt;")))
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                            display_header_footer=True, header_template="<span></span>",
                            footer_template=footer, tagged=True, outline=True)
        finally:
            page.close()


def pdf_bytes(html: str, title: str = "") -> bytes:
    """Print one HTML pack to PDF bytes with a Chromium started for it."""
    with Printer() as p:
        return p.pdf(html, title)
