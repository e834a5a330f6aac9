"""Who may see and do what: one place decides, by role and jurisdiction subtree.

Every check the API, the pages, the printouts, the exports and the CLI make is a function here; the role
half of each is one row of :data:`PERMISSIONS`, which the route matrix test (tests/test_security_routes.py)
reads to know what each role should get. The jurisdiction half always goes through ``places.subtree``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from mediation_flow.errors import PermissionDenied
from mediation_flow.places.subtree import within
from mediation_flow.vocabulary import AGENCY_ROLES, Role


@dataclass(frozen=True)
class Actor:
    """The signed-in user as the core sees it. ``scope_path`` None means the whole system (admin)."""

    id: int | None
    username: str
    role: Role
    scope_path: str | None
    display_name: str = ""
    jurisdiction_id: int | None = None
    agency_id: int | None = None  # the partner agency of a user of the three agency roles
    agency_name: str = ""  # that agency's name (青龙派出所): whom they work for, beside their name
    must_change_password: bool = False  # signed in with a temporary password: only /account until changed

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_agency_user(self) -> bool:
        """A user of a partner agency (派出所, 人民法庭, 信访部门): sees only the cases handed to or by it."""
        return self.role in AGENCY_ROLES


SYSTEM = Actor(id=None, username="system", role=Role.SUPERVISOR, scope_path=None, display_name="系统")
#: Whoever runs ``mediation-flow`` on the server: an administrator of the whole system (the change log says so).
CONSOLE = Actor(id=None, username="console", role=Role.ADMIN, scope_path=None, display_name="命令行")


class Permission(StrEnum):
    """What a role may do anywhere in its jurisdiction subtree (cases outside it are never shown)."""

    READ_CASES = "read_cases"
    REGISTER = "register"
    SEE_FULL_IDENTITY = "see_full_identity"
    BACKDATE = "backdate"
    RECORD_FOR_OTHERS = "record_for_others"
    UPLOAD_ATTACHMENT = "upload_attachment"
    HANDLE_CASES = "handle_cases"
    OWN_CASE_LIST = "own_case_list"
    SUPERVISION_QUEUE = "supervision_queue"
    DEADLINE_NOTICES = "deadline_notices"
    READ_REPORTS = "read_reports"
    IMPORT_LEDGER = "import_ledger"
    READ_ACCESS_LOG = "read_access_log"
    ADMINISTER = "administer"
    AGENCY_INBOX = "agency_inbox"
    REFERRED_OUT_QUEUE = "referred_out_queue"
    DECIDE_LINKS = "decide_links"
    SUSPENDED_QUEUE = "suspended_queue"


_EVERYONE = frozenset(Role)
_AGENCIES = frozenset(AGENCY_ROLES)
#: The role half of every permission, and the Chinese answer given to a role without it.
PERMISSIONS: dict[Permission, tuple[frozenset[Role], str]] = {
    Permission.READ_CASES: (_EVERYONE, "您的角色无权查看案件"),
    Permission.REGISTER: (
        frozenset({Role.GRID_WORKER, Role.MEDIATOR, Role.SUPERVISOR, Role.CLERK}) | _AGENCIES,
        "您的角色无权登记纠纷",
    ),
    # full ID numbers, phones and addresses when asked for on the case page and in the API (查看完整信息), and on
    # printouts and ID copies: those who mediate and supervise
    Permission.SEE_FULL_IDENTITY: (
        frozenset({Role.MEDIATOR, Role.SUPERVISOR}),
        "完整的证件号码、联系电话、住址和身份证明复印件仅调解员和司法所人员可以查看",
    ),
    # 补录: an effective time in the past (a clerk's within limits: see ``earliest_backdate``)
    Permission.BACKDATE: (
        frozenset({Role.SUPERVISOR, Role.ADMIN, Role.CLERK}),
        "只有司法所（督办）人员和录入员可以补录",
    ),
    # 代录: a step recorded for the person who acted (the mediator named on the paper ledger); the event keeps both
    Permission.RECORD_FOR_OTHERS: (
        frozenset({Role.SUPERVISOR, Role.CLERK}),
        "只有司法所（督办）人员和录入员可以代他人录入",
    ),
    Permission.UPLOAD_ATTACHMENT: (
        frozenset({Role.GRID_WORKER, Role.MEDIATOR, Role.SUPERVISOR}),
        "您的角色无权上传附件",
    ),
    # may be assigned a case (assign's user field offers them)
    Permission.HANDLE_CASES: (frozenset({Role.MEDIATOR, Role.SUPERVISOR}), "您的角色不能承办案件"),
    # 我的案件: the cases assigned to oneself
    Permission.OWN_CASE_LIST: (frozenset({Role.MEDIATOR, Role.SUPERVISOR}), "您的角色无权访问此页面"),
    # 督办队列: overdue, due soon and escalated cases of the whole subtree; mediators have 我的案件
    Permission.SUPERVISION_QUEUE: (
        frozenset({Role.SUPERVISOR, Role.ADMIN}),
        "督办队列仅供司法所（督办）人员和管理员查看",
    ),
    # 查看中止案件: a supervisor's subtree, a mediator's own cases (``own_cases_only``)
    Permission.SUSPENDED_QUEUE: (
        frozenset({Role.MEDIATOR, Role.SUPERVISOR}),
        "中止案件列表仅供调解员和司法所（督办）人员查看",
    ),
    Permission.DEADLINE_NOTICES: (frozenset({Role.MEDIATOR, Role.SUPERVISOR, Role.ADMIN}), "您的角色不接收期限提醒"),
    Permission.READ_REPORTS: (
        frozenset({Role.SUPERVISOR, Role.ADMIN}),
        "您的角色无权查看统计报告（仅司法所（督办）人员和管理员）",
    ),
    Permission.IMPORT_LEDGER: (frozenset({Role.SUPERVISOR}), "只有司法所（督办）人员可以导入台账"),
    Permission.READ_ACCESS_LOG: (
        frozenset({Role.SUPERVISOR, Role.ADMIN}),
        "只有司法所（督办）人员和管理员可以查看个人信息查阅记录",
    ),
    Permission.ADMINISTER: (frozenset({Role.ADMIN}), "您的角色无权访问此页面"),
    # 对接单位收件箱: the referrals to one's agency and the cases it sent in
    Permission.AGENCY_INBOX: (_AGENCIES, "仅派出所、人民法庭、信访部门的对接人员可以查看"),
    # 转出待反馈: cases referred out and not yet answered, whoever owns them
    Permission.REFERRED_OUT_QUEUE: (
        frozenset({Role.SUPERVISOR, Role.ADMIN}),
        "转出待反馈队列仅供司法所（督办）人员和管理员查看",
    ),
    # 关联纠纷: confirm or dismiss a suggested link between cases of the same people
    Permission.DECIDE_LINKS: (frozenset({Role.SUPERVISOR}), "只有司法所（督办）人员可以确认或排除关联纠纷"),
}


def roles_with(permission: Permission) -> frozenset[Role]:
    return PERMISSIONS[permission][0]


def allows(actor: Actor, permission: Permission) -> bool:
    return actor.role in PERMISSIONS[permission][0]


def require(actor: Actor, permission: Permission) -> None:
    """PermissionDenied (403) with the permission's Chinese message unless the actor's role has it."""
    roles, message = PERMISSIONS[permission]
    if actor.role not in roles:
        raise PermissionDenied(message)


def can_see(actor: Actor, jurisdiction_path: str) -> bool:
    """Whether the place at ``jurisdiction_path`` lies in the user's subtree (admins: everywhere). For a case,
    ask ``can_see_case``: an agency user sees only some cases of its area."""
    return within(jurisdiction_path, actor.scope_path)


def can_see_case(actor: Actor, case: Mapping[str, Any]) -> bool:
    """A user sees the cases of their jurisdiction subtree; admins everything; a partner agency's user only
    the cases whose current handoff is with their agency (``agency_id``), whichever direction."""
    if actor.is_agency_user and (actor.agency_id is None or case.get("agency_id") != actor.agency_id):
        return False
    return within(case["jurisdiction_path"], actor.scope_path)


def townships_in_view(actor: Actor, townships: Iterable[Any]) -> list[Any]:
    """The county view's townships (places with a ``path``): a county's user (and an admin) sees every township
    of the county side by side, a township's user only their own; the county's totals and report only those who
    see the county itself (``can_see`` of its path)."""
    return [t for t in townships if can_see(actor, t.path)]


def sees_a_county(actor: Actor) -> bool:
    """Whether ``actor``'s subtree is a whole county (or the whole system): counties are the top of the tree."""
    return actor.scope_path is None or actor.scope_path.count("/") == 2


