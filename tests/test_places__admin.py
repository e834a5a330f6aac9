"""Jurisdictions set up by an administrator: codes checked, levels following their parent, CSV import all or
nothing with row errors, moves carrying their cases, retired places kept but offered for nothing new, the
tree ordered by code, every change in the change log."""

from __future__ import annotations

import pytest
from factories import register
from sqlalchemy import select

from mediation_flow.accounts.admin_log import administer, recent_changes
from mediation_flow.accounts.policy import CONSOLE
from mediation_flow.cases.forms import registration_options
from mediation_flow.errors import Conflict, InvalidData, PermissionDenied
from mediation_flow.places import changes
from mediation_flow.places.importing import import_places
from mediation_flow.places.jurisdictions import all_places, get_by_code, jurisdiction_tree
from mediation_flow.store.tables import CASES

TREE_CSV = """统计用区划代码,名称,上级代码
500102000000,东山县,
500102003000,河口镇,500102000000
500102003002,下河村,500102003000
500102003001,上河村,500102003000
500102003001001,上河村第一网格,500102003001
"""


def _run(engine, change):
    return administer(engine, CONSOLE, change)


def test_a_tree_imported_from_nothing_is_ordered_by_code_and_importing_again_skips_it(engine):
    result = _run(engine, lambda conn, a: import_places(conn, a, TREE_CSV.encode("utf-8")))
    assert (result.added, result.skipped) == (5, 0)
    with engine.connect() as conn:
        places = all_places(conn)
    assert [p.code for p in places] == [
        "500102000000", "500102003000", "500102003001", "500102003001001", "500102003002"
    ]  # fmt: skip
    assert [p.level for p in places] == ["county", "township", "village", "grid", "village"]
    village_names = [v["name"] for v in jurisdiction_tree(engine)[0]["children"][0]["children"]]
    assert village_names == ["上河村", "下河村"]  # by code, though the file listed 下河村 first
    again = _run(engine, lambda conn, a: import_places(conn, a, TREE_CSV.encode("gb18030")))
    assert (again.added, again.skipped) == (0, 5)


def test_an_import_with_errors_writes_nothing_and_names_every_bad_row(engine):
    bad = (
        "500102000000,东山县,\n"
        "500102003000,河口镇,500102000000\n"
        "50010200300A,坏代码村,500102003000\n"  # row 3: not digits
        "500102003001,上河村,599999999999\n"  # row 4: unknown parent
        "500109003003,别县的村,500102003000\n"  # row 5: not under its parent's code
        "500102003004001,无村的网格,500102003000\n"  # row 6: a grid under a township
    )
    with pytest.raises(InvalidData) as refused:
        _run(engine, lambda conn, a: import_places(conn, a, bad.encode()))
    assert [e["row"] for e in refused.value.errors] == [3, 4, 5, 6]
    assert "未导入任何一行" in refused.value.message
    with engine.connect() as conn:
        assert all_places(conn) == []


@pytest.mark.parametrize(
    ("code", "parent", "message"),
    [
        ("5001010010", "500101001", "12位"),  # a village code of the wrong width
        ("500101002001", "500101001", "前9位"),  # a village of another township
        ("500101001001", "500101001", "已存在"),  # taken
        ("500101001009001", "500101001", "12位"),  # a grid directly under a township
    ],
)
def test_a_place_that_does_not_fit_is_refused_with_the_reason(engine, town, code, parent, message):
    with pytest.raises((InvalidData, Conflict)) as refused:
        _run(engine, lambda conn, a: changes.add_place(conn, a, code=code, name="新村", parent_code=parent))
    text = refused.value.message + "".join(e["message"] for e in getattr(refused.value, "errors", []))
    assert message in text


def test_only_an_administrator_changes_the_tree(engine, town):
    with pytest.raises(PermissionDenied):
        administer(
            engine, town["supervisor"], lambda conn, a: changes.rename_place(conn, a, code="500101001", name="x")
        )


def test_rename_move_and_retire_keep_the_cases_and_log_each_change(engine, town):
    case_id = register(engine, town, "grid_worker")  # registered in grid 0 of village 0
    village0, village1 = town.places.villages[0], town.places.villages[1]
    grid0 = town.places.grids[0]
    _run(engine, lambda conn, a: changes.rename_place(conn, a, code=village0.code, name="龙井社区"))
    _run(engine, lambda conn, a: changes.move_place(conn, a, code=grid0.code, parent_code=village1.code))
    with engine.connect() as conn:
        moved = get_by_code(conn, grid0.code)
        case_path = conn.execute(select(CASES.c.jurisdiction_path).where(CASES.c.id == case_id)).scalar()
        assert moved.parent_id == village1.id and moved.path == f"{village1.path}{grid0.id}/"
        assert case_path == moved.path  # the case went with its grid: counted in village 1 now
        assert get_by_code(conn, village0.code).name == "龙井社区"
    with pytest.raises(Conflict):  # a village with grids and accounts is not retired under them
        _run(engine, lambda conn, a: changes.retire_place(conn, a, code=village1.code))
    spare = _run(
        engine, lambda conn, a: changes.add_place(conn, a, code="500101001099", name="新村", parent_code="500101001")
    )
    _run(engine, lambda conn, a: changes.retire_place(conn, a, code=spare.code))
    with engine.connect() as conn:
        assert not get_by_code(conn, spare.code).active
        logged = [(c["action"], c["target"]) for c in recent_changes(conn)]
    assert logged[:4] == [
        ("place_retire", spare.code),
        ("place_add", spare.code),
        ("place_move", grid0.code),
        ("place_rename", village0.code),
    ]
    assert spare.code not in {code for code, _, _ in registration_options(engine, town["supervisor"]).places}
    with pytest.raises(InvalidData) as refused:
        register(engine, town, "supervisor", jurisdiction_code=spare.code)
    assert "已撤销" in refused.value.errors[0]["message"]


