"""Who may see and do what: one place decides, by role and jurisdiction subtree."""

from __future__ import annotations

from dataclasses import dataclass

from mediation_flow.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    """The signed-in user as the core sees it. ``scope_path`` None means the whole system (admin)."""

    id: int | None
    username: str
    role: Role
    scope_path: str | None
    display_name: str = ""
    jurisdiction_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


SYSTEM = Actor(id=None, username="system", role=Role.SUPERVISOR, scope_path=None, display_name="系统")


def can_see(actor: Actor, jurisdiction_path: str) -> bool:
    """A user sees the cases of their jurisdiction subtree; admins see everything."""
    return actor.scope_path is None or jurisdiction_path.startswith(actor.scope_path)


def may_backdate(actor: Actor) -> bool:
    """补录: only supervisors (and admins) may give an effective time in the past."""
    return actor.role in (Role.SUPERVISOR, Role.ADMIN)


def may_register(actor: Actor) -> bool:
    return actor.role in (Role.GRID_WORKER, Role.MEDIATOR, Role.SUPERVISOR, Role.LIAISON)


def may_see_full_identity(actor: Actor) -> bool:
    """Full ID numbers and phones on the case page: the people who mediate and supervise."""
    return actor.role in (Role.MEDIATOR, Role.SUPERVISOR)


def may_be_assigned(role: str, is_active: bool, scope_path: str | None, case_path: str) -> bool:
    """A user named in a transition's ``user`` field (the mediator assigned): an active mediator or
    supervisor whose jurisdiction subtree holds the case (``scope_path`` None: the whole system)."""
    if not is_active or role not in (Role.MEDIATOR.value, Role.SUPERVISOR.value):
        return False
    return scope_path is None or case_path.startswith(scope_path)
