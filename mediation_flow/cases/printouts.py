"""Print-ready Word files of a case for signatures and the paper file (一案一卷): 受理登记表, 权利义务告知书,
不予受理告知书, 调解笔录, 调解协议书 (人民调解法 Art. 29; 《人民调解工作若干规定》Art. 35), 回访记录 and
移送函 — each filled into a template a township can edit in Word (``documents.render``: its own copy in the
data folder wins over the default). A printout shows the record as corrected (更正): the case row and parties
carry corrected facts, and each step's corrected time and agreed amount are applied (``corrections.as_recorded``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from mediation_flow.accounts.policy import Actor, may_see_full_identity
from mediation_flow.cases import printout_data
from mediation_flow.cases.corrections import as_recorded
from mediation_flow.cases.printout_forms import FORMS, applies
from mediation_flow.cases.queries import case_events, get_case_row
from mediation_flow.cases.views import free_text_as_shown, letter_kind, log_full_views, read_parties
from mediation_flow.documents.render import render
from mediation_flow.errors import NotFound
from mediation_flow.store.config import get_settings
from mediation_flow.store.reads import reads

Filler = Callable[[Connection, dict[str, Any], list[dict[str, Any]]], dict[str, Any]]
FILLERS: dict[str, Filler] = {
    "registration": printout_data.registration,
    "rights": printout_data.rights,
    "refusal": printout_data.refusal,
    "record": printout_data.session_record,
    "agreement": printout_data.agreement,
    "visit": printout_data.follow_up,
    "referral": printout_data.referral,
}


def printout(engine: Engine, actor: Actor, case_id: int, form_name: str) -> tuple[bytes, str]:
    """The .docx of ``form_name`` (a key of ``FORMS``) and its file name; parties shown as the policy lets
    ``actor`` see them, a full view logged under ``print:<form>``. CaseNotFound outside the user's subtree
    (before NotFound for an unknown form, so a hidden case stays hidden); NotFound, with the reason, for a
    printout the case does not have yet; PrintTemplateInvalid for a township template that cannot be filled."""
    with reads(engine) as conn:
        row = get_case_row(conn, actor, case_id)
        form = FORMS.get(form_name)
        if form is None:
            raise NotFound("页面不存在")
        events = case_events(conn, case_id)
        if not applies(form, {e["trigger"] for e in events}):
            raise NotFound(form.missing)
        events = as_recorded(row, events)[1]  # corrected step times and agreed amounts (更正), as the page shows
        row, events = free_text_as_shown(row, events, full=may_see_full_identity(actor))
        parties = read_parties(conn, actor, case_id, shown=True, births=True)
        context = {**printout_data.base(conn, row, parties), **FILLERS[form_name](conn, row, events)}
    content = render(form.name, context, data_dir=get_settings().data_dir)
    log_full_views(engine, actor, case_id, parties, f"print:{form_name}")
    name = letter_kind(events) if form_name == "referral" else form.name
    return content, f"{name}{row['number']}.docx"
