"""What a person sees in a page, a .docx or an .xlsx, and the internal names that must not be part of it
(tests/test_no_internal_code.py). The names come from the code's own lists — the workflow files (states,
triggers, their fields), the API schemas, the figure definitions and the glossary's codes — not from a
hand-written list, so a name added tomorrow is checked tomorrow."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from typing import Any

from pydantic import BaseModel

from mediation_flow.cases import schemas
from mediation_flow.display.labels import glossary
from mediation_flow.stats.definitions import load_definitions

VISIBLE_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")
HIDDEN_TAGS = {"script", "style", "template", "head"}
ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden += 1
            return
        found = dict(attrs)
        self.parts += [str(found[a]) for a in VISIBLE_ATTRIBUTES if found.get(a)]
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def html_text(html: str) -> list[str]:
    """The text a reader of the page sees: element text outside scripts and styles, plus the attributes a
    browser shows (tooltips, placeholders, button captions)."""
    parser = _Visible()
    parser.feed(html)
    return parser.parts


def docx_text(content: bytes) -> list[str]:
    """Every paragraph of a .docx (body, headers, footers), as Word shows it."""
    texts = []
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.startswith("word/") and name.endswith(".xml") and re.search(r"document|header|footer", name):
                xml = z.read(name).decode("utf-8")
                for para in re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S):
                    text = "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", para))
                    if text.strip():
                        texts.append(text)
    return texts


def xlsx_text(content: bytes) -> list[str]:
    """Every cell of every sheet, as a spreadsheet shows it (dates in their number format, not ISO)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    texts = [ws.title for ws in book.worksheets]
    for ws in book.worksheets:
        for row in ws.iter_rows():
            texts += [str(c.value) for c in row if isinstance(c.value, str) and c.value.strip()]
    return texts


def _schema_fields() -> set[str]:
    found: set[str] = set()
    for item in vars(schemas).values():
        if isinstance(item, type) and issubclass(item, BaseModel) and item is not BaseModel:
            found |= set(item.model_fields)
    return found


def internal_names(specs: Iterable[Any]) -> set[str]:
    """States, triggers and field names of the workflow specs; schema fields; figure keys; glossary codes."""
    names: set[str] = set()
    for spec in specs:
        names |= set(spec.states)
        for t in spec.transitions:
            names.add(t.trigger)
            names |= {f.name for f in t.fields}
    names |= _schema_fields()
    names |= set(load_definitions().figures)
    for kind, value in glossary().items():
        if kind not in ("pages", "http_status", "ledger_columns"):
            names |= {str(k) for k in value}
    return {n for n in names if re.fullmatch(r"[A-Za-z_]+", n) and len(n) > 1}


# The only Latin a person reads: the file formats an upload or import accepts and its size unit (they must match their
# file's name), and what people chose themselves — their user names (given to test_no_internal_code).
ALLOWED = frozenset({"PDF", "JPG", "PNG", "CSV", "MB"})


def offences(texts: Iterable[str], names: set[str], allowed: Iterable[str] = ALLOWED) -> Iterator[str]:
    """Each internal name, ISO date and Latin word (but ``allowed``) in ``texts``, with the text it stands in."""
    allowed = set(allowed)
    for text in texts:
        for word in LATIN_WORD.findall(text):
            if word in allowed:
                continue
            kind = "internal name" if word in names else "English"
            yield f"{kind} {word!r} in {text[:120]!r}"
        for found in ISO_DATE.findall(text):
            yield f"ISO date {found!r} in {text[:120]!r}"
