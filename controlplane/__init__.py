"""Project package of the Tessera control plane: settings, routing and the Celery app."""

from controlplane.celery import app as celery_app

__all__ = ["celery_app"]