def compares_townships(actor: Actor) -> bool:
    """Whether the county view (乡镇对比) is offered: to who sees a county's townships. A township's user may open
    it (their own row), but it compares nothing their dashboard does not show."""
    return allows(actor, Permission.READ_REPORTS) and sees_a_county(actor)


def may_edit_reference(actor: Actor, item_path: str | None) -> bool:
    """Reference data: an item of the whole system (``item_path`` None: categories, sources, referral targets)
    is changed by an administrator of the whole system or of the county at the top of the tree; an item of a
    jurisdiction (a township's venue, its local joint-mediation partner) by an administrator whose subtree
    holds it — a township's administrator edits its own township's list only."""
    if not allows(actor, Permission.ADMINISTER):
        return False
    if item_path is None:
        return sees_a_county(actor)
    return within(item_path, actor.scope_path)


def require_reference_editor(actor: Actor, item_path: str | None) -> None:
    require(actor, Permission.ADMINISTER)
    if not may_edit_reference(actor, item_path):
        raise PermissionDenied(
            "全县通用的参考数据只能由县级管理员修改" if item_path is None else "只能修改本辖区的参考数据"
        )


def may_see_reference(actor: Actor, item_path: str | None) -> bool:
    """The reference items an administrator's page lists: the system-wide ones, those of the places above
    the administrator's own (offered there too) and those inside their subtree; not another township's."""
    if item_path is None or actor.scope_path is None:
        return True
    return within(item_path, actor.scope_path) or within(actor.scope_path, item_path)


