"""Authentication backend: Django's, refusing a locked account before checking its password."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from accounts.services import signin


class LockoutModelBackend(ModelBackend):
    """Every local sign-in (form, HTTP basic, password grant) passes here, so a locked account
    is refused everywhere; Django then reports the attempt as failed, which counts it too."""

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if username and signin.is_locked(username):
            raise PermissionDenied(signin.lockout_message(username))
        return super().authenticate(request, username=username, password=password, **kwargs)
