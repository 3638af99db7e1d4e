from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """Server-rendered pages and their small JavaScript."""

    name = "frontend"
    default_auto_field = "django.db.models.BigAutoField"
