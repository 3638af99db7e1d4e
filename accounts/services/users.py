"""Local users: created with a temporary password, deleted with their rules, logged out everywhere."""

import secrets
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import audit
from accounts.access import require
from accounts.errors import AccessDenied, Conflict, Invalid
from accounts.models import AccessRule, ScopeType, SubjectType, UserSession
from accounts.principals import AppPrincipal
from accounts.roles import SYSTEM_ADMINISTRATOR, USERS
from accounts.services import signin, tokens
from accounts.services.rules import delete_rules_of


def create_user(origin: audit.Origin, email: str) -> tuple[Any, str]:
    """A local user named by e-mail, with a generated temporary password returned once."""
    require(origin.caller, "create", USERS)
    User = get_user_model()
    if not isinstance(email, str) or "@" not in email or len(email) > 150:
        raise Invalid("email must be an e-mail address of at most 150 characters.")
    password = secrets.token_urlsafe(15)
    user = User(username=email, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:  # only if the validators were made stricter than 20 random chars
        raise Invalid(" ".join(exc.messages))
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            audit.record(origin, "create", "user", user.pk, email)
    except IntegrityError:
        raise Conflict(f"A user {email!r} already exists.")
    return user, password


def delete_user(origin: audit.Origin, user: Any) -> None:
    """Delete a user with the rules naming him; never the last System administrator."""
    require(origin.caller, "delete", USERS)
    if getattr(origin.caller, "pk", None) == user.pk and not isinstance(origin.caller, AppPrincipal):
        raise AccessDenied("You may not delete yourself.")
    with transaction.atomic():
        delete_rules_of(SubjectType.USER, user.get_username())
        # A superuser counts as a System administrator: one must remain, by rule or by flag.
        others = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk)
        admin_rules = AccessRule.objects.filter(role_id=SYSTEM_ADMINISTRATOR.id, scope_type=ScopeType.TENANT)
        if user.is_superuser and not others.exists() and not admin_rules.exists():
            raise Conflict("This is the last System administrator of the account; make another one first.")
        logout_everywhere_quietly(user)
        audit.record(origin, "delete", "user", user.pk, user.get_username())
        user.delete()


def _session_store(session_key: str) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def logout_everywhere_quietly(user: Any, keep_session: str | None = None) -> int:
    """End every browser session of the user (but ``keep_session``) and revoke his tokens;
    returns the number of sessions ended."""
    sessions = UserSession.objects.filter(user=user).exclude(session_key=keep_session or "")
    keys = list(sessions.values_list("session_key", flat=True))
    for key in keys:
        _session_store(key).delete()
    sessions.delete()
    tokens.revoke_all_of_user(user)
    return len(keys)


def change_password(origin: audit.Origin, user: Any, current: str, new: str, keep_session: str | None) -> None:
    """Change one's own password: the current one must be right (wrong guesses count towards the
    lockout), the new one must pass the validators, and every other session and token ends."""
    if signin.is_locked(user.get_username()):
        raise AccessDenied(signin.lockout_message(user.get_username()))
    if not user.check_password(current):
        signin.record_failure(user.get_username())
        audit.record(origin, "change_password", "user", user.pk, user.get_username(), "failure")
        raise Invalid("currentPassword is wrong.")
    try:
        validate_password(new, user)
    except ValidationError as exc:
        raise Invalid("newPassword: " + " ".join(exc.messages))
    with transaction.atomic():
        user.set_password(new)
        user.save(update_fields=["password"])
        ended = logout_everywhere_quietly(user, keep_session)
        audit.record(origin, "change_password", "user", user.pk, user.get_username(), sessions_ended=ended)


def logout_everywhere(origin: audit.Origin, user: Any) -> int:
    """Log a user out of every session and token: himself, or anyone for whoever may update users."""
    if getattr(origin.caller, "pk", None) != user.pk or isinstance(origin.caller, AppPrincipal):
        require(origin.caller, "update", USERS)
    with transaction.atomic():
        ended = logout_everywhere_quietly(user)
        audit.record(origin, "logout_everywhere", "user", user.pk, user.get_username(), sessions=ended)
    return ended
