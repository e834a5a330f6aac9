"""Validation errors (pydantic's, whether raised by the core's own parsing or by FastAPI's request parsing) as
``{field, message}`` items whose Chinese message names the field the way the form labels it.

One translator for the intake parser, the API's structured 422 and the pages' messages by the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mediation_flow.display.labels import field_label, labels

WHOLE_BODY = "(body)"
_LOCATION_ROOTS = ("body", "query", "path", "header", "cookie")
_NUMBER = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "int_parsing", "int_type",
           "int_from_float", "float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number",
           "multiple_of")  # fmt: skip
_CHOICE = ("enum", "literal_error", "union_tag_invalid", "union_tag_not_found")
_WHEN = ("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact", "datetime_parsing",
         "datetime_type", "datetime_from_date_parsing", "timezone_aware", "timezone_naive")  # fmt: skip


def _label(path: list[str], extra: Mapping[str, str]) -> str:
    known = labels("fields")
    for part in reversed(path):
        if part in extra:
            return extra[part]
        if part in known:
            return field_label(part)
    return ".".join(path) or "提交的数据"


def _message(kind: str, label: str, ctx: Mapping[str, Any], msg: str) -> str:
    if kind == "json_invalid":
        return "JSON 格式错误"
    if kind == "extra_forbidden":
        return "未知字段"
    if kind in ("missing", "string_too_short", "too_short"):
        return f"请填写“{label}”"
    if kind == "string_too_long":
        return f"“{label}”不能超过{ctx.get('max_length')}个字"
    if kind == "too_long":
        return f"“{label}”数量过多"
    if kind in _NUMBER:
        return f"“{label}”数值无效"
    if kind in _CHOICE:
        return f"“{label}”的选项无效"
    if kind in _WHEN:
        return f"“{label}”时间格式不正确，如 2023-09-28T09:00:00+08:00"
    if kind in ("bool_parsing", "bool_type"):
        return f"“{label}”应为是或否"
    if kind == "string_type":
        return f"“{label}”应为文字"
    if kind == "value_error":
        return f"“{label}”：{ctx.get('error', msg)!s}"
    return f"“{label}”格式不正确"


def translate(
    errors: Iterable[Mapping[str, Any]], extra_labels: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """Pydantic's ``exc.errors()`` as ``[{"field": "parties.0", "message": "…"}]``. ``field`` is the dotted
    path inside the body or query (``(body)`` for the body as a whole); ``extra_labels`` names fields the
    glossary does not know (a workflow's own fields)."""
    extra = extra_labels or {}
    out = []
    for err in errors:
        loc = list(err.get("loc", ()))
        if loc and loc[0] in _LOCATION_ROOTS:
            loc = loc[1:]
        path = [str(p) for p in loc]
        kind = str(err.get("type", ""))
        message = _message(kind, _label(path, extra), err.get("ctx") or {}, str(err.get("msg", "")))
        out.append({"field": ".".join(path) or WHOLE_BODY, "message": message})
    return out
