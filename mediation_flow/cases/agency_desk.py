"""对接工作台: a partner agency user's home page — the inbox (``handoffs.agency_inbox``), the unread notices
(a referral's notice arrives the moment it is made), the next step on each incoming referral (签收 / 退回
until signed for, then 反馈), and the path the agency hands a dispute to the township by (警情 → 警调,
诉前委派/委托, 信访转办)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.engine import available_triggers
from mediation_flow.cases.handoffs import AgencyInbox, agency_inbox
from mediation_flow.cases.intake_paths import DEFAULT_WORKFLOW, SOURCE_WORKFLOWS
from mediation_flow.cases.notices import Notice, notices
from mediation_flow.display.labels import label
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.reads import reads
from mediation_flow.workflow.registry import REGISTRY

# Which of the agency's triggers fit where the handoff stands (the workflow's guards decide in the end).
NEXT_STEPS = {"sent": ("acknowledge", "return_referral"), "acknowledged": ("agency_feedback",)}
REFERRED = "referred"


@dataclass
class AgencyDesk:
    inbox: AgencyInbox
    notices: list[Notice]
    refer_source: str  # the 案件来源 the agency registers under (its own path)
    refer_label: str
    actions: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # incoming case id → (trigger, label)


def agency_desk(engine: Engine, actor: Actor) -> AgencyDesk:
    """The agency user's home: their inbox, unread notices and the actions each incoming referral awaits."""
    require(actor, Permission.AGENCY_INBOX)
    now = clock.utcnow()
    with reads(engine) as conn:
        inbox = agency_inbox(conn, actor, today=clock.local_date(now))
        unread = [
            n for n in notices(conn, actor, now=now, due_soon_days=get_settings().due_soon_working_days) if n.unread
        ]
        base = REGISTRY.current(conn, DEFAULT_WORKFLOW)
    offered = {o.trigger: o.label for o in available_triggers(base, REFERRED, actor)}
    actions = {
        item.id: [(t, offered[t]) for t in NEXT_STEPS.get(item.handoff or "", ()) if t in offered]
        for item in inbox.incoming
    }
    source = inbox.agency_kind if inbox.agency_kind in SOURCE_WORKFLOWS else ""
    action = f"{label('agency_refer', source)}（{label('agency_refer_detail', source)}）" if source else "移交纠纷"
    return AgencyDesk(inbox, unread[:10], source, action, actions)
