"""Identity providers (OpenID Connect, SAML 2.0): the API's request and ``sso.services.providers``,
which ask the gate for the account's security settings themselves."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.access import may, require
from accounts.roles import SECURITY_SETTINGS
from frontend.forms import attempt, page, request_body
from sso.api.serializers import IdpRequest
from sso.api.views import idp_representation
from sso.models import IdentityProvider, ProviderType
from sso.services import providers

IDP_FIELDS = [
    "type", "name", "oidcData.discoverDocumentUrl", "oidcData.clientId", "oidcData.clientSecret", "oidcData.scopes",
    "samlData.metadataXmlUrl", "samlData.metadataXmlFile", "samlData.entityId", "mappers.groups", "mappers.email",
]  # fmt: skip


def _idp_body(request: HttpRequest) -> dict:
    """The form as the API's ``IdpCreationRequest``: only the chosen type's settings travel, and
    the scopes are typed separated by spaces."""
    body = request_body(request.POST)
    body.pop("samlData" if body.get("type") == ProviderType.OIDC else "oidcData", None)
    oidc = body.get("oidcData", {})
    if "scopes" in oidc:
        oidc["scopes"] = oidc["scopes"].split()
    return body


def _add(request: HttpRequest) -> IdentityProvider:
    require(request.user, "create", SECURITY_SETTINGS)
    serializer = IdpRequest(data=_idp_body(request))
    serializer.is_valid(raise_exception=True)
    return providers.create(audit.Origin.of(request), serializer.settings())


@login_required
@page
def identity_providers(request: HttpRequest) -> HttpResponse:
    require(request.user, "read", SECURITY_SETTINGS)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        added, errors = attempt(lambda: _add(request), IDP_FIELDS)
        if added is not None:
            messages.success(request, f"Identity provider {added.name!r} added.")
            return redirect("idp-page-list")
    context = {
        "providers": [idp_representation(request, p) for p in IdentityProvider.objects.order_by("name")],
        "errors": errors,
        "values": request.POST if errors else {"type": ProviderType.OIDC, "oidcData.scopes": "openid email profile"},
        "types": ProviderType.choices,
        "may_create": may(request.user, "create", SECURITY_SETTINGS),
        "may_delete": may(request.user, "delete", SECURITY_SETTINGS),
    }
    return render(request, "frontend/identity_providers.html", context, status=400 if errors else 200)


@require_POST
@login_required
@page
def identity_provider_delete(request: HttpRequest, alias: str) -> HttpResponse:
    require(request.user, "delete", SECURITY_SETTINGS)
    provider = get_object_or_404(IdentityProvider, alias=alias)
    providers.delete(audit.Origin.of(request), provider)
    messages.success(request, f"Identity provider {provider.name!r} removed; its users stay.")
    return redirect("idp-page-list")
