"""Identity providers as administrators configure them: created, changed, removed, each audited.

What the provider publishes (discovery document, SAML metadata) is fetched and checked here, so a
provider that cannot be used is refused when it is saved, with the field that is wrong.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.text import slugify
from rest_framework.exceptions import ValidationError

from accounts import audit
from accounts.access import require
from accounts.roles import SECURITY_SETTINGS
from sso.models import IdentityProvider, ProviderType
from sso.services import oidc, saml


@dataclass
class ProviderSettings:
    """What an administrator sets, whatever the API's shape."""

    type: str
    name: str = ""
    enabled: bool = True
    discovery_url: str = ""
    client_id: str = ""
    client_secret: str | None = None  # None on an update: keep the stored one
    scopes: list[str] = field(default_factory=list)
    metadata_url: str = ""
    metadata_xml: str = ""
    entity_id: str = ""
    allow_unsolicited: bool = False
    groups_claim: str = "groups"
    email_claim: str = "email"


def _unused_alias(name: str) -> str:
    base = slugify(name)[:50] or "idp"
    alias, n = base, 1
    while IdentityProvider.objects.filter(alias=alias).exists():
        n += 1
        alias = f"{base}-{n}"
    return alias


def _apply(provider: IdentityProvider, wanted: ProviderSettings) -> None:
    """Copy the settings onto the provider, fetching what the provider publishes."""
    provider.name = wanted.name or provider.name or wanted.type
    provider.enabled = wanted.enabled
    provider.groups_claim = wanted.groups_claim
    provider.email_claim = wanted.email_claim
    if wanted.type == ProviderType.OIDC:
        prefix = "oidcData"
        if not wanted.client_id:
            raise ValidationError({f"{prefix}.clientId": ["This field is required."]})
        if wanted.client_secret is None and not provider.client_secret:
            raise ValidationError({f"{prefix}.clientSecret": ["This field is required."]})
        try:
            provider.oidc_metadata = oidc.discover(wanted.discovery_url)
        except ValueError as exc:
            raise ValidationError({f"{prefix}.discoverDocumentUrl": [str(exc)]}) from None
        provider.discovery_url = wanted.discovery_url
        provider.client_id = wanted.client_id
        if wanted.client_secret is not None:
            provider.client_secret = wanted.client_secret
        provider.scopes = wanted.scopes
    else:
        source = "samlData.metadataXmlUrl" if wanted.metadata_url else "samlData.metadataXmlFile"
        if not wanted.metadata_url and not wanted.metadata_xml:
            raise ValidationError(
                {"samlData.metadataXmlUrl": ["Give the metadata's URL or its XML (metadataXmlFile)."]}
            )
        try:
            found = saml.read_metadata(wanted.metadata_xml, wanted.metadata_url, wanted.entity_id)
        except ValueError as exc:
            raise ValidationError({source: [str(exc)]}) from None
        provider.metadata_url = wanted.metadata_url
        provider.metadata_xml = found["xml"]
        provider.entity_id = found["entity_id"]
        provider.sso_url = found["sso_url"]
        provider.slo_url = found["slo_url"]
        provider.signing_certificates = found["signing_certificates"]
        provider.allow_unsolicited = wanted.allow_unsolicited


def create(origin: audit.Origin, wanted: ProviderSettings) -> IdentityProvider:
    require(origin.caller, "create", SECURITY_SETTINGS)
    provider = IdentityProvider(type=wanted.type)
    _apply(provider, wanted)
    with transaction.atomic():
        provider.alias = _unused_alias(provider.name)
        provider.save()
        audit.record(origin, "create", "identity_provider", provider.pk, provider.alias, type=provider.type)
    return provider


def update(origin: audit.Origin, provider: IdentityProvider, wanted: ProviderSettings) -> IdentityProvider:
    require(origin.caller, "update", SECURITY_SETTINGS)
    if wanted.type != provider.type:
        raise ValidationError({"type": [f"The provider is of type {provider.type}; create a new one instead."]})
    _apply(provider, wanted)
    with transaction.atomic():
        provider.save()
        audit.record(origin, "update", "identity_provider", provider.pk, provider.alias)
    return provider


def update_mappers(origin: audit.Origin, provider: IdentityProvider, groups: str, email: str) -> IdentityProvider:
    require(origin.caller, "update", SECURITY_SETTINGS)
    provider.groups_claim, provider.email_claim = groups, email
    with transaction.atomic():
        provider.save(update_fields=["groups_claim", "email_claim", "updated_at"])
        audit.record(origin, "update", "identity_provider", provider.pk, provider.alias, mappers=True)
    return provider


def delete(origin: audit.Origin, provider: IdentityProvider) -> None:
    """Remove the provider and the links of its users; the users stay, with what they own."""
    require(origin.caller, "delete", SECURITY_SETTINGS)
    with transaction.atomic():
        audit.record(origin, "delete", "identity_provider", provider.pk, provider.alias)
        provider.delete()


def enabled_providers() -> Any:
    return IdentityProvider.objects.filter(enabled=True).order_by("name")
