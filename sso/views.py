"""Sign-in pages of single sign-on: start at a provider, come back, log out; the SP metadata.

Every refusal signs nobody in, is audited, and shows the reason on a 403 page.
"""

import logging

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from accounts.models import Outcome
from sso import backends
from sso.models import IdentityProvider, ProviderType
from sso.services import oidc, saml
from sso.services.redirects import is_own_url, own_url_or_default
from sso.services.refusals import SignInRefused

log = logging.getLogger(__name__)


def _after_logout() -> str:
    return settings.LOGOUT_REDIRECT_URL or "/"


def _provider(alias: str, kind: str) -> IdentityProvider:
    return get_object_or_404(IdentityProvider, alias=alias, type=kind, enabled=True)


def _refused(request: HttpRequest, provider: IdentityProvider, reason: str, status: int = 403) -> HttpResponse:
    log.warning("sign-in through %s refused: %s", provider.alias, reason)
    audit.record(audit.Origin(None, audit.client_address(request)), "sign_in", "identity_provider", provider.pk,
                 provider.alias, Outcome.FAILURE, reason=reason[:500])  # fmt: skip
    return render(request, "sso/refused.html", {"provider": provider, "reason": reason}, status=status)


def _next_or_refuse(request: HttpRequest) -> str | None:
    """The page asked for after sign-in: empty, or one of ours. None when it points elsewhere."""
    next_url = request.GET.get("next", "")
    return next_url if not next_url or is_own_url(request, next_url) else None


def _sign_in(request: HttpRequest, user, next_url: str) -> HttpResponse:
    login(request, user, backend=backends.PATH)
    return HttpResponseRedirect(own_url_or_default(request, next_url))


@require_GET
def oidc_login(request: HttpRequest, alias: str) -> HttpResponse:
    provider = _provider(alias, ProviderType.OIDC)
    next_url = _next_or_refuse(request)
    if next_url is None:
        return _refused(request, provider, "next must be a page of Tessera.", status=400)
    return HttpResponseRedirect(oidc.start(request, provider, next_url))


@require_GET
def oidc_callback(request: HttpRequest, alias: str) -> HttpResponse:
    provider = _provider(alias, ProviderType.OIDC)
    try:
        entry = oidc.take_pending(request, provider, request.GET.get("state", ""))
        if request.GET.get("error"):
            raise SignInRefused(
                f"The provider answered {request.GET['error']}: {request.GET.get('error_description', '')}"
            )
        code = request.GET.get("code", "")
        if not code:
            raise SignInRefused("The provider sent no code.")
        user, logout_data = oidc.finish(request, provider, code, entry)
    except SignInRefused as refusal:
        return _refused(request, provider, str(refusal))
    response = _sign_in(request, user, entry["next"])
    request.session[oidc.SIGNED_IN_KEY] = logout_data  # after login(), which starts a new session
    return response


def saml_metadata(request: HttpRequest, alias: str) -> HttpResponse:
    provider = _provider(alias, ProviderType.SAML)
    try:
        xml = saml.metadata(request, provider)
    except (SignInRefused, ValueError) as problem:
        return _refused(request, provider, str(problem), status=503)
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


@require_GET
def saml_login(request: HttpRequest, alias: str) -> HttpResponse:
    provider = _provider(alias, ProviderType.SAML)
    next_url = _next_or_refuse(request)
    if next_url is None:
        return _refused(request, provider, "next must be a page of Tessera.", status=400)
    try:
        return HttpResponseRedirect(saml.start(request, provider, next_url))
    except SignInRefused as refusal:
        return _refused(request, provider, str(refusal), status=503)


@csrf_exempt  # the provider's page posts here cross-site; the signed response is the proof
@require_POST
def saml_acs(request: HttpRequest, alias: str) -> HttpResponse:
    provider = _provider(alias, ProviderType.SAML)
    try:
        user, next_url, logout_data = saml.finish(request, provider)
    except SignInRefused as refusal:
        return _refused(request, provider, str(refusal))
    response = _sign_in(request, user, next_url)
    request.session[saml.SESSION_KEY] = logout_data  # after login(), which starts a new session
    return response


@require_GET
def saml_sls(request: HttpRequest, alias: str) -> HttpResponse:
    """Single logout from the provider: its LogoutRequest (it asks us to end the session) or its
    LogoutResponse (to ours)."""
    provider = _provider(alias, ProviderType.SAML)

    def end_session() -> None:
        # Only a session that this provider started: another provider's logout leaves it alone.
        if request.user.is_authenticated and request.session.get(saml.SESSION_KEY, {}).get("provider") == alias:
            logout(request)

    try:
        url = saml.process_logout(request, provider, end_session)
    except SignInRefused as refusal:
        return _refused(request, provider, str(refusal), status=400)
    return HttpResponseRedirect(url or _after_logout())


@require_POST
def sso_logout(request: HttpRequest) -> HttpResponse:
    """Sign out; a session that came from a provider ends there too: SAML single logout, or the
    OpenID provider's end-session endpoint."""
    saml_data, oidc_data = request.session.get(saml.SESSION_KEY), request.session.get(oidc.SIGNED_IN_KEY)
    data = saml_data or oidc_data or {}
    provider = IdentityProvider.objects.filter(alias=data.get("provider", ""), enabled=True).first()
    logout(request)
    url = ""
    try:
        if provider is not None and provider.type == ProviderType.SAML and saml_data and provider.slo_url:
            url = saml.logout_url(request, provider, saml_data, _after_logout())
        elif provider is not None and provider.type == ProviderType.OIDC and oidc_data:
            url = oidc.logout_url(request, provider, oidc_data, _after_logout())
    except SignInRefused:
        log.warning("logout at %s is not possible; signed out here only", provider.alias)
    return HttpResponseRedirect(url or _after_logout())
