"""Who is asking: a Django user (signed in, or by password token) or an application."""

from typing import Any


class AppPrincipal:
    """Stands in for ``request.user`` when an application's bearer token authenticated the request."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None

    def __init__(self, application: Any, token_id: str) -> None:
        self.application = application
        self.token_id = token_id

    @property
    def username(self) -> str:
        return self.application.client_id

    def __str__(self) -> str:
        return f"app:{self.application.name}"
