"""Browser sign-in for the ``tessera`` command-line tool, as OAuth's flow for native apps
(RFC 8252, with PKCE, RFC 7636).

The CLI listens on a loopback port and opens ``/cli/login`` with its ``redirect_uri``, a random
``state`` and a PKCE ``code_challenge``. The user signs in here by any method the site offers
(local or single sign-on: ``login_required`` sends him through the sign-in page and back), and
confirms; the browser is then sent to the loopback address with a one-time code, signed, valid
for two minutes and bound to the user, the state and the challenge. The CLI exchanges it at
``POST /api/v1/cli/token`` with the state and the PKCE verifier (which never left the CLI) for an
ordinary bearer token. Only loopback redirect addresses are accepted, so a code can only reach a
program on the user's own machine."""

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.api import schemas
from accounts.models import Outcome
from accounts.services import tokens

CODE_LIFETIME = 120  # seconds between the browser's confirmation and the CLI's exchange
SALT = "tessera.accounts.cli-login"
# IP literals only, as RFC 8252 advises: a name such as "localhost" could be resolved elsewhere.
LOOPBACK_HOSTS = {"127.0.0.1", "::1"}
# RFC 7636: a S256 challenge is 43 base64url characters; states are the CLI's random tokens.
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
STATE = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")


class BadRequest(Exception):
    pass


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def loopback_redirect(uri: str) -> str:
    """``uri`` if it is an http address on this machine's loopback with a port, else BadRequest."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise BadRequest("redirect_uri is not a URL.")
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or port is None:
        raise BadRequest("redirect_uri must be http://127.0.0.1:PORT/... (the CLI's loopback address).")
    if parts.username or parts.password or parts.fragment:
        raise BadRequest("redirect_uri may not carry credentials or a fragment.")
    return uri


def authorization(params: Any) -> dict[str, str]:
    """The CLI's request, checked: its loopback redirect address, state and PKCE challenge."""
    request = {
        "redirect_uri": loopback_redirect(str(params.get("redirect_uri", ""))),
        "state": str(params.get("state", "")),
        "code_challenge": str(params.get("code_challenge", "")),
    }
    if not STATE.match(request["state"]):
        raise BadRequest("state must be 16 to 256 URL-safe characters.")
    if params.get("code_challenge_method") != "S256" or not CHALLENGE.match(request["code_challenge"]):
        raise BadRequest("code_challenge must be a S256 PKCE challenge (code_challenge_method=S256).")
    return request


def _redirect(uri: str, **params: str) -> HttpResponseRedirect:
    separator = "&" if urlsplit(uri).query else "?"
    response = HttpResponseRedirect(f"{uri}{separator}{urlencode(params)}")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def authorize_page(request: HttpRequest) -> HttpResponse:
    """``/cli/login``: ask the signed-in user to confirm, then send the browser back to the CLI."""
    params = request.GET if request.method == "GET" else request.POST
    try:
        asked = authorization(params)
    except BadRequest as exc:
        return render(request, "accounts/cli_login.html", {"error": str(exc)}, status=400)
    if request.method == "GET":
        port = urlsplit(asked["redirect_uri"]).port
        return render(request, "accounts/cli_login.html", {"asked": asked, "port": port})
    if "deny" in request.POST:
        return _redirect(asked["redirect_uri"], error="access_denied", state=asked["state"])
    code = signing.dumps(
        {"u": request.user.pk, "s": _digest(asked["state"]), "c": asked["code_challenge"], "n": secrets.token_hex(16)},
        salt=SALT,
        compress=True,
    )
    audit.record(audit.Origin.of(request), "authorize", "cli", "", request.user.get_username())
    return _redirect(asked["redirect_uri"], code=code, state=asked["state"])


def redeem(code: str, state: str, verifier: str) -> Any:
    """The user a one-time code was issued for, if the state and the PKCE verifier match it."""
    try:
        claims = signing.loads(code, salt=SALT, max_age=CODE_LIFETIME)
    except signing.SignatureExpired:
        raise BadRequest("The sign-in code expired: run `tessera login` again.")
    except signing.BadSignature:
        raise BadRequest("Not a sign-in code issued here.")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(claims.get("s", ""), _digest(state)) or not hmac.compare_digest(
        claims.get("c", ""), challenge
    ):
        raise BadRequest("The state or the code verifier does not match the sign-in code.")
    # One use only; the cache entry outlives the code itself.
    if not cache.add(f"tessera:cli-login:{claims['n']}", True, CODE_LIFETIME + 60):
        raise BadRequest("The sign-in code was already used: run `tessera login` again.")
    user = get_user_model().objects.filter(pk=claims.get("u"), is_active=True).first()
    if user is None:
        raise BadRequest("The account that signed in is no longer active.")
    return user


class CliTokenView(APIView):
    """``POST /api/v1/cli/token`` ``{"code", "state", "codeVerifier"}`` -> ``{"accessToken", "expiresIn"}``."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=schemas.CLI_TOKEN_REQUEST, responses={200: schemas.TOKEN})
    def post(self, request: Request) -> Response:
        data = request.data if hasattr(request.data, "get") else {}
        fields = {name: data.get(name) for name in ("code", "state", "codeVerifier")}
        missing = [name for name, value in fields.items() if not isinstance(value, str) or not value]
        if missing:
            return Response({"code": 400, "message": f"{', '.join(missing)}: required."}, status=400)
        try:
            user = redeem(fields["code"], fields["state"], fields["codeVerifier"])
        except BadRequest as exc:
            audit.record(audit.Origin.of(request), "sign_in", "user", "", "", Outcome.FAILURE, grant="cli-browser")
            return Response({"code": 400, "message": str(exc)}, status=400, headers={"Cache-Control": "no-store"})
        token = tokens.issue(user=user)
        audit.record(audit.Origin(user, audit.client_address(request)), "sign_in", "user", user.pk,
                     user.get_username(), grant="cli-browser")  # fmt: skip
        body = {"accessToken": token, "expiresIn": tokens.lifetime()}
        return Response(body, headers={"Cache-Control": "no-store"})
