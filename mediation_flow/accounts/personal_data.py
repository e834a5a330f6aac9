"""Validation and masking of dispute parties' personal data (个人信息).

* 居民身份证号码 per GB 11643-1999 (18 digits, ISO 7064 MOD 11-2 check character);
* 统一社会信用代码 per GB 32100-2015 (18 characters, MOD 31 check character);
* mainland mobile and landline telephone numbers;
* masking for display and for log lines.

Everything here is a pure function over ``str``; errors are :class:`PersonalDataError` with a Chinese
message suitable for showing to a mediator as is.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from mediation_flow.store import clock

__all__ = [
    "CREDIT_CODE_CHARSET",
    "PROVINCE_CODES",
    "PersonalDataError",
    "age_on",
    "id_number_birth_date",
    "id_number_sex",
    "make_id_number",
    "mask_address",
    "mask_id_number",
    "mask_phone",
    "mask_text",
    "normalize_id_number",
    "validate_credit_code",
    "validate_id_number",
    "validate_phone",
]


class PersonalDataError(ValueError):
    """Invalid personal data. Carries a Chinese message, e.g. '身份证号码校验位错误'.

    ``field`` is ``'id_number'``, ``'phone'`` or ``'credit_code'``; ``str(error) == error.message``.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __reduce__(self) -> tuple[type[PersonalDataError], tuple[str, str]]:
        return type(self), (self.message, self.field)


# --- messages ---------------------------------------------------------------------------------------------

ID_LEGACY = "请使用18位身份证号码"
ID_LENGTH = "身份证号码长度应为18位"
ID_CHARS = "身份证号码含有非法字符"
ID_REGION = "身份证号码地区码无效"
ID_BIRTH = "身份证号码出生日期无效"
ID_CHECK = "身份证号码校验位错误"
CREDIT_LENGTH = "统一社会信用代码长度应为18位"
CREDIT_CHARS = "统一社会信用代码含有非法字符"
CREDIT_CHECK = "统一社会信用代码校验位错误"
PHONE_FORMAT = "手机号或固定电话格式不正确"

# --- common normalisation ---------------------------------------------------------------------------------

# U+FF01..U+FF5E are the full-width forms of ASCII '!'..'~'; U+3000 is the ideographic space.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_WHITESPACE = re.compile(r"\s+")


def _to_halfwidth(value: str) -> str:
    return value.translate(_HALFWIDTH)


# --- 居民身份证号码 (GB 11643-1999) -------------------------------------------------------------------------

#: First two digits of a valid region code; 71 Taiwan, 81/82/83 HK/Macao/Taiwan residence permits.
PROVINCE_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {str(n) for n in range(31, 38)}
    | {str(n) for n in range(41, 47)}
    | {str(n) for n in range(50, 55)}
    | {str(n) for n in range(61, 66)}
    | {"71", "81", "82", "83"}
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_EARLIEST_BIRTH = date(1900, 1, 1)


def _id_check_char(first17: str) -> str:
    return _ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _parse_birth(yyyymmdd: str, today: date | None) -> date | None:
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    return birth if _EARLIEST_BIRTH <= birth <= (today or clock.local_date(clock.utcnow())) else None


