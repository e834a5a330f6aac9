"""Tests for mediation_flow.accounts.personal_data: ID numbers, credit codes, phones, masking."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

import pytest
from factories import local_today
from hypothesis import given
from hypothesis import strategies as st

from mediation_flow.accounts.personal_data import (
    CREDIT_CODE_CHARSET,
    PROVINCE_CODES,
    PersonalDataError,
    id_number_birth_date,
    id_number_sex,
    make_id_number,
    mask_id_number,
    mask_phone,
    mask_text,
    normalize_id_number,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)

# --- independent reference implementations (kept deliberately naive) --------------------------------------


def ref_id_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = 0
    for i in range(17):
        total += int(first17[i]) * weights[i]
    return "10X98765432"[total % 11]


def with_id_check(first17: str) -> str:
    return first17 + ref_id_check(first17)


def ref_credit_check(first17: str) -> str:
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = 0
    for i in range(17):
        total += CREDIT_CODE_CHARSET.index(first17[i]) * weights[i]
    check = 31 - total % 31
    return CREDIT_CODE_CHARSET[0 if check == 31 else check]


def raises_with(message: str, field: str, func, value) -> None:
    with pytest.raises(PersonalDataError) as info:
        func(value)
    assert info.value.message == message
    assert str(info.value) == message
    assert info.value.field == field


# --- 居民身份证号码 -----------------------------------------------------------------------------------------

# The widely published sample 11010519491231002X, checked by hand:
#   digits   1 1  0 1 0 5 1 9 4 9 1 2  3 1 0 0 2
#   weights  7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
#   products 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167;  167 % 11 = 2  ->  '10X98765432'[2] = 'X'
PUBLISHED = "11010519491231002X"

# Built by hand: 500101 19900101 123 -> 35+0+0+5+0+4+2+9+54+0+0+9+0+5+8+8+6 = 145; 145 % 11 = 2 -> 'X'
HAND_MALE = "50010119900101123X"

# Built by hand (leap day): 420106 20000229 456
#   28+18+0+5+0+24+4+0+0+0+0+18+20+45+32+20+12 = 226; 226 % 11 = 6 -> '10X98765432'[6] = '6'
HAND_FEMALE_LEAP_DAY = "420106200002294566"


def test_published_sample_is_valid():
    assert validate_id_number(PUBLISHED) == PUBLISHED
    assert id_number_birth_date(PUBLISHED) == date(1949, 12, 31)
    assert id_number_sex(PUBLISHED) == "女"


def test_hand_built_numbers_are_valid():
    assert validate_id_number(HAND_MALE) == HAND_MALE
    assert id_number_sex(HAND_MALE) == "男"
    assert id_number_birth_date(HAND_MALE) == date(1990, 1, 1)
    assert validate_id_number(HAND_FEMALE_LEAP_DAY) == HAND_FEMALE_LEAP_DAY
    assert id_number_sex(HAND_FEMALE_LEAP_DAY) == "女"
    assert id_number_birth_date(HAND_FEMALE_LEAP_DAY) == date(2000, 2, 29)


def test_make_id_number_matches_hand_computation():
    assert make_id_number("500101", date(1990, 1, 1), 123) == HAND_MALE
    assert make_id_number("420106", date(2000, 2, 29), 456) == HAND_FEMALE_LEAP_DAY
    assert make_id_number("110105", date(1949, 12, 31), 2) == PUBLISHED


def test_lowercase_x_is_accepted_and_uppercased():
    assert validate_id_number(PUBLISHED.lower()) == PUBLISHED


@pytest.mark.parametrize(
    "raw",
    [
        "１１０１０５１９４９１２３１００２ｘ",  # full-width digits, full-width lower-case x
        "１１０１０５１９４９１２３１００２Ｘ",
        " 110105 19491231 002x ",
        "110105\u300019491231\u3000002X",  # ideographic spaces
        "\t11010519491231002X\n",
    ],
)
def test_full_width_and_spaces_are_normalised(raw):
    assert normalize_id_number(raw) == PUBLISHED
    assert validate_id_number(raw) == PUBLISHED


def test_normalize_id_number_maps_letters_and_digits():
    assert normalize_id_number("５") == "5"
    assert normalize_id_number("ｘ") == "X"
    assert normalize_id_number("ａｂｃ ０９") == "ABC09"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("110105491231002", "请使用18位身份证号码"),
        ("１１０１０５４９１２３１００２", "请使用18位身份证号码"),
        ("", "身份证号码长度应为18位"),
        ("11010519491231002", "身份证号码长度应为18位"),
        ("11010519491231002X1", "身份证号码长度应为18位"),
        ("11010519491231002A", "身份证号码含有非法字符"),
        ("1101051949123100X2", "身份证号码含有非法字符"),
        ("11010519491231-02X", "身份证号码含有非法字符"),
        ("١١010519491231002X", "身份证号码含有非法字符"),  # Arabic-Indic digits are not digits here
        (with_id_check("91010519491231002"), "身份证号码地区码无效"),
        (with_id_check("00010519491231002"), "身份证号码地区码无效"),
        (with_id_check("11010519000229002"), "身份证号码出生日期无效"),  # 1900 is not a leap year
        (with_id_check("11010518991231002"), "身份证号码出生日期无效"),
        (with_id_check("11010519491301002"), "身份证号码出生日期无效"),
        (with_id_check("11010519491200002"), "身份证号码出生日期无效"),
        (with_id_check("11010530000101002"), "身份证号码出生日期无效"),
        ("110105194912310021", "身份证号码校验位错误"),
        ("110105194912310020", "身份证号码校验位错误"),
    ],
)
def test_id_number_errors(value, message):
    raises_with(message, "id_number", validate_id_number, value)


def test_error_messages_are_distinct():
    samples = [
        "110105491231002",
        "1",
        "11010519491231002A",
        with_id_check("91010519491231002"),
        with_id_check("11010519000229002"),
        "110105194912310021",
    ]
    messages = set()
    for sample in samples:
        with pytest.raises(PersonalDataError) as info:
            validate_id_number(sample)
        messages.add(info.value.message)
    assert len(messages) == len(samples)


def test_non_string_is_a_personal_data_error():
    with pytest.raises(PersonalDataError):
        validate_id_number(11010519491231002)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "province",
    ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82", "83"],
)
def test_valid_province_codes(province):
    number = with_id_check(province + "010519491231002")
    assert validate_id_number(number) == number


@pytest.mark.parametrize(
    "province",
    [0, 10, 16, 20, 24, 30, 38, 40, 47, 49, 55, 60, 66, 70, 72, 80, 84, 91, 99],
)
def test_invalid_province_codes(province):
    number = with_id_check(f"{province:02d}010519491231002")
    raises_with("身份证号码地区码无效", "id_number", validate_id_number, number)


def test_province_code_set():
    assert "91" not in PROVINCE_CODES
    assert len(PROVINCE_CODES) == 8 + 7 + 6 + 5 + 5 + 4


def test_birth_date_bounds():
    first_day = with_id_check("11010519000101002")
    assert validate_id_number(first_day) == first_day
    today = date(2024, 6, 15)
    born_today = make_id_number("110105", today, 1, today=today)
    assert validate_id_number(born_today, today=today) == born_today
    with pytest.raises(PersonalDataError, match="出生日期无效"):
        validate_id_number(born_today, today=today - timedelta(days=1))
    tomorrow = with_id_check(f"110105{local_today() + timedelta(days=1):%Y%m%d}001")
    raises_with("身份证号码出生日期无效", "id_number", validate_id_number, tomorrow)


def test_birth_date_and_sex_reject_invalid_numbers():
    with pytest.raises(PersonalDataError):
        id_number_birth_date("110105194912310021")
    with pytest.raises(PersonalDataError):
        id_number_sex("110105194912310021")


#: "Today" for the parameters below, fixed: a date computed at collection time fails a run that crosses midnight.
FIXED_TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("region", "birth", "seq", "message"),
    [
        ("910105", date(1990, 1, 1), 1, "地区码无效"),
        ("11010", date(1990, 1, 1), 1, "地区码无效"),
        ("11010A", date(1990, 1, 1), 1, "地区码无效"),
        ("110105", date(1899, 12, 31), 1, "出生日期无效"),
        ("110105", FIXED_TODAY + timedelta(days=1), 1, "出生日期无效"),
        ("110105", date(1990, 1, 1), -1, "顺序码"),
        ("110105", date(1990, 1, 1), 1000, "顺序码"),
    ],
)
def test_make_id_number_rejects_bad_input(region, birth, seq, message):
    with pytest.raises(PersonalDataError, match=message):
        make_id_number(region, birth, seq, today=FIXED_TODAY)


def test_error_is_value_error_and_pickles():
    error = PersonalDataError("身份证号码校验位错误", "id_number")
    assert isinstance(error, ValueError)
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.message, clone.field, str(clone)) == (error.message, error.field, str(error))
    assert PersonalDataError("手机号或固定电话格式不正确").message == "手机号或固定电话格式不正确"


# --- 统一社会信用代码 ---------------------------------------------------------------------------------------

PUBLISHED_CREDIT_CODE = "91350100M000100Y43"


def credit_code_with_check(check: str) -> str:
    """A code whose check character is ``check``: vary the 17th character until it fits."""
    for c in CREDIT_CODE_CHARSET:
        first17 = "91110000MA00000" + "1" + c
        if ref_credit_check(first17) == check:
            return first17 + check
    raise AssertionError(check)


def test_published_credit_code_is_valid():
    assert validate_credit_code(PUBLISHED_CREDIT_CODE) == PUBLISHED_CREDIT_CODE


def test_credit_code_normalisation():
    assert validate_credit_code(" 91350100m000100y43 ") == PUBLISHED_CREDIT_CODE
    assert validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == PUBLISHED_CREDIT_CODE


@pytest.mark.parametrize("check", ["0", "Y", "1", "A"])
def test_credit_code_check_edge_values(check):
    # check 0 is the '31 -> 0' case, 'Y' is value 30
    code = credit_code_with_check(check)
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "统一社会信用代码长度应为18位"),
        ("91350100M000100Y4", "统一社会信用代码长度应为18位"),
        ("91350100M000100Y431", "统一社会信用代码长度应为18位"),
        ("91350100I000100Y43", "统一社会信用代码含有非法字符"),
        ("91350100O000100Y43", "统一社会信用代码含有非法字符"),
        ("91350100S000100Y43", "统一社会信用代码含有非法字符"),
        ("91350100V000100Y43", "统一社会信用代码含有非法字符"),
        ("91350100Z000100Y43", "统一社会信用代码含有非法字符"),
        ("91350100M000100Y4-", "统一社会信用代码含有非法字符"),
        ("91350100M000100Y44", "统一社会信用代码校验位错误"),
        ("91350100M000100Y34", "统一社会信用代码校验位错误"),
    ],
)
def test_credit_code_errors(value, message):
    raises_with(message, "credit_code", validate_credit_code, value)


credit_first17 = st.text(alphabet=CREDIT_CODE_CHARSET, min_size=17, max_size=17)


@given(credit_first17)
def test_reference_built_credit_codes_validate(first17):
    code = first17 + ref_credit_check(first17)
    assert validate_credit_code(code) == code


@given(credit_first17, st.integers(0, 16), st.sampled_from(CREDIT_CODE_CHARSET))
def test_single_substitution_in_credit_code_is_detected(first17, position, replacement):
    code = first17 + ref_credit_check(first17)
    if code[position] == replacement:
        return
    mutated = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(PersonalDataError, match="校验位错误"):
        validate_credit_code(mutated)


# --- telephone numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("023-12345678", "023-12345678"),
        ("02312345678", "023-12345678"),
        ("023 12345678", "023-12345678"),
        ("010-1234567", "010-1234567"),
        ("0101234567", "010-1234567"),
        ("0755-1234567", "0755-1234567"),
        ("075512345678", "0755-12345678"),
        ("(0755)12345678", "0755-12345678"),
        ("(023) 12345678", "023-12345678"),
        ("023-12345678-123", "023-12345678-123"),
        ("023-12345678转123", "023-12345678-123"),
        ("023-12345678 转 8", "023-12345678-8"),
        ("02312345678转123456", "023-12345678-123456"),
        ("０２３－１２３４５６７８", "023-12345678"),
    ],
)
def test_valid_phones(raw, expected):
    assert validate_phone(raw) == expected
    assert validate_phone(expected) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12345678901",  # 12x is not a mobile prefix
        "1381234567",
        "138123456789",
        "+8713812345678",
        "23-12345678",
        "023-123456",
        "023-123456789",
        "0231234567890",
        "023-12345678-1234567",
        "023-12345678转",
        "0-12345678",
        "电话13812345678",
        "abc",
        "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    ],
)
def test_invalid_phones(raw):
    raises_with("手机号或固定电话格式不正确", "phone", validate_phone, raw)


phoneish = st.text(alphabet="0123456789０１２３+＋-－ ()（）转xX\u3000", max_size=25)


@given(st.one_of(st.text(max_size=40), phoneish))
def test_validate_phone_only_raises_personal_data_error(text):
    try:
        normalised = validate_phone(text)
    except PersonalDataError as error:
        assert error.field == "phone"
    else:
        assert validate_phone(normalised) == normalised


# --- masking ----------------------------------------------------------------------------------------------


def test_mask_id_number_exact():
    assert mask_id_number("500101199001011234") == "5001**********1234"
    assert mask_id_number(PUBLISHED) == "1101**********002X"
    assert mask_id_number(PUBLISHED.lower()) == "1101**********002X"
    assert mask_id_number("１１０１０５１９４９１２３１００２ｘ") == "1101**********002X"
    assert mask_id_number(None) == ""
    assert mask_id_number("") == ""
    assert mask_id_number("12345") == "*****"


def test_mask_phone_exact():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("023-12345678") == "023-******78"
    assert mask_phone("02312345678") == "023-******78"
    assert mask_phone("0755-1234567") == "0755-*****67"
    assert mask_phone("023-12345678转123") == "023-******78-***"
    assert mask_phone(None) == ""
    assert mask_phone("") == ""
    assert mask_phone("not a phone") == "*********"


def test_mask_text_log_line():
    line = (
        "受理纠纷：当事人张三，身份证号11010519491231002X，电话13812345678；"
        "李四 id=50010119900101123X tel:+86 139-0000-1111"
    )
    assert mask_text(line) == (
        "受理纠纷：当事人张三，身份证号1101**********002X，电话138****5678；"
        "李四 id=5001**********123X tel:+86 139****1111"
    )


def test_mask_text_adjacent_to_chinese_and_full_width():
    assert mask_text("身份证11010519491231002x电话13812345678") == "身份证1101**********002X电话138****5678"
    assert mask_text("手机１３８１２３４５６７８。") == "手机138****5678。"


def test_mask_text_leaves_other_numbers_alone():
    untouched = [
        "案号(2024)渝0101民调123号",
        "订单20240101123456789012",  # 20 digits: neither an ID number nor a mobile
        "流水号138123456789",  # 12 digits
        "ABC13812345678",  # glued to letters
        "13812345678901234",  # 17 digits
        "110105194912310021X",  # 19 characters
    ]
    for text in untouched:
        assert mask_text(text) == text


alphabet_for_logs = st.text(alphabet="0123456789Xx中，: +-86１３", max_size=60)


@given(alphabet_for_logs)
def test_mask_text_is_idempotent(text):
    once = mask_text(text)
    assert mask_text(once) == once


# --- Hypothesis: generated ID numbers ---------------------------------------------------------------------

regions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=local_today())
seqs = st.integers(0, 999)


@given(regions, births, seqs)
def test_make_id_number_always_validates(region, birth, seq):
    number = make_id_number(region, birth, seq)
    assert len(number) == 18
    assert number[17] == ref_id_check(number[:17])
    assert validate_id_number(number) == number
    assert id_number_birth_date(number) == birth
    assert id_number_sex(number) == ("男" if seq % 2 else "女")


@given(regions, births, seqs, st.integers(0, 16), st.integers(1, 9))
def test_single_digit_change_is_detected(region, birth, seq, position, delta):
    number = make_id_number(region, birth, seq)
    new_digit = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + new_digit + number[position + 1 :]
    # MOD 11-2 weights are all non-zero mod 11, so any single substitution changes the check character...
    assert ref_id_check(mutated[:17]) != number[17]
    # ...and the mutated number (with the old check character) never validates.
    with pytest.raises(PersonalDataError):
        validate_id_number(mutated)


@given(regions, births, seqs)
def test_mask_never_reveals_middle_of_id_number(region, birth, seq):
    number = make_id_number(region, birth, seq)
    masked = mask_id_number(number)
    assert masked == number[:4] + "*" * 10 + number[14:]
    assert mask_text(f"当事人身份证{number}。") == f"当事人身份证{masked}。"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mask_never_reveals_middle_of_mobile(mobile):
    assert mask_phone(mobile) == mobile[:3] + "****" + mobile[7:]
    assert mask_text(f"联系电话：{mobile}") == f"联系电话：{mobile[:3]}****{mobile[7:]}"


@given(st.text(max_size=30))
def test_mask_id_number_on_arbitrary_text_stars_the_middle(text):
    masked = mask_id_number(text)
    normalised = normalize_id_number(text)
    assert len(masked) == len(normalised)
    kept = 4 if len(normalised) >= 15 else 0
    assert set(masked[kept : len(masked) - kept]) <= {"*"}


@given(st.text(max_size=30))
def test_mask_phone_on_arbitrary_text_never_raises(text):
    masked = mask_phone(text)
    assert "*" in masked or masked == "" or text.strip() == ""
