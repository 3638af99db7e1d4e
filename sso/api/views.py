"""``/api/v1/idps``, as Run:ai has it: identity providers, for System administrators only."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from accounts.errors import NotFound
from accounts.roles import SECURITY_SETTINGS
from sso.api import schemas
from sso.api.serializers import IdpRequest, Mappers
from sso.models import IdentityProvider, ProviderType
from sso.services import oidc, providers, saml


def idp_representation(request: Request, provider: IdentityProvider) -> dict[str, Any]:
    """Run:ai's Idp, plus ``name`` and ``enabled``. The client secret is never shown again."""
    body: dict[str, Any] = {
        "alias": provider.alias,
        "name": provider.name,
        "type": provider.type,
        "enabled": provider.enabled,
        "mappers": {"groups": provider.groups_claim, "email": provider.email_claim},
    }
    if provider.type == ProviderType.OIDC:
        body["redirectUri"] = oidc.callback_url(request, provider)
        body["oidcData"] = {"clientId": provider.client_id, "discoverDocumentUrl": provider.discovery_url,
                            "scopes": provider.scopes, "issuer": provider.oidc_metadata.get("issuer", "")}  # fmt: skip
    else:
        urls = saml.sp_urls(request, provider)
        body["redirectUri"] = urls["acs"]
        body["samlData"] = {
            "entityId": provider.entity_id,
            "singleSignOnServiceUrl": provider.sso_url,
            "singleLogoutServiceUrl": provider.slo_url,
            "signingCertificate": (provider.signing_certificates or [""])[0],
            "serviceProviderMetadataUrl": urls["entity_id"],
            "metadataXmlUrl": provider.metadata_url,
            "allowUnsolicited": provider.allow_unsolicited,
        }
    return body


def _provider(request: Request, alias: str, action: str) -> IdentityProvider:
    require(request.user, action, SECURITY_SETTINGS)
    provider = IdentityProvider.objects.filter(alias=alias).first()
    if provider is None:
        raise NotFound(f"There is no identity provider {alias!r}.")
    return provider


class IdpListView(APIView):
    @extend_schema(responses={200: schemas.IdpResponse(many=True)})
    def get(self, request: Request) -> Response:
        require(request.user, "read", SECURITY_SETTINGS)
        return Response([idp_representation(request, p) for p in IdentityProvider.objects.all()])

    @extend_schema(request=IdpRequest, responses={201: schemas.IDP_CREATED})
    def post(self, request: Request) -> Response:
        require(request.user, "create", SECURITY_SETTINGS)
        body = IdpRequest(data=request.data)
        body.is_valid(raise_exception=True)
        provider = providers.create(audit.Origin.of(request), body.settings())
        return Response({"alias": provider.alias}, status=status.HTTP_201_CREATED)


class IdpDetailView(APIView):
    @extend_schema(responses={200: schemas.IdpResponse})
    def get(self, request: Request, alias: str) -> Response:
        return Response(idp_representation(request, _provider(request, alias, "read")))

    @extend_schema(request=IdpRequest, responses={200: schemas.IdpResponse})
    def put(self, request: Request, alias: str) -> Response:
        provider = _provider(request, alias, "update")
        body = IdpRequest(data=request.data)
        body.is_valid(raise_exception=True)
        providers.update(audit.Origin.of(request), provider, body.settings())
        return Response(idp_representation(request, provider))

    @extend_schema(responses={204: schemas.NO_CONTENT})
    def delete(self, request: Request, alias: str) -> Response:
        providers.delete(audit.Origin.of(request), _provider(request, alias, "delete"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdpMappersView(APIView):
    @extend_schema(responses={200: schemas.MappersResponse})
    def get(self, request: Request, alias: str) -> Response:
        return Response(idp_representation(request, _provider(request, alias, "read"))["mappers"])

    @extend_schema(request=Mappers, responses={200: schemas.MappersResponse})
    def put(self, request: Request, alias: str) -> Response:
        provider = _provider(request, alias, "update")
        body = Mappers(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        providers.update_mappers(audit.Origin.of(request), provider, data.get("groups", provider.groups_claim),
                                 data.get("email", provider.email_claim))  # fmt: skip
        return Response(idp_representation(request, provider)["mappers"])
