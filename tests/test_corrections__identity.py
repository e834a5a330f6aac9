"""更正 of a person's ID number: the birth date, sex and age recorded for them follow the corrected number wherever
the number contradicts them, so the case page, the API and the printouts never show a birth date the number
denies; blanks stay blank, an organisation's code changes nothing else (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import docx
from factories import Town
from report_cases import agreement, at, enter
from sqlalchemy import Engine, select
from test_corrections import correct

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.printouts import printout
from mediation_flow.cases.views import case_page, case_view, revealed_parties
from mediation_flow.store.tables import EVENTS, PARTIES

BORN, CORRECTED = date(1970, 3, 4), date(1981, 6, 7)
FIRST_ID = make_id_number("110105", BORN, 11)  # 男
WOMAN_ID = make_id_number("110105", CORRECTED, 24)  # 女 (the 17th digit is even)


def text_of(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def party_rows(engine: Engine, case_id: int) -> list[dict[str, Any]]:
    columns = (PARTIES.c.name, PARTIES.c.id_number, PARTIES.c.birth_date, PARTIES.c.gender, PARTIES.c.age)
    with engine.connect() as conn:
        query = select(*columns).where(PARTIES.c.case_id == case_id).order_by(PARTIES.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def test_a_corrected_id_number_brings_the_birth_date_sex_and_age_with_it(engine: Engine, town: Town) -> None:
    applicant = {"role": "applicant", "name": "王芳", "id_number": FIRST_ID, "gender": "male",
                 "birth_date": BORN.isoformat(), "age": 53}  # fmt: skip
    aged_only = {"role": "respondent", "name": "李强", "id_number": make_id_number("110105", BORN, 15), "age": 53}
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
        agreement("2023-05-20", "800"),
    ]
    grid = town.places.grids[0].code  # the grid worker's, who sees identities masked
    case_id = enter(engine, town, at(2023, 5, 10), steps, parties=[applicant, aged_only], jurisdiction_code=grid)

    correct(engine, town, case_id, what="party_id_number", party=1, value=WOMAN_ID)
    correct(engine, town, case_id, what="party_id_number", party=2, value=make_id_number("110105", CORRECTED, 26))

    first, second = party_rows(engine, case_id)
    assert (first["id_number"], first["birth_date"], first["gender"]) == (WOMAN_ID, CORRECTED, "female")
    assert first["age"] == 41  # at registration (10 May 2023)
    assert (second["birth_date"], second["gender"], second["age"]) == (None, None, 41)  # blanks stay blank
    with engine.connect() as conn:
        data = conn.execute(select(EVENTS.c.data).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == 6)).scalar()
    derived = {"birth_date": ["1970-03-04", "1981-06-07"], "gender": ["male", "female"], "age": [53, 41]}
    assert data["derived"] == derived

    page = case_page(engine, town["supervisor"], case_id)  # masked for everyone by default (最小必要)
    assert page.parties[0].birth == "1981年"
    shown = revealed_parties(engine, town["supervisor"], case_id)[0]  # 查看完整信息
    assert (shown.birth, shown.gender_label, shown.age) == ("1981年6月7日", "女", 41)
    correction = next(e for e in page.timeline if e["seq"] == 6)
    assert ("随身份证号码一并更正", "出生日期、性别、年龄") in correction["details"]
    masked = case_view(engine, town["grid_worker"], case_id)
    fix = next(e for e in masked.events if e["seq"] == 6)
    assert fix["data"]["derived"]["birth_date"] == ["1970", "1981"] and masked.parties[0].birth == "1981年"
    printed = text_of(printout(engine, town["supervisor"], case_id, "agreement")[0])
    assert "王芳，女，1981年6月7日生" in printed and "1970年3月4日" not in printed
    assert check_all(engine)[1] == []


def test_values_the_corrected_number_agrees_with_are_kept(engine: Engine, town: Town) -> None:
    """A number corrected in its last digits (same birth date and sex) changes nothing else; a name's correction
    touches no birth date."""
    same_person = make_id_number("110105", BORN, 13)  # 男 too
    applicant = {"role": "applicant", "name": "赵军", "id_number": FIRST_ID, "gender": "male",
                 "birth_date": BORN.isoformat(), "age": 53}  # fmt: skip
    case_id = enter(engine, town, at(2023, 5, 10), [], parties=[applicant, {"role": "respondent", "name": "钱多"}])
    correct(engine, town, case_id, what="party_id_number", party=1, value=same_person)
    correct(engine, town, case_id, what="party_name", party=1, value="赵钧")
    (first, _) = party_rows(engine, case_id)
    assert (first["name"], first["id_number"], first["birth_date"], first["gender"], first["age"]) == (
        "赵钧", same_person, BORN, "male", 53
    )  # fmt: skip
    with engine.connect() as conn:
        datas = conn.execute(select(EVENTS.c.data).where(EVENTS.c.case_id == case_id, EVENTS.c.seq > 1)).scalars()
        assert all("derived" not in d for d in datas)
