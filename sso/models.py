"""Identity providers, the external identities they vouch for, and the state a sign-in keeps."""

from django.conf import settings
from django.db import models


class ProviderType(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class IdentityProvider(models.Model):
    """An organisation's identity provider, configured by an administrator.

    What is read from the provider (the OIDC discovery document, the SAML metadata) is fetched
    once, when the provider is saved, and kept here: a sign-in then trusts only what an
    administrator saw configured, and does not depend on a metadata URL answering.
    """

    alias = models.SlugField(max_length=63, unique=True, help_text="Names the provider in URLs and in the API.")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=4, choices=ProviderType.choices)
    enabled = models.BooleanField(default=True)

    # OpenID Connect
    discovery_url = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=500, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    oidc_metadata = models.JSONField(default=dict, blank=True, help_text="The discovery document as fetched.")

    # SAML 2.0
    metadata_url = models.URLField(max_length=500, blank=True)
    metadata_xml = models.TextField(blank=True)
    entity_id = models.CharField(max_length=500, blank=True, help_text="The identity provider's entity id.")
    sso_url = models.URLField(max_length=500, blank=True)
    slo_url = models.URLField(max_length=500, blank=True)
    signing_certificates = models.JSONField(default=list, blank=True)
    allow_unsolicited = models.BooleanField(
        default=False, help_text="Accept responses the provider sends without a request from Tessera."
    )

    # Mapping: where the groups and the e-mail address are in the claims or attributes.
    groups_claim = models.CharField(max_length=255, blank=True, default="groups")
    email_claim = models.CharField(max_length=255, blank=True, default="email")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["alias"]

    def __str__(self) -> str:
        return self.alias


class ExternalIdentity(models.Model):
    """A user as one identity provider knows them: keyed by (provider, subject), never by e-mail."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="identities")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    groups = models.JSONField(default=list, blank=True, help_text="The groups the provider gave at the last sign-in.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_unique")]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.subject}"


class SamlRequest(models.Model):
    """An authentication request Tessera sent and has not yet seen answered. Kept on the server,
    not in a cookie: the answer comes back as a cross-site POST, which carries no SameSite=Lax
    cookie. Used once."""

    id = models.CharField(max_length=100, primary_key=True)
    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="+")
    next_url = models.CharField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(db_index=True)


class SeenAssertion(models.Model):
    """An assertion already used to sign in, kept until it expires, so it cannot be replayed."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "assertion_id"], name="seen_assertion_unique")]
