from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, groups, applications, roles, access rules, tokens, sign-in and the audit log."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (connects the sign-in receivers)
