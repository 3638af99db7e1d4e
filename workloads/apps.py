from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    """Workloads, their lifecycle, events and logs."""

    name = "workloads"
    default_auto_field = "django.db.models.BigAutoField"
