"""Token endpoints, wire-compatible with Run:ai: /api/v1/token (JSON) and /api/v2/token (OAuth2)."""

from typing import Any

from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.api import schemas
from accounts.models import Outcome
from accounts.services import signin, tokens
from accounts.services.apps import authenticate_application


class Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _fields(data: Any) -> dict[str, str]:
    """The request's fields by lower-cased name: Run:ai's clients spell them AppId, appID, app_id."""
    if not hasattr(data, "items"):
        raise Refused(400, "invalid_request", "Expected a JSON object or a form.")
    return {str(k).replace("_", "").lower(): v for k, v in data.items()}


def _grant(request: Request, fields: dict[str, Any]) -> tuple[str, str]:
    """Check the credentials of any supported grant; returns (token, subject label)."""
    origin = audit.Origin.of(request)
    grant = fields.get("granttype")
    if grant in ("app_token", "client_credentials"):
        client_id = fields.get("appid") or fields.get("clientid")
        secret = fields.get("appsecret") or fields.get("clientsecret")
        app = authenticate_application(client_id, secret)
        if app is None:
            audit.record(origin, "sign_in", "application", "", str(client_id)[:254], Outcome.FAILURE)
            raise Refused(401, "invalid_client", "Unknown application or wrong secret.")
        app.last_login = timezone.now()
        app.save(update_fields=["last_login"])
        audit.record(origin, "sign_in", "application", app.pk, app.name)
        return tokens.issue(application=app), app.name
    if grant == "password":
        username, password = fields.get("username"), fields.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise Refused(400, "invalid_request", "username and password are required.")
        if signin.is_locked(username):
            signin.record_failure(username)
            audit.record(audit.Origin(username, origin.address), "sign_in", "user", "", username, Outcome.FAILURE)
            raise Refused(401, "invalid_grant", signin.lockout_message(username))
        user = authenticate(request._request, username=username, password=password)
        if user is None:  # counted and audited by the user_login_failed receiver
            raise Refused(401, "invalid_grant", "Wrong username or password.")
        signin.clear_failures(username)
        audit.record(audit.Origin(user, origin.address), "sign_in", "user", user.pk, username, grant="password")
        return tokens.issue(user=user), username
    raise Refused(400, "unsupported_grant_type", "grantType must be app_token, client_credentials or password.")


class TokenView(APIView):
    """``POST /api/v1/token``: ``{"grantType": "app_token", "AppId", "AppSecret"}`` -> ``{"accessToken"}``."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=schemas.TOKEN_REQUEST, responses={200: schemas.TOKEN})
    def post(self, request: Request) -> Response:
        try:
            token, _ = _grant(request, _fields(request.data))
        except Refused as exc:
            return Response({"code": exc.status, "message": exc.message}, status=exc.status)
        return Response({"accessToken": token, "expiresIn": tokens.lifetime()})


class OAuthTokenView(APIView):
    """``POST /api/v2/token`` (form or JSON): OAuth2 ``client_credentials`` or ``password``."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, JSONParser]

    @extend_schema(
        request={
            "application/x-www-form-urlencoded": schemas.OAUTH_TOKEN_REQUEST,
            "application/json": schemas.OAUTH_TOKEN_REQUEST,
        },
        responses={200: schemas.OAUTH_TOKEN, 400: schemas.OAUTH_ERROR, 401: schemas.OAUTH_ERROR},
    )
    def post(self, request: Request) -> Response:
        try:
            token, _ = _grant(request, _fields(request.data))
        except Refused as exc:
            body = {"error": exc.error, "error_description": exc.message, "code": exc.status, "message": exc.message}
            return Response(body, status=exc.status, headers={"Cache-Control": "no-store"})
        body = {"access_token": token, "token_type": "Bearer", "expires_in": tokens.lifetime()}
        return Response(body, headers={"Cache-Control": "no-store"})


class RevokeTokenView(APIView):
    """``POST /api/v1/token/revoke`` ``{"token": ...}``: holding a token is the right to end it."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, JSONParser]

    @extend_schema(request=schemas.REVOKE_REQUEST, responses={204: schemas.NO_CONTENT})
    def post(self, request: Request) -> Response:
        token = request.data.get("token") if hasattr(request.data, "get") else None
        if not isinstance(token, str):
            return Response({"code": 400, "message": "token is required."}, status=400)
        try:
            record = tokens.revoke(token)
        except tokens.InvalidToken:
            return Response({"code": 400, "message": "Not a token issued here."}, status=400)
        audit.record(audit.Origin.of(request), "revoke", "token", record.jti)
        return Response(status=204)