def normalize_id_number(value: str) -> str:
    """Remove whitespace, turn full-width digits/letters half-width, upper-case (``'ｘ'`` -> ``'X'``)."""
    return _WHITESPACE.sub("", _to_halfwidth(value)).upper()


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Validate an 18-digit 居民身份证号码 and return it normalised.

    ``today`` (default: today in the township, Beijing time) bounds the birth date. Raises :class:`PersonalDataError`.
    """
    if not isinstance(value, str):
        raise PersonalDataError(ID_CHARS, "id_number")
    number = normalize_id_number(value)
    if len(number) == 15 and _DIGITS.fullmatch(number):
        raise PersonalDataError(ID_LEGACY, "id_number")
    if len(number) != 18:
        raise PersonalDataError(ID_LENGTH, "id_number")
    if not _ID_SHAPE.fullmatch(number):
        raise PersonalDataError(ID_CHARS, "id_number")
    if number[:2] not in PROVINCE_CODES:
        raise PersonalDataError(ID_REGION, "id_number")
    if _parse_birth(number[6:14], today) is None:
        raise PersonalDataError(ID_BIRTH, "id_number")
    if _id_check_char(number[:17]) != number[17]:
        raise PersonalDataError(ID_CHECK, "id_number")
    return number


def id_number_birth_date(value: str) -> date:
    """Birth date encoded in a valid ID number (digits 7-14)."""
    number = validate_id_number(value)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_number_sex(value: str) -> Literal["男", "女"]:
    """Sex encoded in a valid ID number: the 17th digit is odd for 男, even for 女."""
    return "男" if int(validate_id_number(value)[16]) % 2 else "女"


def age_on(born: date, on: date) -> int:
    """Full years between ``born`` and ``on`` (周岁)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def make_id_number(region: str, birth: date, seq: int, *, today: date | None = None) -> str:
    """Build a valid ID number (correct check character) for demo data and tests.

    ``region`` is a 6-digit 行政区划代码 with a valid province prefix; ``seq`` (0..999) is the
    顺序码, whose parity gives the sex (odd 男, even 女).
    """
    if not (isinstance(region, str) and len(region) == 6 and _DIGITS.fullmatch(region)):
        raise PersonalDataError(ID_REGION, "id_number")
    if region[:2] not in PROVINCE_CODES:
        raise PersonalDataError(ID_REGION, "id_number")
    if not (_EARLIEST_BIRTH <= birth <= (today or clock.local_date(clock.utcnow()))):
        raise PersonalDataError(ID_BIRTH, "id_number")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 999:
        raise PersonalDataError("身份证号码顺序码应为0至999", "id_number")
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + _id_check_char(first17)


# --- 统一社会信用代码 (GB 32100-2015) ----------------------------------------------------------------------

#: The 31 characters allowed in a credit code (no I, O, S, V, Z); a character's value is its index.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Validate an 18-character 统一社会信用代码 and return it normalised (half-width, upper case)."""
    if not isinstance(value, str):
        raise PersonalDataError(CREDIT_CHARS, "credit_code")
    code = normalize_id_number(value)
    if len(code) != 18:
        raise PersonalDataError(CREDIT_LENGTH, "credit_code")
    if any(c not in _CREDIT_VALUES for c in code):
        raise PersonalDataError(CREDIT_CHARS, "credit_code")
    if _credit_check_char(code[:17]) != code[17]:
        raise PersonalDataError(CREDIT_CHECK, "credit_code")
    return code


# --- telephone numbers -------------------------------------------------------------------------------------

_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})", re.ASCII)
_LANDLINE_SEPARATED = re.compile(r"(?:\((0[0-9]{2,3})\)-?|(0[0-9]{2,3})-)([0-9]{7,8})(?:[-转]([0-9]{1,6}))?", re.ASCII)
_LANDLINE_COMPACT = re.compile(r"(0[0-9]{9,11})(?:[-转]([0-9]{1,6}))?", re.ASCII)


def _parse_phone(value: str) -> tuple[str, str, str]:
    """``('', mobile, '')`` or ``(area, number, extension)``; raises :class:`PersonalDataError`."""
    if not isinstance(value, str):
        raise PersonalDataError(PHONE_FORMAT, "phone")
    text = _to_halfwidth(value).strip()
    mobile = _MOBILE.fullmatch(re.sub(r"[\s-]+", "", text))
    if mobile:
        return "", mobile.group(1), ""
    text = re.sub(r"[\s-]+", "-", re.sub(r"\s*转\s*", "转", text))
    separated = _LANDLINE_SEPARATED.fullmatch(text)
    if separated:
        return separated.group(1) or separated.group(2), separated.group(3), separated.group(4) or ""
    compact = _LANDLINE_COMPACT.fullmatch(text)
    if compact:
        digits = compact.group(1)
        split = 3 if digits.startswith(("010", "02")) else 4
        if 7 <= len(digits) - split <= 8:
            return digits[:split], digits[split:], compact.group(2) or ""
    raise PersonalDataError(PHONE_FORMAT, "phone")


