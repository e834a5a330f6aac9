"""Validation of the data a trigger asks for, as its workflow file declares it. Messages in Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from mediation_flow.display.formats import cn_date, money, money_decimal
from mediation_flow.errors import InvalidData
from mediation_flow.textinput import normalise, refusal
from mediation_flow.workflow.schema import CASE_START, FieldSpec, listed_choices

DEFAULT_TEXT_LIMIT = 2000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
MAX_MONEY_FEN = 10**14
_INT = re.compile(r"-?[0-9]{1,12}")


def choice_options(spec: FieldSpec, reference: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The allowed values of a choice field: inline, or a reference-data kind."""
    if isinstance(spec.choices, dict):
        return dict(spec.choices)
    return dict(reference.get(spec.choices or "", {}))


def fields_for(specs: list[FieldSpec], agency_kind: str | None) -> list[FieldSpec]:
    """The fields as a user of a partner agency of ``agency_kind`` fills them in (None: not an agency's user): a
    field declaring ``choices_by_agency`` for that kind offers, and accepts, only those choices."""
    if agency_kind is None or not any(s.choices_by_agency for s in specs):
        return specs
    return [_narrowed(s, agency_kind) for s in specs]


def _narrowed(spec: FieldSpec, agency_kind: str) -> FieldSpec:
    codes = next((c for kind, c in spec.choices_by_agency.items() if kind.value == agency_kind), None)
    if codes is None or not isinstance(spec.choices, dict):
        return spec
    choices = spec.choices
    return spec.model_copy(update={"choices": {code: choices[code] for code in codes}, "choices_by_agency": {}})


def required_when_text(
    spec: FieldSpec, specs: list[FieldSpec], reference: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """When a ``required_when`` field must be filled, in words ('' for others): 协议形式为“书面协议（调解协议书）”,
    联合调解单位（一庭两所）勾选“人民法庭”. ``reference``: the reference data as the place labels it (default: as
    shipped)."""
    by_name = {s.name: s for s in specs}
    parts = []
    for name, value in spec.required_when.items():
        other = by_name.get(name)
        if other is None:
            parts.append(f"{name}为“{value}”")
            continue
        choices = choice_options(other, reference) if reference is not None else {}
        word = choices.get(value) or listed_choices(other).get(value, value)
        parts.append(f"{other.label}勾选“{word}”" if other.type == "multichoice" else f"{other.label}为“{word}”")
    return "、".join(parts)


def required_now(spec: FieldSpec, specs: list[FieldSpec], cleaned: Mapping[str, Any]) -> bool:
    """Whether a ``required_when`` field must be filled, given the form's cleaned values: each named choice field
    has the value, each named multichoice field has it ticked."""
    if not spec.required_when:
        return False
    types = {s.name: s.type for s in specs}
    for name, value in spec.required_when.items():
        given = cleaned.get(name)
        if types.get(name) == "multichoice":
            if not isinstance(given, list) or value not in given:
                return False
        elif given != value:
            return False
    return True


def validate_fields(
    specs: list[FieldSpec],
    data: Mapping[str, Any] | None,
    *,
    reference: Mapping[str, Mapping[str, str]],
    user_exists: Callable[[int], bool] = lambda _id: True,
    today: date | None = None,
    case_start: date | None = None,
) -> dict[str, Any]:
    """Return the cleaned data (JSON-ready values) or raise InvalidData listing every bad field.

    ``today`` (the local date) and ``case_start`` (the registration's effective date) judge the fields'
    date rules (``not_future``, ``not_before``); a rule whose day is not known is not judged."""
    data = dict(data or {})
    errors: list[dict[str, str]] = []
    known = {s.name for s in specs}
    for key in data:
        if key not in known:
            errors.append({"field": str(key)[:64], "message": "未知字段"})
    cleaned: dict[str, Any] = {}
    for spec in specs:
        raw = data.get(spec.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
            if spec.required and spec.type != "bool":
                errors.append({"field": spec.name, "message": f"请填写“{spec.label}”"})
            elif spec.required:
                errors.append({"field": spec.name, "message": f"请确认“{spec.label}”"})
            continue
        try:
            cleaned[spec.name] = _clean(spec, raw, reference, user_exists)
        except ValueError as exc:
            errors.append({"field": spec.name, "message": f"“{spec.label}”{exc}"})
    for spec in specs:
        if (
            required_now(spec, specs, cleaned)
            and spec.name not in cleaned
            and spec.name not in {e["field"] for e in errors}
        ):
            when, ask = required_when_text(spec, specs, reference), "请选择" if spec.type == "choice" else "请填写"
            errors.append({"field": spec.name, "message": f"{when}时，{ask}“{spec.label}”"})
        if spec.only_with and spec.name in cleaned and cleaned.get(spec.only_with) is not True:
            condition = next((s.label for s in specs if s.name == spec.only_with), spec.only_with)
            errors.append({"field": spec.name, "message": f"“{spec.label}”仅在“{condition}”时填写"})
    bad = {e["field"] for e in errors}
    for spec in specs:
        problem = date_problem(spec, specs, cleaned, today, case_start) if spec.name not in bad else None
        if problem:
            errors.append({"field": spec.name, "message": problem})
    if errors:
        raise InvalidData(errors)
    return cleaned


def date_problem(
    spec: FieldSpec, specs: list[FieldSpec], cleaned: Mapping[str, Any], today: date | None, case_start: date | None
) -> str | None:
    """What is wrong with a date field's value under its workflow's date rules (None: nothing, or no value)."""
    if spec.type != "date" or spec.name not in cleaned:
        return None
    day = date.fromisoformat(cleaned[spec.name])
    if spec.not_future and today is not None and day > today:
        return f"“{spec.label}”不能晚于今天（{cn_date(today)}，北京时间）"
    for other in spec.not_before:
        if other == CASE_START:
            if case_start is not None and day < case_start:
                return f"“{spec.label}”不能早于案件登记日期（{cn_date(case_start)}）"
            continue
        before = cleaned.get(other)
        if before is not None and day < date.fromisoformat(before):
            label = next((s.label for s in specs if s.name == other), other)
            return f"“{spec.label}”不能早于“{label}”（{cn_date(before)}）"
    return None


def _clean(
    spec: FieldSpec,
    raw: Any,
    reference: Mapping[str, Mapping[str, str]],
    user_exists: Callable[[int], bool],
) -> Any:
    kind = spec.type
    if kind in ("text", "longtext"):
        if not isinstance(raw, str):
            raise ValueError("应为文字")
        text = normalise(raw, multiline=kind == "longtext").strip()
        reason = refusal(text)
        if reason is not None:
            raise ValueError(reason)
        limit = spec.max_length or DEFAULT_TEXT_LIMIT
        if len(text) > limit:
            raise ValueError(f"不能超过{limit}个字（现为{len(text)}个字）")
        return text
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "1", "on", "yes", "是"):
            return True
        if isinstance(raw, str) and raw.lower() in ("false", "0", "off", "no", "否"):
            return False
        raise ValueError("应为是或否")
    if kind in ("int", "user"):
        value = _as_int(raw)
        if spec.min is not None and value < spec.min:
            raise ValueError(f"不能小于{spec.min}")
        if spec.max is not None and value > spec.max:
            raise ValueError(f"不能大于{spec.max}")
        if kind == "user" and not user_exists(value):
            raise ValueError("不是本辖区的有效用户")
        return value
    if kind == "money":
        return _money_text(raw)
    if kind == "date":
        try:
            day = date.fromisoformat(str(raw))
        except ValueError:
            raise ValueError("应为日期，格式如 2023-09-28") from None
        if not FIRST_DAY <= day <= LAST_DAY:  # a planned date (履行期限) may lie ahead, but not in another century
            raise ValueError("日期须在2000年1月1日至2100年12月31日之间")
        return day.isoformat()
    if kind == "choice":
        options = choice_options(spec, reference)
        if not isinstance(raw, str) or raw not in options:
            raise ValueError("的选项无效")
        return raw
    if kind == "multichoice":
        options = choice_options(spec, reference)
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) and v in options for v in values):
            raise ValueError("的选项无效")
        return sorted(set(values), key=list(options).index)
    raise ValueError("类型不受支持")  # pragma: no cover - the schema forbids other types


