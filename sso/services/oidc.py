"""OpenID Connect sign-in: authorization code with PKCE, through mozilla-django-oidc's backend.

The library exchanges the code, checks the ID token's RS256 signature against the provider's
JWKS, its expiry and its nonce, and fetches the userinfo. It does not check the token's ``iss``
and ``aud``, nor that the userinfo is about the same ``sub``: Tessera does, here.
"""

import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import generate_code_challenge

from sso.models import IdentityProvider
from sso.services import identities
from sso.services.redirects import public_base
from sso.services.refusals import SignInRefused

SESSION_KEY = "sso_oidc_pending"
SIGNED_IN_KEY = "sso_oidc"  # the provider and ID token of the session, for logging out there
PENDING_SECONDS = 600
MAX_PENDING = 10  # sign-ins started in other tabs of the same browser
SIGNING_ALGORITHM = "RS256"
DEFAULT_SCOPES = ("openid", "email", "profile")
TIMEOUT = 10

# What the library would read from Django settings; here fixed, the safe way.
LIBRARY_SETTINGS = {
    "OIDC_VERIFY_SSL": True,
    "OIDC_TIMEOUT": TIMEOUT,
    "OIDC_PROXY": None,
    "OIDC_USE_NONCE": True,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_TOKEN_USE_BASIC_AUTH": False,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
}

DISCOVERY_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")


class ProviderBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend configured from one identity provider rather than from settings."""

    def __init__(self, provider: IdentityProvider) -> None:
        meta = provider.oidc_metadata
        self.provider = provider
        self.OIDC_OP_TOKEN_ENDPOINT = meta["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = meta["userinfo_endpoint"]
        self.OIDC_OP_JWKS_ENDPOINT = meta["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = provider.client_secret
        self.OIDC_RP_SIGN_ALGO = SIGNING_ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    def get_settings(self, attr: str, *args: Any) -> Any:  # type: ignore[override]
        if attr in LIBRARY_SETTINGS:
            return LIBRARY_SETTINGS[attr]
        if args:
            return args[0]
        raise KeyError(attr)


def discover(discovery_url: str) -> dict[str, Any]:
    """Fetch and check a discovery document; raises ValueError saying what is wrong."""
    try:
        response = requests.get(discovery_url, timeout=TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ValueError(f"could not read the discovery document: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("the discovery document is not a JSON object")
    missing = [name for name in DISCOVERY_FIELDS if not isinstance(document.get(name), str) or not document[name]]
    if missing:
        raise ValueError(f"the discovery document lacks {', '.join(missing)}")
    algorithms = document.get("id_token_signing_alg_values_supported") or [SIGNING_ALGORITHM]
    if SIGNING_ALGORITHM not in algorithms:
        raise ValueError(f"the provider does not sign ID tokens with {SIGNING_ALGORITHM}")
    keep = (*DISCOVERY_FIELDS, "end_session_endpoint")
    return {name: document[name] for name in keep if name in document}


def callback_url(request: HttpRequest, provider: IdentityProvider) -> str:
    return public_base(request) + reverse("sso-oidc-callback", args=[provider.alias])


def start(request: HttpRequest, provider: IdentityProvider, next_url: str) -> str:
    """Remember a new sign-in in the browser's session; returns the provider's authorization URL."""
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    now = time.time()
    live = [(k, v) for k, v in request.session.get(SESSION_KEY, {}).items() if v["at"] > now - PENDING_SECONDS]
    newest = sorted(live, key=lambda item: item[1]["at"])[-(MAX_PENDING - 1) :]  # room for this one
    pending = dict(newest)
    pending[state] = {"provider": provider.alias, "nonce": nonce, "verifier": verifier, "next": next_url, "at": now}
    request.session[SESSION_KEY] = pending
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": callback_url(request, provider),
        "scope": " ".join(provider.scopes or DEFAULT_SCOPES),
        "state": state,
        "nonce": nonce,
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
    }
    return f"{provider.oidc_metadata['authorization_endpoint']}?{urlencode(params)}"


def take_pending(request: HttpRequest, provider: IdentityProvider, state: str) -> dict[str, Any]:
    """The sign-in this browser started with ``state``, removed so it is used only once."""
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending
    if entry is None:
        raise SignInRefused("The state does not match a sign-in started in this browser.")
    if entry["provider"] != provider.alias or entry["at"] <= time.time() - PENDING_SECONDS:
        raise SignInRefused("The sign-in started in this browser has expired or was for another provider.")
    return entry


def _check_id_token(provider: IdentityProvider, payload: dict[str, Any]) -> None:
    """What the library leaves unchecked: who issued the token, for whom, and until when."""
    if payload.get("iss") != provider.oidc_metadata["issuer"]:
        raise SignInRefused(f"The ID token was issued by {payload.get('iss')!r}, not by this provider.")
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences:
        raise SignInRefused("The ID token is not meant for Tessera (aud).")
    if len(audiences) > 1 and payload.get("azp") != provider.client_id:
        raise SignInRefused("The ID token has several audiences and Tessera is not its authorized party (azp).")
    if not isinstance(payload.get("exp"), (int, float)) or payload["exp"] <= time.time():
        raise SignInRefused("The ID token has expired or has no expiry.")
    if not isinstance(payload.get("sub"), str) or not payload["sub"]:
        raise SignInRefused("The ID token names no subject.")


def finish(request: HttpRequest, provider: IdentityProvider, code: str, entry: dict[str, Any]):
    """Exchange the code; returns the signed-in user and what logging out at the provider needs,
    or raises SignInRefused."""
    backend = ProviderBackend(provider)
    try:
        tokens = backend.get_token({
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url(request, provider),
            "code_verifier": entry["verifier"],
        })  # fmt: skip
        id_token, access_token = tokens.get("id_token"), tokens.get("access_token")
        if not id_token or not access_token:
            raise SignInRefused("The provider returned no ID token or access token.")
        algorithm = jwt.get_unverified_header(id_token).get("alg")
        if algorithm != SIGNING_ALGORITHM:  # above all not "none"
            raise SignInRefused(f"The ID token is signed with {algorithm}, not {SIGNING_ALGORITHM}.")
        payload = backend.verify_token(id_token, nonce=entry["nonce"])
        _check_id_token(provider, payload)
        userinfo = backend.get_userinfo(access_token, id_token, payload)
    except (SuspiciousOperation, jwt.PyJWTError, requests.RequestException, KeyError, TypeError, ValueError) as exc:
        raise SignInRefused(f"The provider's answer was refused: {exc}") from None
    if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
        raise SignInRefused("The userinfo is about another subject than the ID token.")
    claims = {**userinfo, **payload}  # what the signed token says wins
    user = identities.user_for(
        provider,
        identities.Vouched(
            subject=payload["sub"],
            email=str(claims.get(provider.email_claim or "email") or ""),
            email_verified=claims.get("email_verified") is True,
            groups=identities.group_names(claims.get(provider.groups_claim)) if provider.groups_claim else (),
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
        ),
    )
    return user, {"provider": provider.alias, "id_token": id_token}


def logout_url(request: HttpRequest, provider: IdentityProvider, data: dict[str, Any], return_to: str) -> str:
    """The provider's end-session URL (RP-initiated logout), or "" when it has none."""
    endpoint = provider.oidc_metadata.get("end_session_endpoint")
    if not endpoint:
        return ""
    params = {"client_id": provider.client_id, "id_token_hint": data.get("id_token", ""),
              "post_logout_redirect_uri": public_base(request) + return_to}  # fmt: skip
    return f"{endpoint}?{urlencode(params)}"
