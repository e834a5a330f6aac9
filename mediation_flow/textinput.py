"""The one text-input policy: what a typed, pasted or imported text may contain, for every input (API, pages,
query parameters, the ledger import, the CLI), the same on SQLite and PostgreSQL.

- What a paste produces is normalised: CR LF and CR, U+000B (Word's manual line break), U+000C, U+0085 and
  U+2028/U+2029 become a newline; in a one-line field every newline and tab becomes a space.
- What no person types is refused with a Chinese message: NUL (PostgreSQL cannot store it) and every other
  C0/C1 control character but newline and tab, DEL, unpaired surrogates, U+FFFE/U+FFFF, and the bidirectional
  overrides and isolates (U+202A–U+202E, U+2066–U+2069) that make text display in another order than it reads.
- Length is counted after normalisation and stripping.

``scrub`` is the same policy for text already stored (exports, the migration that cleaned old rows): it
normalises and drops, never refuses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_PASTED_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_REFUSED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
_NAMES = {
    "\x00": "空字符（NUL）",
    "\x7f": "删除符（DEL）",
    "\ufffe": "非字符 U+FFFE",
    "\uffff": "非字符 U+FFFF",
}
QUERY_LIMIT = 500  # one query parameter's value, in characters
BODY_TEXT_LIMIT = 50_000  # any one text value of a form or JSON body (the longest: the report text, 30,000)


class TextRefused(ValueError):
    """A text the policy refuses; ``str()`` is the Chinese message (without the field's name)."""


def _describe(char: str) -> str:
    if char in _NAMES:
        return _NAMES[char]
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"不成对的代理码位 U+{code:04X}"
    if 0x202A <= code <= 0x206F:
        return f"文字方向控制符 U+{code:04X}"
    return f"控制字符 U+{code:04X}"


def refusal(value: str) -> str | None:
    """Why the policy refuses ``value`` (a Chinese sentence), or None. Pasted line breaks are not refused
    (``normalise`` turns them into newlines)."""
    found = _REFUSED.search(value)
    if found is None:
        return None
    return f"含有不允许的{_describe(found.group())}，请删除后重新输入（可能来自复制粘贴）"


def normalise(value: str, *, multiline: bool = True) -> str:
    """Pasted line breaks as newlines; in a one-line field, newlines and tabs as spaces."""
    value = _PASTED_BREAKS.sub("\n", value)
    if not multiline:
        value = value.replace("\n", " ").replace("\t", " ")
    return value


def clean_text(
    value: str, *, label: str = "", max_length: int | None = None, multiline: bool = True, strip: bool = True
) -> str:
    """The policy for one text: normalised, refused characters raise :class:`TextRefused` (message names
    ``label`` when given), length checked after stripping."""
    text = normalise(value, multiline=multiline)
    reason = refusal(text)
    if reason is not None:
        raise TextRefused(f"“{label}”{reason}" if label else reason)
    if strip:
        text = text.strip()
    if max_length is not None and len(text) > max_length:
        raise TextRefused(f"“{label}”不能超过{max_length}个字" if label else f"不能超过{max_length}个字")
    return text


def scrub(value: str, *, multiline: bool = True) -> str:
    """Stored text made safe to write anywhere (a cell, a .docx, XML): normalised, refused characters
    dropped. For text that is already in the database; new input goes through :func:`clean_text`."""
    return _REFUSED.sub("", normalise(value, multiline=multiline))


def first_refused(values: Any, limit: int = BODY_TEXT_LIMIT) -> str | None:
    """The message for the first refused or overlong text anywhere in a parsed JSON value or a list of
    form values (keys included), or None. The guard every request body and query string passes."""
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            reason = refusal(item)
            if reason is not None:
                return reason
            if len(item) > limit:
                return f"内容过长（不能超过{limit}个字）"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def _as_line(value: Any) -> Any:
    return clean_text(value, multiline=False, strip=True) if isinstance(value, str) else value


def _as_text(value: Any) -> Any:
    return clean_text(value, multiline=True, strip=True) if isinstance(value, str) else value


Line = Annotated[str, BeforeValidator(_as_line)]
"""A one-line text under the policy (a name, a title, a code); combine with ``Field(max_length=...)``."""
Text = Annotated[str, BeforeValidator(_as_text)]
"""A multi-line text under the policy (a summary, a note)."""
