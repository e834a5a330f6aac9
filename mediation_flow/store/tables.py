"""The tables as SQLAlchemy Core objects, named once: the queries use these, never ``Model.__table__``."""

from __future__ import annotations

from sqlalchemy import Table

from mediation_flow.store.models import (
    AccessLog,
    AdminLog,
    Agency,
    Case,
    CaseCount,
    CaseCounter,
    CaseEvent,
    CaseFigure,
    ChangeStamp,
    FigureQueue,
    FigureState,
    IntakeKey,
    Jurisdiction,
    KeptPart,
    LoginAttempt,
    NoticeHandled,
    NoticeSeen,
    Party,
    PartyKey,
    PartyLink,
    PlaceFigure,
    ReferenceItem,
    User,
    UserSession,
    WorkflowVersion,
)

JURISDICTIONS: Table = Jurisdiction.__table__
USERS: Table = User.__table__
AGENCIES: Table = Agency.__table__
REFERENCE_ITEMS: Table = ReferenceItem.__table__
WORKFLOW_VERSIONS: Table = WorkflowVersion.__table__
COUNTERS: Table = CaseCounter.__table__
CASES: Table = Case.__table__
CASE_COUNTS: Table = CaseCount.__table__
PARTIES: Table = Party.__table__
EVENTS: Table = CaseEvent.__table__
LOGIN_ATTEMPTS: Table = LoginAttempt.__table__
ACCESS_LOG: Table = AccessLog.__table__
NOTICES_SEEN: Table = NoticeSeen.__table__
SESSIONS: Table = UserSession.__table__
INTAKE_KEYS: Table = IntakeKey.__table__
PARTY_KEYS: Table = PartyKey.__table__
PARTY_LINKS: Table = PartyLink.__table__
NOTICES_HANDLED: Table = NoticeHandled.__table__
ADMIN_LOG: Table = AdminLog.__table__
FIGURE_QUEUE: Table = FigureQueue.__table__
CASE_FIGURES: Table = CaseFigure.__table__
PLACE_FIGURES: Table = PlaceFigure.__table__
FIGURE_STATE: Table = FigureState.__table__
KEPT_PARTS: Table = KeptPart.__table__
CHANGE_STAMPS: Table = ChangeStamp.__table__