INT_LIMIT = 2**31 - 1  # what every integer column holds (a larger id would overflow the database's integer)


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("应为整数")
    if isinstance(raw, str) and _INT.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if not isinstance(raw, int):
        raise ValueError("应为整数")
    if not -INT_LIMIT <= raw <= INT_LIMIT:
        raise ValueError("数值超出范围")
    return raw


def parse_money_fen(raw: Any) -> int:
    """Yuan (number or text, up to 2 decimals, non-negative) to integer fen."""
    if isinstance(raw, bool):
        raise ValueError("应为金额")
    try:
        amount = Decimal(str(raw).replace(",", "").replace("元", "").strip())
    except InvalidOperation:
        raise ValueError("应为金额，如 12000 或 12000.50") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("应为不小于0的金额")
    if amount.adjusted() >= 15:  # before multiplying: 1e999999999 would overflow the decimal context
        raise ValueError("金额过大")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError("最多保留两位小数")
    if fen >= MAX_MONEY_FEN:
        raise ValueError("金额过大")
    return int(fen)


def _money_text(raw: Any) -> str:
    return str(money_decimal(parse_money_fen(raw)))


def shown_value(spec: FieldSpec | None, value: Any, reference: dict[str, dict[str, str]], names: dict[int, str]) -> str:
    """A field's value as the timeline shows it: labels for choices and users, Chinese dates, money in 元."""
    if spec is None:
        return str(value)
    if spec.type == "bool":
        return "是" if value else "否"
    if spec.type in ("choice", "multichoice"):
        options = choice_options(spec, reference)
        values = value if isinstance(value, list) else [value]
        return "、".join(options.get(str(v), str(v)) for v in values)
    if spec.type == "user":
        return names.get(int(value), f"用户{value}") if str(value).isascii() and str(value).isdigit() else str(value)
    if spec.type == "date":
        return cn_date(str(value))
    if spec.type == "money":
        try:
            return money(round(float(value) * 100))
        except ValueError:
            return str(value)
    return str(value)
