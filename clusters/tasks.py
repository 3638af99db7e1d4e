"""Periodic work on clusters, run by Celery beat in production."""

from celery import shared_task

from clusters import services


@shared_task(name="clusters.tasks.mark_silent_clusters_offline")
def mark_silent_clusters_offline() -> list[str]:
    """Mark offline every cluster whose agent missed its heartbeats; returns their names."""
    return services.mark_silent_clusters_offline()
