from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Single sign-on: identity providers (OpenID Connect, SAML 2.0) and the identities they vouch for."""

    name = "sso"
    verbose_name = "Single sign-on"
    default_auto_field = "django.db.models.BigAutoField"
