"""Sign-in bookkeeping: audit every sign-in and failure, count failures, track sessions."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts import audit
from accounts.models import Outcome, UserSession
from accounts.services import signin


@receiver(user_login_failed)
def on_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")
    count = signin.record_failure(username) if username else 0
    origin = audit.Origin(username, audit.client_address(request))
    audit.record(origin, "sign_in", "user", "", username, Outcome.FAILURE, failures=count)


@receiver(user_logged_in)
def on_success(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    signin.clear_failures(user.get_username())
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})
    audit.record(audit.Origin(user, audit.client_address(request)), "sign_in", "user", user.pk, user.get_username())


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()
    if user is not None:
        audit.record(audit.Origin(user, audit.client_address(request)), "sign_out", "user", user.pk, str(user))


def reseed_roles(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After migrate or flush: the roles table is the table in code again (unless the accounts
    tables were just migrated away)."""
    from django.db import connections

    from accounts.models import Role
    from accounts.roles import seed_roles

    if Role._meta.db_table in connections[using].introspection.table_names():
        seed_roles(Role)


def _forget_rules_on(scope_type: str) -> Any:
    def forget(sender: Any, instance: Any, **kwargs: Any) -> None:
        from accounts.models import AccessRule

        AccessRule.objects.filter(scope_type=scope_type, scope_id=str(instance.pk)).delete()

    return forget


def connect_scope_cleanup() -> None:
    """A rule on a cluster, department or project that is deleted would name nothing: it goes
    with its scope (a cluster's deletion cascades to its departments and projects, and so here)."""
    from django.db.models.signals import post_delete

    from clusters.models import Cluster, Department, Project

    for model, scope_type in ((Cluster, "cluster"), (Department, "department"), (Project, "project")):
        post_delete.connect(_forget_rules_on(scope_type), sender=model, weak=False, dispatch_uid=f"rules-{scope_type}")
