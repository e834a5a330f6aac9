"""Ledger (台账) import: every row validated, errors by row and column, all or nothing; imported cases
have a full back-dated history and count in the statistics."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from mediation_flow.cases.checks import check_all
from mediation_flow.errors import PermissionDenied
from mediation_flow.ledger.columns import COLUMNS, template_xlsx
from mediation_flow.ledger.plan import LedgerImportError, import_ledger
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.scope import year_scope
from mediation_flow.store.models import Case, CaseEvent

HEADERS = [c.header for c in COLUMNS]


def row(**values: str) -> dict[str, str]:
    base = {
        "案件名称": "张三与李四相邻通行纠纷",
        "登记日期": "2023-03-01",
        "所属辖区代码": "500101001001001",
        "纠纷类型": "邻里",
        "案件来源": "主动排查",
        "纠纷简要情况": "两户因院坝通道宽度发生争执。",
        "申请人": "张三",
        "被申请人": "李四",
        "调解场所": "清风茶室",
        "开始调解日期": "2023-03-02",
        "调解结果": "达成协议",
        "协议日期": "2023-03-05",
        "协议金额（元）": "800",
        "回访日期": "2023-03-20",
        "履行情况": "已履行",
        "结案日期": "2023-03-21",
    }
    base.update(values)
    return {k: v for k, v in base.items() if v != ""}


def xlsx(rows: list[dict[str, str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(HEADERS)
    for r in rows:
        ws.append([r.get(h) for h in HEADERS])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(HEADERS)] + [",".join(r.get(h, "") for h in HEADERS) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def count_cases(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Case.__table__)).scalar())


def test_imported_cases_have_full_histories_and_count(engine, town):
    rows = [
        row(原台账编号="2023-001"),
        row(案件名称="王五与赵六婚姻家庭纠纷", 纠纷类型="婚姻家庭", 案件来源="公安移交", 登记日期="2023/6/1",
            开始调解日期="2023年6月3日", 协议日期="", 回访日期="", 履行情况="", 结案日期="2023-06-20",
            调解结果="调解不成", 原因说明="双方分歧较大"),
        row(案件名称="宅基地纠纷", 调解结果="调解中", 协议日期="", 回访日期="", 履行情况="", 结案日期="",
            登记日期="2023-12-30", 开始调解日期="2024-01-02"),
        row(案件名称="合同纠纷", 调解结果="不予受理", 开始调解日期="", 协议日期="", 回访日期="", 履行情况="",
            结案日期="", 原因说明="已由法院受理"),
    ]  # fmt: skip
    result = import_ledger(engine, actor=town["supervisor"], filename="台账.xlsx", content=xlsx(rows))
    assert result.count == 4
    with engine.connect() as conn:
        states = dict(conn.execute(select(Case.__table__.c.id, Case.__table__.c.state)).all())
        assert [states[i] for i in result.case_ids] == ["resolved", "closed", "mediating", "rejected"]
        triggers = conn.execute(
            select(CaseEvent.__table__.c.trigger).where(CaseEvent.__table__.c.case_id == result.case_ids[0])
            .order_by(CaseEvent.__table__.c.seq)
        ).scalars().all()  # fmt: skip
        assert triggers == ["register", "assign", "accept", "start_mediation", "reach_agreement", "start_follow_up",
                            "record_visit", "close_resolved", "add_note"]  # fmt: skip
        note = conn.execute(
            select(CaseEvent.__table__.c.note).where(
                CaseEvent.__table__.c.case_id == result.case_ids[0], CaseEvent.__table__.c.trigger == "add_note"
            )
        ).scalar()
        assert note == "自台账导入（第2行，原编号2023-001）"
        figures = compute_figures(conn, year_scope(conn, code=town.places.township.code, year=2023)).values
    assert (figures["taken_in"], figures["mediated"], figures["resolved"], figures["closed"]) == (4, 2, 1, 2)
    assert (figures["performed"], figures["agreement_amount"], figures["mediation_concluded"]) == (1, "800.00", 2)
    assert check_all(engine)[1] == []


def test_every_error_is_reported_by_row_and_column_and_nothing_is_written(engine, town):
    rows = [
        row(),
        row(登记日期="2023-02-30", 纠纷类型="打架"),
        row(申请人="", 调解结果="成功了"),
        row(回访日期="2023-03-01", 申请人身份证号="110105194912310021"),
        row(登记日期="2099-01-01"),
    ]
    with pytest.raises(LedgerImportError) as caught:
        import_ledger(engine, actor=town["supervisor"], filename="ledger.xlsx", content=xlsx(rows))
    found = {(e["row"], e["column"]) for e in caught.value.errors}
    assert {(3, "登记日期"), (3, "纠纷类型"), (4, "申请人"), (4, "调解结果"), (5, "回访日期"), (5, "申请人身份证号"),
            (6, "登记日期")} <= found  # fmt: skip
    assert not any(r == 2 for r, _ in found)
    assert all(e["message"] for e in caught.value.errors)
    assert "未导入任何数据" in caught.value.message
    assert count_cases(engine) == 0


def test_a_row_the_engine_refuses_rolls_back_the_whole_file(engine, town):
    rows = [row(), row(案件名称="第二件"), row(所属辖区代码="999999999")]
    with pytest.raises(LedgerImportError) as caught:
        import_ledger(engine, actor=town["supervisor"], filename="ledger.csv", content=csv_bytes(rows))
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(4, "所属辖区代码")]
    assert count_cases(engine) == 0


def test_a_written_agreement_without_its_performance_is_refused_by_the_workflows_rule(engine, town):
    """The rule is the workflow file's (履行方式 `required_when` 协议形式 is 书面), not a copy in the import: the
    row is refused on the 履行方式 column with the form's message; an oral agreement needs none."""
    rows = [row(协议形式="口头"), row(案件名称="第二件", 协议形式="书面")]
    with pytest.raises(LedgerImportError) as caught:
        import_ledger(engine, actor=town["supervisor"], filename="ledger.xlsx", content=xlsx(rows))
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(3, "履行方式")]
    assert "请填写“履行方式、地点、期限”" in caught.value.errors[0]["message"]
    assert count_cases(engine) == 0
    rows[1]["履行方式"] = "十日内当面付清"
    import_ledger(engine, actor=town["supervisor"], filename="ledger.xlsx", content=xlsx(rows))
    assert count_cases(engine) == 2


