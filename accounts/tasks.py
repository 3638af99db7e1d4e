"""Periodic housekeeping of the accounts app, run by Celery beat in production."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import IssuedToken


@shared_task(name="accounts.tasks.purge_expired_tokens")
def purge_expired_tokens() -> int:
    """Forget token records a day after they expired: an expired token is refused by its ``exp``
    claim alone, so its record (revoked or not) is no longer needed. Returns how many went."""
    deleted, _ = IssuedToken.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted
