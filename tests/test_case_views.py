"""The core's case views on both back ends: one masking decision (the policy's) shared by the API view, the
page view and the printouts; the page and the API show parties masked to every role unless full identity is
asked for (最小必要, issue 15), which only the policy's roles may, and which is logged under its channel; a masked
view is never logged; lists carry no parties; the supervisor's queue follows the policy table for every role."""

from __future__ import annotations

import io
import zipfile

import pytest
from factories import AGENCY_OF, USERS, drive, register
from sqlalchemy import Engine, select

from mediation_flow.accounts.policy import Permission, allows, roles_with
from mediation_flow.cases.lists import search
from mediation_flow.cases.printouts import printout
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.queues import read_queue
from mediation_flow.cases.supervision import supervision_page
from mediation_flow.cases.views import case_page, case_view, revealed_parties
from mediation_flow.errors import CaseNotFound, PermissionDenied
from mediation_flow.store.config import get_settings
from mediation_flow.store.models import AccessLog

FULL_ID, MASKED_ID = "11010519491231002X", "1101**********002X"
FULL_PHONE, MASKED_PHONE = "13812345678", "138****5678"
LOG = AccessLog.__table__


def _log(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(r.user_id, r.detail) for r in conn.execute(select(LOG.c.user_id, LOG.c.detail).order_by(LOG.c.id))]


@pytest.fixture
def case_id(engine: Engine, town, tmp_path, monkeypatch) -> int:
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    return register(engine, town, "grid_worker")


@pytest.mark.parametrize("name", sorted(USERS))
def test_every_channel_masks_alike_and_logs_each_full_view(engine, town, case_id, name):
    actor = town[name]
    if name.startswith("other_") or actor.is_agency_user:  # outside, or not handed to its agency: hidden
        for build in (
            lambda: case_view(engine, actor, case_id, channel="api"),
            lambda: case_view(engine, actor, case_id),
            lambda: case_page(engine, actor, case_id),
            lambda: revealed_parties(engine, actor, case_id),
        ):
            with pytest.raises(CaseNotFound):
                build()
        assert _log(engine) == []
        if name.startswith("other_"):
            return
        # referred to the user's agency: seen, masked as a grid worker sees it
        agency = town.places.agencies[AGENCY_OF[name]]
        refer = {"target": agency.kind, "agency": agency.code, "reason": "移送"}
        drive(engine, case_id, town["supervisor"], [("refer", refer)])
    full = allows(actor, Permission.SEE_FULL_IDENTITY)
    for default in (case_view(engine, actor, case_id).parties[0], case_page(engine, actor, case_id).parties[0]):
        assert (default.id_number, default.phone, default.full) == (MASKED_ID, MASKED_PHONE, False)
    assert case_page(engine, actor, case_id).may_reveal == full
    assert _log(engine) == []  # the default views write nothing, whoever looks
    if full:
        api = case_view(engine, actor, case_id, channel="api").parties[0]
        page = revealed_parties(engine, actor, case_id)[0]
    else:
        with pytest.raises(PermissionDenied):
            case_view(engine, actor, case_id, channel="api")
        with pytest.raises(PermissionDenied):
            revealed_parties(engine, actor, case_id)
        api = page = case_view(engine, actor, case_id).parties[0]
    content, filename = printout(engine, actor, case_id, "registration")
    with zipfile.ZipFile(io.BytesIO(content)) as docx:
        document = docx.read("word/document.xml").decode()
    assert filename.startswith("受理登记表") and filename.endswith(".docx")
    for shown in ((api.id_number, api.phone), (page.id_number, page.phone)):
        assert shown == ((FULL_ID, FULL_PHONE) if full else (MASKED_ID, MASKED_PHONE))
    assert (FULL_ID in document, MASKED_ID in document) == (full, not full)
    expected = ["api：身份证号1个，电话1个", "page：身份证号1个，电话1个", "print:registration：身份证号1个，电话1个"]
    assert _log(engine) == ([(actor.id, d) for d in expected] if full else [])


def test_a_view_without_channel_masks_for_everyone_and_logs_nothing(engine, town, case_id):
    view = case_view(engine, town["supervisor"], case_id, channel=None)
    assert (view.parties[0].id_number, view.parties[0].phone) == (MASKED_ID, MASKED_PHONE)
    assert view.as_api()["parties"][0]["id_number"] == MASKED_ID
    assert _log(engine) == []


def test_a_full_view_asked_twice_is_logged_once_and_free_text_follows_the_view(engine, town, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    summary = f"申请人电话{FULL_PHONE}，身份证{FULL_ID}。"
    case_id = register(engine, town, "grid_worker", summary=summary)
    mediator = town["mediator"]
    masked = case_view(engine, mediator, case_id)
    assert FULL_PHONE not in masked.case["summary"] and MASKED_PHONE in masked.case["summary"]
    assert FULL_ID not in case_page(engine, mediator, case_id).case["summary"]  # as the masked card shows
    assert _log(engine) == []
    for _ in range(2):  # a second look within DEDUP: still one row per channel
        assert revealed_parties(engine, mediator, case_id)[0].id_number == FULL_ID
        assert case_view(engine, mediator, case_id, channel="api").case["summary"] == summary
    assert _log(engine) == [(mediator.id, "page：身份证号1个，电话1个"), (mediator.id, "api：身份证号1个，电话1个")]


def test_lists_carry_no_parties(engine, town, case_id):
    found = search(engine, town["supervisor"], q=None, state=None, page=1, page_size=30)
    assert [i.id for i in found.items] == [case_id]
    assert not hasattr(found.items[0], "parties") and found.items[0].state_label == "已登记"


@pytest.mark.parametrize("name", sorted(USERS))
def test_the_queue_api_and_page_follow_one_policy_row(engine, town, case_id, name):
    actor = town[name]
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
    allowed = actor.role in roles_with(Permission.SUPERVISION_QUEUE)
    for read in (
        lambda: read_queue(engine, actor, "due_soon"),
        lambda: supervision_page(engine, actor, CaseFilters(open_only=True), sort="risk", rows=50),
    ):
        if allowed:
            read()
        else:
            with pytest.raises(PermissionDenied):
                read()
