"""Account operations: setup of the first administrator here; rules, applications, tokens, users
and sign-in in the modules of this package."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import TENANT_SCOPE_ID, AccessRule, ScopeType, SubjectType
from accounts.roles import SYSTEM_ADMINISTRATOR


@dataclass(frozen=True)
class FirstAdministrator:
    username: str
    password: str | None  # set only when it was generated here, to be shown once
    created: bool


@transaction.atomic
def ensure_first_administrator(username: str, password: str | None) -> FirstAdministrator:
    """Create the first administrator unless that user exists. A password that is not given is
    generated and returned, so the caller can print it once."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return FirstAdministrator(username=username, password=None, created=False)
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(18)
    user = User(username=username, is_staff=True, is_superuser=True)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    # Superusers count as System administrators anyway; the rule makes it visible and lets the
    # "last System administrator" guard protect this account.
    AccessRule.objects.create(
        subject_type=SubjectType.USER,
        subject_id=username,
        role_id=SYSTEM_ADMINISTRATOR.id,
        scope_type=ScopeType.TENANT,
        scope_id=TENANT_SCOPE_ID,
        created_by="system",
    )
    return FirstAdministrator(username=username, password=password if generated else None, created=True)
