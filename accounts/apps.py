from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, groups, applications, roles, access rules, tokens, sign-in and the audit log."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import signals  # connects the sign-in receivers

        post_migrate.connect(signals.reseed_roles, sender=self, dispatch_uid="accounts.reseed_roles")
        signals.connect_scope_cleanup()
