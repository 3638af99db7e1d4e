"""The request bodies of ``/api/v1/idps``, in Run:ai's shapes (IdpCreationRequest and friends).

Tessera's additions: ``enabled`` and ``samlData.allowUnsolicited``. Fields of Run:ai's shape that
Tessera does not act on yet are accepted and ignored, never refused.
"""

from rest_framework import serializers

from controlplane.serializers import StrictBooleanField, StrictCharField, StrictSerializer
from sso.models import ProviderType
from sso.services.providers import ProviderSettings


class OidcData(StrictSerializer):
    accepted_fields = frozenset({"mandatoryClaim"})
    clientId = StrictCharField(max_length=255)
    clientSecret = StrictCharField(max_length=500, required=False)
    discoverDocumentUrl = serializers.URLField(max_length=500)
    scopes = serializers.ListField(child=StrictCharField(max_length=100), required=False, max_length=30)

    def validate_scopes(self, scopes: list[str]) -> list[str]:
        if scopes and "openid" not in scopes:
            raise serializers.ValidationError("Must include 'openid'.")
        return scopes


class SamlData(StrictSerializer):
    accepted_fields = frozenset({"fileName"})
    metadataXmlUrl = serializers.URLField(max_length=500, required=False)
    metadataXmlFile = StrictCharField(required=False, max_length=1_000_000, trim_whitespace=False)
    metadataXmlType = serializers.ChoiceField(choices=["url", "file"], required=False)
    entityId = StrictCharField(max_length=500, required=False)
    allowUnsolicited = StrictBooleanField(required=False)

    def validate(self, data: dict) -> dict:
        kind = data.get("metadataXmlType") or ("file" if "metadataXmlFile" in data else "url")
        needed = "metadataXmlFile" if kind == "file" else "metadataXmlUrl"
        if not data.get(needed):
            raise serializers.ValidationError({needed: ["This field is required."]})
        return data


class Mappers(StrictSerializer):
    accepted_fields = frozenset({"gid", "uid", "supplementaryGroups"})
    groups = StrictCharField(max_length=255, required=False, allow_blank=True)
    email = StrictCharField(max_length=255, required=False, allow_blank=True)


class IdpRequest(StrictSerializer):
    accepted_fields = frozenset({"ocpData"})
    type = serializers.ChoiceField(choices=ProviderType.values)
    name = StrictCharField(max_length=100, required=False)
    enabled = StrictBooleanField(required=False)
    oidcData = OidcData(required=False)
    samlData = SamlData(required=False)
    mappers = Mappers(required=False)

    def validate(self, data: dict) -> dict:
        needed = "oidcData" if data["type"] == ProviderType.OIDC else "samlData"
        if needed not in data:
            raise serializers.ValidationError({needed: [f"Required for type {data['type']}."]})
        return data

    def settings(self) -> ProviderSettings:
        data = self.validated_data
        oidc, saml, mappers = data.get("oidcData", {}), data.get("samlData", {}), data.get("mappers", {})
        xml_kind = saml.get("metadataXmlType") or ("file" if "metadataXmlFile" in saml else "url")
        return ProviderSettings(
            type=data["type"],
            name=data.get("name", ""),
            enabled=data.get("enabled", True),
            discovery_url=oidc.get("discoverDocumentUrl", ""),
            client_id=oidc.get("clientId", ""),
            client_secret=oidc.get("clientSecret"),
            scopes=oidc.get("scopes", []),
            metadata_url=saml.get("metadataXmlUrl", "") if xml_kind == "url" else "",
            metadata_xml=saml.get("metadataXmlFile", "") if xml_kind == "file" else "",
            entity_id=saml.get("entityId", ""),
            allow_unsolicited=saml.get("allowUnsolicited", False),
            groups_claim=mappers.get("groups", "groups"),
            email_claim=mappers.get("email", "email"),
        )
