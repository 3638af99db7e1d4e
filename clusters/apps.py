from django.apps import AppConfig


class ClustersConfig(AppConfig):
    """Clusters, their nodes and GPUs, the organisation (departments, projects) and the agent endpoint."""

    name = "clusters"
    default_auto_field = "django.db.models.BigAutoField"