def test_a_place_cannot_move_under_its_own_subtree_or_to_the_wrong_level(engine, town):
    village0 = town.places.villages[0]
    with pytest.raises(InvalidData):
        _run(
            engine,
            lambda conn, a: changes.move_place(conn, a, code=village0.code, parent_code=town.places.grids[0].code),
        )
    with pytest.raises(InvalidData):
        _run(
            engine, lambda conn, a: changes.move_place(conn, a, code=village0.code, parent_code=town.places.county.code)
        )


def test_reference_data_edited_keeps_old_cases_labels_and_offers_only_the_current_items(engine, town):
    from factories import drive, happy_path

    from mediation_flow.cases.views import case_page
    from mediation_flow.places import reference_changes as reference
    from mediation_flow.places.reference import load_reference

    case_id = register(engine, town, "grid_worker")
    drive(engine, case_id, town["mediator"], happy_path()[:2])  # mediation at 清风茶室 (qingfeng_teahouse)
    new = _run(engine, lambda conn, a: reference.replace_item(conn, a, kind="venue", code="qingfeng_teahouse",
                                                             label="清风茶舍"))  # fmt: skip
    added = _run(engine, lambda conn, a: reference.add_item(conn, a, kind="venue", label="和美调解室"))
    page = case_page(engine, town["supervisor"], case_id)
    assert page.labels["venue"] == "清风茶室"  # the name it had when the case was mediated there
    with engine.connect() as conn:
        offered = load_reference(conn)["venue"]
    assert (
        "qingfeng_teahouse" not in offered and offered[new.code] == "清风茶舍" and offered[added.code] == "和美调解室"
    )
    with pytest.raises(Conflict):
        _run(engine, lambda conn, a: reference.add_item(conn, a, kind="venue", label="和美调解室"))
    with pytest.raises(InvalidData):  # sources are named by the figure definitions: not editable
        _run(engine, lambda conn, a: reference.add_item(conn, a, kind="source", label="新来源"))
    with engine.connect() as conn:
        logged = [(c["action"], c["target"]) for c in recent_changes(conn)]
    assert logged[:2] == [("reference_add", f"venue:{added.code}"), ("reference_replace", "venue:qingfeng_teahouse")]
    assert ("reference_retire", "venue:qingfeng_teahouse") not in logged  # a replacement is one line, not three
    assert ("reference_add", f"venue:{new.code}") not in logged


def test_a_change_that_changes_nothing_is_not_logged(engine, town):
    """The same name again, a move to where it is, restoring what is in use, enabling an enabled account, the
    same role and place, a reference item's own name: nothing is written and the change log gets no line (the
    admin's 最近操作 showed 辖区更名 改为「更新村」 for a place of that name, walk-through)."""
    from mediation_flow.accounts import management
    from mediation_flow.places import reference_changes as reference
    from mediation_flow.vocabulary import Role

    village, grid = town.places.villages[0], town.places.grids[0]
    mediator = management.get_account
    with engine.connect() as conn:
        before = recent_changes(conn)
        account = mediator(conn, "mediator")
    unchanged = [
        lambda conn, a: changes.rename_place(conn, a, code=village.code, name=village.name),
        lambda conn, a: changes.move_place(conn, a, code=grid.code, parent_code=village.code),
        lambda conn, a: changes.restore_place(conn, a, code=village.code),
        lambda conn, a: management.set_active(conn, a, username="mediator", active=True),
        lambda conn, a: management.rename_account(conn, a, username="mediator", display_name=account.display_name),
        lambda conn, a: management.change_placement(
            conn, a, username="mediator", role=Role(account.role), jurisdiction_code=account.jurisdiction_code
        ),
        lambda conn, a: reference.set_item_active(conn, a, kind="venue", code="qingfeng_teahouse", active=True),
        lambda conn, a: reference.replace_item(conn, a, kind="venue", code="qingfeng_teahouse", label="清风茶室"),
    ]
    for change in unchanged:
        _run(engine, change)
    with engine.connect() as conn:
        assert recent_changes(conn) == before
        assert mediator(conn, "mediator") == account
        assert reference.get_item(conn, "venue", "qingfeng_teahouse").active
    _run(engine, lambda conn, a: changes.rename_place(conn, a, code=village.code, name="龙井社区"))
    with engine.connect() as conn:
        assert recent_changes(conn)[0]["action"] == "place_rename"  # a real change still is
