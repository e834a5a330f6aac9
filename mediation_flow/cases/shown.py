"""Free text as one user is shown it. The roles that see identities in full (the policy's
``SEE_FULL_IDENTITY``) read it as typed; for every other role an ID, mobile or landline number typed into it
is masked (``personal_data.mask_text``). The case page applies this to its title, summary and notes
(``views.free_text_as_shown``); the lists, queues, inboxes and notices apply it to each case title."""

from __future__ import annotations

from collections.abc import Callable

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.accounts.policy import Actor, may_see_full_identity


def _as_typed(text: str) -> str:
    return text


def text_shown(actor: Actor) -> Callable[[str], str]:
    """How ``actor`` is shown free text (a case title in a list): as typed, or with numbers masked."""
    return _as_typed if may_see_full_identity(actor) else mask_text
