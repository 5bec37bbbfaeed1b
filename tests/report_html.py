"""A small standard-library reader for the packs' HTML: tables, figures, charts and outside references."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class HTable:
    id: str | None
    caption: str = ""
    head: list[tuple[str, str | None]] = field(default_factory=list)   # (text, scope) of thead cells
    rows: list[list[tuple[str, str, str | None]]] = field(default_factory=list)  # (tag, text, scope)

    def header_texts(self) -> list[str]:
        return [t for t, _ in self.head]

    def column(self, name: str) -> int:
        return self.header_texts().index(name)


@dataclass
class HFigure:
    id: str | None
    svgs: list[dict] = field(default_factory=list)
    tables: list[HTable] = field(default_factory=list)


class PackHTML(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables: list[HTable] = []
        self.figures: list[HFigure] = []
        self.svgs: list[dict] = []
        self.ids: dict[str, str] = {}      # element id -> its text (for title/desc lookups)
        self.tags: list[tuple[str, dict]] = []
        self.lang = None
        self._stack: list[tuple[str, dict]] = []
        self._table: HTable | None = None
        self._in_head = False
        self._cell: list | None = None
        self._caption: list | None = None
        self._figure: HFigure | None = None
        self._svg: dict | None = None
        self._text_for: list[tuple[str, list]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "html":
            self.lang = a.get("lang")
        if "id" in a:
            self._text_for.append((a["id"], []))
        if tag == "table":
            self._table = HTable(a.get("id"))
        elif tag == "thead":
            self._in_head = True
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._table is not None and not self._in_head:
            self._table.rows.append([])
        elif tag in ("th", "td") and self._table is not None:
            self._cell = [tag, [], a.get("scope")]
        elif tag == "figure":
            self._figure = HFigure(a.get("id"))
        elif tag == "svg":
            self._svg = dict(a)
            self._svg["_titles"] = []
            self.svgs.append(self._svg)
            if self._figure is not None:
                self._figure.svgs.append(self._svg)
        elif tag in ("title", "desc") and self._svg is not None:
            self._svg["_titles"].append(tag)
        if tag not in ("meta", "br", "img", "input", "link", "circle", "rect", "path", "line"):
            self._stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "caption" and self._table is not None and self._caption is not None:
            self._table.caption = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("th", "td") and self._cell is not None and self._table is not None:
            text = " ".join("".join(self._cell[1]).split())
            if self._in_head:
                self._table.head.append((text, self._cell[2]))
            else:
                self._table.rows[-1].append((self._cell[0], text, self._cell[2]))
            self._cell = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            if self._figure is not None:
                self._figure.tables.append(self._table)
            self._table = None
        elif tag == "figure" and self._figure is not None:
            self.figures.append(self._figure)
            self._figure = None
        elif tag == "svg":
            self._svg = None
        if self._stack and self._stack[-1][0] == tag:
            tag_, a = self._stack.pop()
            if "id" in a:
                for i in range(len(self._text_for) - 1, -1, -1):
                    if self._text_for[i][0] == a["id"]:
                        ident, parts = self._text_for.pop(i)
                        self.ids[ident] = " ".join("".join(parts).split())
                        break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)
        if self._caption is not None:
            self._caption.append(data)
        for _, parts in self._text_for:
            parts.append(data)

    def table(self, table_id: str) -> HTable:
        return next(t for t in self.tables if t.id == table_id)
