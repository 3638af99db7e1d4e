"""DRF authentication by bearer token. Every bad token gets the same 401, whatever is wrong."""

from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.services import tokens

INVALID = "Invalid, expired or revoked token."


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <JWT>`` issued by /api/v1/token or /api/v2/token."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(INVALID)
        try:
            return tokens.authenticate(parts[1].decode("ascii"))
        except (tokens.InvalidToken, UnicodeDecodeError):
            raise AuthenticationFailed(INVALID)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tessera"'