def validate_phone(value: str) -> str:
    """Validate a phone number; return a mobile as 11 digits, a landline as ``'023-12345678[-ext]'``.

    Mobile: ``1[3-9]`` + 9 digits, optionally prefixed ``+86``/``86``, spaces and hyphens allowed.
    Landline: area code ``0`` + 2-3 digits, 7-8 digits, optional extension ``-123`` or ``转123``.
    Without a separator the area code is split as in reality: 010 and 02x are 3 digits, others 4.
    """
    area, number, ext = _parse_phone(value)
    if not area:
        return number
    return f"{area}-{number}" + (f"-{ext}" if ext else "")


# --- masking -----------------------------------------------------------------------------------------------


def mask_id_number(value: str | None) -> str:
    """``'500101199001011234'`` -> ``'5001**********1234'``; None/'' -> ''.

    Anything shorter than 15 characters is starred out entirely.
    """
    if not value:
        return ""
    number = normalize_id_number(value)
    if len(number) < 15:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(value: str | None) -> str:
    """Mobile ``'13812345678'`` -> ``'138****5678'``; landline ``'023-12345678'`` -> ``'023-******78'``.

    An extension is starred out; unparseable input is starred out entirely; None/'' -> ''.
    """
    if not value:
        return ""
    try:
        area, number, ext = _parse_phone(value)
    except PersonalDataError:
        return "*" * len(_WHITESPACE.sub("", value))
    if not area:
        return f"{number[:3]}****{number[7:]}"
    masked = f"{area}-{'*' * (len(number) - 2)}{number[-2:]}"
    return masked + (f"-{'*' * len(ext)}" if ext else "")


_PLACE_END = re.compile("(?:省|自治区|市|州|盟|县|旗|区|乡|镇|街道|村|社区|组)")


def mask_address(value: str | None) -> str:
    """住址 as a role that sees identities masked sees it: the places down to the village (or group) kept, the
    house, street number and anything after starred out (``'某某镇青龙村3组12号'`` -> ``'某某镇青龙村3组****'``);
    an address naming no place keeps only its first third. None/'' -> ''."""
    if not value:
        return ""
    text = _WHITESPACE.sub("", value)
    ends = [m.end() for m in _PLACE_END.finditer(text) if m.end() < len(text)]
    keep = ends[-1] if ends else len(text) // 3
    return text[:keep] + "****"


# Half- and full-width digits; a match must not touch a letter or digit on either side, so that a
# 20-digit order number is left alone while '身份证号11010519491231002X电话…' is still masked
# (\b would not do: CJK characters are word characters). Digits may be grouped by spaces or hyphens as
# people type them ('1101 0519 …', '138 1234 5678', '+86 139-0000-1111'); landlines ('023-12345678',
# '(023)12345678', '02312345678') keep their area code and last two digits.
_D = "[0-9０-９]"
_S = "[- \u3000－]?"  # an optional separator: space, hyphen, their full-width forms
_ALNUM = "0-9A-Za-z０-９Ａ-Ｚａ-ｚ"
_SENSITIVE = re.compile(
    rf"(?<![{_ALNUM}])(?:"
    rf"(?P<id>{_D}(?:{_S}{_D}){{16}}{_S}[0-9Xx０-９Ｘｘ])"
    rf"|(?P<prefix>[+＋]?[8８][6６]{_S})?(?P<mobile>[1１]{_S}[3-9３-９](?:{_S}{_D}){{9}})"
    rf"|(?P<area>[(（][0０]{_D}{{2,3}}[)）]|[0０]{_D}{{2,3}}){_S}(?P<local>{_D}{{7,8}})"
    rf")(?![{_ALNUM}])"
)
_SEPARATORS = re.compile("[- \u3000－]")


def _mask_match(match: re.Match[str]) -> str:
    if match.group("id"):
        return mask_id_number(_SEPARATORS.sub("", match.group("id")))
    if match.group("mobile"):
        digits = _SEPARATORS.sub("", _to_halfwidth(match.group("mobile")))
        return (match.group("prefix") or "") + f"{digits[:3]}****{digits[7:]}"
    local = _to_halfwidth(match.group("local"))
    area = _to_halfwidth(match.group("area")).strip("()（）")
    return f"{area}-{'*' * (len(local) - 2)}{local[-2:]}"


def mask_text(text: str) -> str:
    """Mask every ID number, mobile and landline number in free text (logs; text shown to a role that sees
    identities masked), however it was typed: full-width digits, spaces or hyphens, +86."""
    return _SENSITIVE.sub(_mask_match, text)
