from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users and sign-in. Roles, access rules, applications and tokens grow here."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
