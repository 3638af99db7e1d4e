"""Applications: a client id and a secret (shown once, stored hashed) for automation."""

import hashlib
import hmac
import re
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.access import require, scope_path
from accounts.errors import Conflict, Invalid
from accounts.models import AccessRule, Application, IssuedToken, SubjectType
from accounts.roles import APPS, ROLES_BY_ID
from accounts.services.rules import check_no_escalation, delete_rules_of

NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SECRET_BYTES = 32  # 256 bits


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits, not a password: one SHA-256 is enough to make the stored
    # value useless to whoever reads the database, and it is cheap to check on every token grant.
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def create_application(origin: audit.Origin, name: str) -> tuple[Application, str]:
    """Create an application; returns it with its secret, which is not stored and not shown again."""
    require(origin.caller, "create", APPS)
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > 63:
        raise Invalid("name must be lower-case letters, digits and '-', start with a letter, at most 63 characters.")
    secret = _new_secret()
    try:
        with transaction.atomic():
            app = Application.objects.create(
                name=name, secret_hash=hash_secret(secret), created_by=audit.actor_of(origin.caller)[1]
            )
            audit.record(origin, "create", "application", app.pk, app.name)
    except IntegrityError:
        raise Conflict(f"An application named {name!r} already exists.")
    return app, secret


def _check_may_become(origin: audit.Origin, app: Application) -> None:
    """Whoever can learn an application's secret can act as it: refuse unless the caller could
    grant every rule the application holds."""
    for rule in AccessRule.objects.filter(subject_type=SubjectType.APP, subject_id=app.client_id):
        check_no_escalation(origin.caller, ROLES_BY_ID[rule.role_id], rule.scope_type, scope_path(rule), "take on")


def regenerate_secret(origin: audit.Origin, app: Application) -> str:
    """Replace the secret; the old one and every token issued with it stop working at once."""
    require(origin.caller, "update", APPS)
    _check_may_become(origin, app)
    secret = _new_secret()
    with transaction.atomic():
        app.secret_hash = hash_secret(secret)
        app.save(update_fields=["secret_hash", "updated_at"])
        IssuedToken.objects.filter(application=app, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit.record(origin, "regenerate_secret", "application", app.pk, app.name)
    return secret


def delete_application(origin: audit.Origin, app: Application) -> None:
    """Delete an application, its access rules and its tokens."""
    require(origin.caller, "delete", APPS)
    with transaction.atomic():
        delete_rules_of(SubjectType.APP, app.client_id)
        audit.record(origin, "delete", "application", app.pk, app.name)
        app.delete()


# Compared against when the client id is unknown, so both cases take the same time.
_NO_APP_HASH = hash_secret(_new_secret())


def authenticate_application(client_id: object, secret: object) -> Application | None:
    """The enabled application with this client id and secret, or None. Constant-time compare."""
    if not isinstance(client_id, str) or not isinstance(secret, str):
        return None
    app = Application.objects.filter(name=client_id).first()
    matches = hmac.compare_digest(hash_secret(secret), app.secret_hash if app else _NO_APP_HASH)
    if app is None or not matches or not app.enabled:
        return None
    return app
