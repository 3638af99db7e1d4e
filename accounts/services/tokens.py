"""Bearer tokens: signed JWTs (HS256) with exp, iat, sub and jti, each with a record here so that
it can be revoked, and dies with its user or application."""

import uuid
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone

from accounts.models import Application, IssuedToken
from accounts.principals import AppPrincipal

ALGORITHM = "HS256"
ISSUER = "tessera"


class InvalidToken(Exception):
    """Bad, expired, revoked or tampered; callers answer 401 the same way for each."""


def lifetime() -> int:
    return int(settings.TESSERA_TOKEN_LIFETIME)


def issue(*, user: Any = None, application: Application | None = None) -> str:
    """Sign a token for a user or an application and record it."""
    now = timezone.now()
    expires = now + timedelta(seconds=lifetime())
    jti = uuid.uuid4().hex
    sub = f"app:{application.pk}" if application is not None else f"user:{user.pk}"
    claims = {"iss": ISSUER, "sub": sub, "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": jti}
    IssuedToken.objects.create(jti=jti, user=user, application=application, issued_at=now, expires_at=expires)
    return jwt.encode(claims, settings.TESSERA_TOKEN_KEY, algorithm=ALGORITHM)


def _claims(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            settings.TESSERA_TOKEN_KEY,
            algorithms=[ALGORITHM],  # never "none", never what the token's header asks for
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc


def authenticate(token: str) -> tuple[Any, IssuedToken]:
    """The user (or an ``AppPrincipal``) the token speaks for, and its record."""
    claims = _claims(token)
    record = (
        IssuedToken.objects.select_related("user", "application")
        .filter(jti=claims["jti"], revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if record is None:
        raise InvalidToken("revoked, expired or unknown")
    if record.application is not None:
        if claims["sub"] != f"app:{record.application.pk}" or not record.application.enabled:
            raise InvalidToken("application mismatch or disabled")
        return AppPrincipal(record.application, record.jti), record
    user = record.user
    if user is None or claims["sub"] != f"user:{user.pk}" or not user.is_active:
        raise InvalidToken("user mismatch or inactive")
    return user, record


def revoke(token: str) -> IssuedToken:
    """Revoke a token given by its value (holding it is the right to end it)."""
    claims = _claims(token)
    record = IssuedToken.objects.filter(jti=claims["jti"]).first()
    if record is None:
        raise InvalidToken("unknown")
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])
    return record


def revoke_all_of_user(user: Any) -> int:
    return IssuedToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
