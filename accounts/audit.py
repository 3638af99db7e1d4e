"""The audit log: every change of state, and every sign-in and failed sign-in, is recorded."""

from dataclasses import dataclass
from typing import Any

from accounts.models import AuditEvent, Outcome
from accounts.principals import AppPrincipal


@dataclass(frozen=True)
class Origin:
    """Who made a change and from which address; ``caller`` None means the system itself."""

    caller: Any = None
    address: str | None = None

    @classmethod
    def of(cls, request: Any) -> "Origin":
        """The request's user and client address."""
        return cls(getattr(request, "user", None), client_address(request))


def client_address(request: Any) -> str | None:
    """``REMOTE_ADDR`` only: a forwarded-for header can be forged by anyone unless a trusted proxy
    rewrites it. Reads no user, so it is safe while a request is still being authenticated."""
    meta = getattr(request, "META", None) or {}
    return meta.get("REMOTE_ADDR") or None


SYSTEM = Origin()


def actor_of(caller: Any) -> tuple[str, str]:
    """(actor type, actor name) for the log."""
    if isinstance(caller, AppPrincipal):
        return "app", caller.application.client_id
    if caller is not None and getattr(caller, "is_authenticated", False):
        return "user", caller.get_username()
    if isinstance(caller, str):
        return "user", caller  # a sign-in attempt names a user who is not authenticated yet
    return "system", "system"


def record(
    origin: Origin,
    action: str,
    object_type: str,
    object_id: Any = "",
    object_name: str = "",
    outcome: str = Outcome.SUCCESS,
    **detail: Any,
) -> AuditEvent:
    """Append one event."""
    actor_type, actor = actor_of(origin.caller)
    return AuditEvent.objects.create(
        actor_type=actor_type,
        actor=actor[:254],
        action=action,
        object_type=object_type,
        object_id=str(object_id or "")[:254],
        object_name=str(object_name or "")[:254],
        address=origin.address,
        outcome=outcome,
        detail=detail,
    )
