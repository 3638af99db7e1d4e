from django.apps import AppConfig


class UsageConfig(AppConfig):
    """GPU usage over time: the agents' metric samples, hourly roll-ups, exports and retention."""

    name = "usage"
    default_auto_field = "django.db.models.BigAutoField"