def test_csv_in_gbk_and_the_template(engine, town):
    content = csv_bytes([row(案件名称="邻里纠纷（GBK）")], encoding="gb18030")
    assert import_ledger(engine, actor=town["supervisor"], filename="LEDGER.CSV", content=content).count == 1
    template = load_workbook(io.BytesIO(template_xlsx()))
    assert [c.value for c in template["台账"][1]] == HEADERS
    assert template["填写说明"]["A2"].value == "原台账编号"
    # The template's example row imports as it stands.
    assert import_ledger(engine, actor=town["supervisor"], filename="t.xlsx", content=template_xlsx()).count == 1


def test_only_supervisors_import_and_bad_files_are_refused(engine, town):
    with pytest.raises(PermissionDenied):
        import_ledger(engine, actor=town["mediator"], filename="a.xlsx", content=xlsx([row()]))
    for filename, content, column in [
        ("a.pdf", b"%PDF", ""),
        ("a.xlsx", b"not a zip", ""),
        ("a.csv", "案件名称,登记日期\r\n".encode(), "所属辖区代码"),
        ("a.csv", (",".join(HEADERS) + ",备注栏\r\n").encode(), "备注栏"),
        ("a.csv", (",".join(HEADERS) + "\r\n").encode(), ""),
    ]:
        with pytest.raises(LedgerImportError) as caught:
            import_ledger(engine, actor=town["supervisor"], filename=filename, content=content)
        assert any(e["column"] == column for e in caught.value.errors), (filename, caught.value.errors)
    assert count_cases(engine) == 0


def test_docs_list_the_columns():
    from pathlib import Path

    from mediation_flow.ledger.columns import docs_markdown

    docs = Path(__file__).resolve().parent.parent / "docs" / "ledger_import.md"
    assert docs.read_text("utf-8") == docs_markdown()
    assert all(f"| {h} |" in docs_markdown() for h in HEADERS)
