"""The OpenAPI description of ``/api/v1/idps``' answers, in Run:ai's ``Idp`` shape as
sso/api/views.py:idp_representation writes it. Documentation only: the views build their
answers themselves; these serializers only tell drf-spectacular what those look like."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from controlplane.schema import NO_CONTENT as NO_CONTENT


class MappersResponse(serializers.Serializer):
    groups = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class OidcDataResponse(serializers.Serializer):
    clientId = serializers.CharField()
    discoverDocumentUrl = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    issuer = serializers.CharField(allow_blank=True)


class SamlDataResponse(serializers.Serializer):
    entityId = serializers.CharField(allow_blank=True)
    singleSignOnServiceUrl = serializers.CharField(allow_blank=True)
    singleLogoutServiceUrl = serializers.CharField(allow_blank=True)
    signingCertificate = serializers.CharField(allow_blank=True)
    serviceProviderMetadataUrl = serializers.CharField()
    metadataXmlUrl = serializers.CharField(allow_blank=True)
    allowUnsolicited = serializers.BooleanField()


class IdpResponse(serializers.Serializer):
    """Run:ai's ``Idp``, plus ``name`` and ``enabled``; ``oidcData`` or ``samlData`` by type.
    The client secret is never shown again."""

    alias = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    type = serializers.CharField()
    enabled = serializers.BooleanField()
    mappers = MappersResponse()
    redirectUri = serializers.CharField()
    oidcData = OidcDataResponse(required=False)
    samlData = SamlDataResponse(required=False)


IDP_CREATED = inline_serializer("IdpCreated", {"alias": serializers.CharField()})