def may_backdate(actor: Actor) -> bool:
    """补录: only supervisors (and admins) may give an effective time in the past."""
    return allows(actor, Permission.BACKDATE)


def earliest_backdate(actor: Actor, today: date) -> date | None:
    """The earliest local day ``actor`` may back-date to, beyond the system-wide 2000-01-01: a clerk enters
    this year's and last year's paper ledger (from 1 January of last year); None for no further limit."""
    return date(today.year - 1, 1, 1) if actor.role == Role.CLERK else None


def may_register(actor: Actor) -> bool:
    return allows(actor, Permission.REGISTER)


def may_see_full_identity(actor: Actor) -> bool:
    """Full ID numbers and phones on the case page: the people who mediate and supervise."""
    return allows(actor, Permission.SEE_FULL_IDENTITY)


def may_open_attachment(actor: Actor, kind: str) -> bool:
    """A copy of an identity document is personal data in full; other attachments go with the case."""
    return kind != "id_copy" or may_see_full_identity(actor)


def may_fire(actor: Actor, roles: Iterable[str]) -> bool:
    """A transition names the roles that may fire it (workflow data)."""
    return actor.role in roles


def may_be_assigned(role: str, is_active: bool, scope_path: str | None, case_path: str) -> bool:
    """A user named in a transition's ``user`` field (the mediator assigned): active, a role the policy lets
    handle cases, and the case inside their jurisdiction subtree (``scope_path`` None: the whole system)."""
    return is_active and role in roles_with(Permission.HANDLE_CASES) and within(case_path, scope_path)


def own_cases_only(actor: Actor) -> bool:
    """A mediator is told about the cases they handle; everyone else about their whole subtree."""
    return actor.role == Role.MEDIATOR
