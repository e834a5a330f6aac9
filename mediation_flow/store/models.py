"""Tables. Rows are plain data; the engine and the services change them, in one place each."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from mediation_flow.store.clock import utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")

if TYPE_CHECKING:

    class _Table(SQLModel):
        """What SQLModel adds to every ``table=True`` class at run time, spelled out for the type checker."""

        __table__: ClassVar[Table]

else:
    _Table = SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every back end (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, straight to the text SQLite's DATETIME stores ('2024-03-04 08:00:00.000000', UTC):
        the same string as ``process_bind_param`` followed by the dialect's own formatting, at a third
        of the cost (it runs for every timestamp the engine writes)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use aware UTC datetimes")
            return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]  # less its "+00:00"

        return process

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Jurisdiction(_Table, table=True):
    """County → township → village → grid. ``path`` ('/1/4/9/') makes subtree queries one LIKE."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=64)
    short_name: str = Field(default="", max_length=16)
    level: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="jurisdiction.id", index=True)
    path: str = Field(default="", max_length=255, index=True)
    # Retired (撤销): kept for the cases registered there, offered for nothing new (migration 0011).
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true")))


class Agency(_Table, table=True):
    """A partner agency of 三调对接 (派出所, 人民法庭, 信访部门): it serves the subtree of ``jurisdiction_id``;
    its referral numbers match ``reference_pattern`` (a regex; empty: any), shown by ``reference_example``."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)
    jurisdiction_id: int = Field(foreign_key="jurisdiction.id", index=True)
    reference_pattern: str = Field(default="", max_length=255)
    reference_example: str = Field(default="", max_length=64)
    active: bool = True


class User(_Table, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    jurisdiction_id: int | None = Field(default=None, foreign_key="jurisdiction.id")
    agency_id: int | None = Field(default=None, foreign_key="agency.id")  # the three agency roles only
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, default=utcnow)
    )
    # A temporary password (set by an administrator, or a demo default): changed at the next sign-in.
    must_change_password: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )


class AdminLog(_Table, table=True):
    """Every change an administrator makes to jurisdictions, accounts and reference data (who, what, when)."""

    __tablename__ = "admin_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    action: str = Field(max_length=32)
    target: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class ReferenceItem(_Table, table=True):
    """Categories, sources, risk grades, venues, referral targets: data, loaded from reference.yaml."""

    __tablename__ = "reference_item"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    code: str = Field(max_length=32)
    label: str = Field(max_length=64)
    ordinal: int = 0
    active: bool = True
    jurisdiction_id: int | None = Field(default=None, foreign_key="jurisdiction.id")


class WorkflowVersion(_Table, table=True):
    """Every version of every workflow file ever loaded; cases stay pinned to theirs."""

    __tablename__ = "workflow_version"
    __table_args__ = (UniqueConstraint("name", "version"), UniqueConstraint("name", "content_hash"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int
    content_hash: str = Field(max_length=64)
    definition: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    loaded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, default=utcnow))


class CaseCounter(_Table, table=True):
    """The last case number issued per township and year; bumped inside the intake transaction."""

    __tablename__ = "case_counter"

    township_id: int = Field(foreign_key="jurisdiction.id", primary_key=True)
    year: int = Field(primary_key=True)
    last: int = 0


class CaseCount(_Table, table=True):
    """How many cases stand in each (state, place, level, due date): kept by database triggers on
    ``dispute_case`` in the same transaction as every write to a case (migration 0016), so a count of a
    subtree's open or overdue cases sums a few rows instead of counting case index entries. A case without a
    running deadline counts under ``NO_DUE`` (store.counters)."""

    __tablename__ = "case_count"
    # The header's deadline notices (store.counters.latest_due): the latest due dates first, stopped once the
    # inbox's limit is counted. Without ``n``: the triggers' updates of a count leave the index alone.
    __table_args__ = (Index("ix_case_count_due", "due_date", "jurisdiction_id", "state"),)

    state: str = Field(max_length=32, primary_key=True)
    jurisdiction_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    level: str = Field(max_length=16, primary_key=True)
    due_date: date = Field(primary_key=True)
    n: int


class FigureQueue(_Table, table=True):
    """A case whose contributions to the year figures must be counted again: added by database triggers on every
    event written and on a change of the case's counted facts (migration 0019), removed once counted
    (store.year_sums)."""

    __tablename__ = "figure_queue"
    __table_args__ = (Index("ix_figure_queue_case", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int


class CaseFigure(_Table, table=True):
    """What one case contributes to one year's figure under one key (a month, a category, a level, a path; ''
    for none): ``n`` cases (0 or 1) or events; ``path`` is the case's place when counted (store.year_sums)."""

    __tablename__ = "case_figure"

    case_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    figure: str = Field(max_length=48, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    path: str = Field(max_length=255)
    n: int


class PlaceFigure(_Table, table=True):
    """The contributions of the cases of one place added up per year, figure and key (store.year_sums)."""

    __tablename__ = "place_figure"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    path: str = Field(max_length=255, primary_key=True)
    figure: str = Field(max_length=48, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    n: int


class FigureState(_Table, table=True):
    """One row: the rules the kept contributions were counted by, and the latest recorded time of the events
    counted (store.year_sums)."""

    __tablename__ = "figure_state"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    rules: str = Field(max_length=64)
    recorded_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class KeptPart(_Table, table=True):
    """An answer about one part of a whole (a report's tally of a place's year), with the mark of the part's data
    it was worked out under and the rules it was worked out by (store.kept_parts)."""

    __tablename__ = "kept_part"

    kind: str = Field(max_length=32, primary_key=True)
    key: str = Field(max_length=300, primary_key=True)
    rules: str = Field(max_length=64)
    mark: int = Field(sa_column=Column(BigInteger(), nullable=False))
    body: str = Field(sa_column=Column(Text(), nullable=False))


class ChangeStamp(_Table, table=True):
    """A topic of slowly changing data (the reference book: reference items, agencies, places) and a random stamp
    its tables' triggers renew at every change (store.unchanged: answers kept while the stamp stands)."""

    __tablename__ = "change_stamp"

    topic: str = Field(max_length=32, primary_key=True)
    stamp: str = Field(max_length=32)


class Case(_Table, table=True):
    __tablename__ = "dispute_case"
    __table_args__ = (
        UniqueConstraint("township_id", "year", "seq"),
        Index("ix_case_state_due", "state", "due_date"),
        Index("ix_case_jurisdiction_path", "jurisdiction_path"),
        # The supervisor queues (mediation_flow.cases.queues): range on due_date, filters read from the index.
        Index("ix_case_queue", "due_date", "risk_grade", "jurisdiction_path", "level", "source", "mediator_id"),
        # The filtered case list (cases.queries): state, then the subtree as a range (places.subtree);
        # the other filters' columns after them, so a filtered count reads the index alone (migration 0007).
        Index(
            "ix_case_state_path",
            "state",
            "jurisdiction_path",
            "registered_at",
            "category",
            "source",
            "risk_grade",
            "level",
            "due_date",
            "mediator_id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    township_id: int = Field(foreign_key="jurisdiction.id")
    year: int
    seq: int
    title: str = Field(max_length=200)
    category: str = Field(max_length=32, index=True)
    source: str = Field(max_length=32, index=True)
    risk_grade: str = Field(max_length=16, index=True)
    jurisdiction_id: int = Field(foreign_key="jurisdiction.id", index=True)
    jurisdiction_path: str = Field(max_length=255)
    level: str = Field(max_length=16)
    venue: str | None = Field(default=None, max_length=32)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    amount_fen: int | None = None
    people_involved: int = 2
    mediator_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", index=True)  # registrant notices
    # 三调对接: the partner agency of the case's current handoff (out or in) and where it stands (vocabulary.Handoff);
    # set only by step effects, so every path that moves a case sets them alike.
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    handoff: str | None = Field(default=None, max_length=16)
    workflow_name: str = Field(max_length=64)
    workflow_version: int
    state: str = Field(max_length=32)
    version: int = 0
    due_date: date | None = None
    clocks: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # where and when the dispute happened, and the registrant's 风险提示 ticks as facts (migration 0015)
    incident_place: str | None = Field(default=None, max_length=200)
    occurred_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    risk_hints: list[str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    registered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, default=utcnow)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, default=utcnow)
    )


class Party(_Table, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="dispute_case.id", index=True)
    role: str = Field(max_length=16)
    kind: str = Field(default="person", max_length=16)
    name: str = Field(max_length=100)
    id_number: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=200)
    # 性别 (vocabulary.Gender), 民族 (vocabulary.ETHNIC_GROUPS), 出生日期 or 年龄 (migration 0015)
    gender: str | None = Field(default=None, max_length=8)
    ethnicity: str | None = Field(default=None, max_length=16)
    birth_date: date | None = None
    age: int | None = None


class CaseEvent(_Table, table=True):
    """Append-only (a database trigger refuses UPDATE and DELETE on both back ends)."""

    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        Index("ix_case_event_trigger_effective", "trigger", "effective_at"),
        # A case's events in a period (the annual report starts from the subtree's cases; migration 0008).
        Index("ix_case_event_case_effective", "case_id", "effective_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="dispute_case.id")
    seq: int
    trigger: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")  # who acted (the timeline, the report)
    effective_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # who typed it in, when not the person who acted (a clerk entering the paper ledger; migration 0011)
    recorded_by: int | None = Field(default=None, foreign_key="app_user.id")
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class LoginAttempt(_Table, table=True):
    """One sign-in attempt (API token or login page); recent failures lock an account or an address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    succeeded: bool = False
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AccessLog(_Table, table=True):
    """Who saw personal data in full (e.g. a party's whole ID number on the case page), and when."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_case_at", "case_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="dispute_case.id")
    action: str = Field(max_length=32)
    detail: str = Field(default="", max_length=255)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class NoticeSeen(_Table, table=True):
    """When a user last opened the notifications inbox; notices after this moment count as unread."""

    __tablename__ = "notice_seen"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class UserSession(_Table, table=True):
    """A signed-in browser session: the cookie carries a random id, the row its SHA-256. Signing out deletes
    the row, so the cookie (or a copy of it) stops working on the server, not only in the browser."""

    __tablename__ = "user_session"

    id: str = Field(max_length=64, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IntakeKey(_Table, table=True):
    """An ``Idempotency-Key`` a user sent with a registration: accepted once per user; the case it made and a
    digest of the request it came with (the same key with another body is refused). Migration 0012."""

    __tablename__ = "intake_key"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    request_digest: str = Field(max_length=64)
    case_id: int | None = Field(default=None, foreign_key="dispute_case.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PartyKey(_Table, table=True):
    """A party's normalised identity keys (``id``: a check-digit-valid ID number; ``phone``: digits only;
    ``name``: the name, matched within the same village), so matching and search never scan raw numbers."""

    __tablename__ = "party_key"
    __table_args__ = (
        # matching: (kind, value, village) and the date range; the people search by name: the whole entry,
        # its case and place included, so its count and page read the index alone (cases.queries.name_page)
        Index("ix_party_key_lookup", "kind", "value", "village_id", "registered_at", "case_id", "jurisdiction_path"),
        Index("ix_party_key_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="dispute_case.id")
    party_id: int = Field(foreign_key="party.id")
    kind: str = Field(max_length=8)
    value: str = Field(max_length=100)
    village_id: int | None = Field(default=None, foreign_key="jurisdiction.id")
    jurisdiction_path: str = Field(max_length=255)
    registered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PartyLink(_Table, table=True):
    """A supervisor's decision on a suggested link between two cases' parties (关联纠纷): confirmed or
    dismissed. Rows are only added (the newest decision for a pair counts): the table is its own audit trail."""

    __tablename__ = "party_link"
    __table_args__ = (Index("ix_party_link_pair", "case_id", "other_case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="dispute_case.id")
    other_case_id: int = Field(foreign_key="dispute_case.id")
    decision: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    note: str = Field(default="", max_length=200)


class NoticeHandled(_Table, table=True):
    """A notice a user marked handled (已处理), one by one: the case, the kind and the notice's moment."""

    __tablename__ = "notice_handled"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    case_id: int = Field(foreign_key="dispute_case.id", primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    handled_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
