"""Models the apps share: the record of requests made with an idempotency key."""

from django.db import models


class IdempotentRequest(models.Model):
    """A creation made with an ``Idempotency-Key``: a retry with the same key and body gets the
    first answer back instead of creating again. ``status`` is None while the first is running."""

    subject = models.CharField(max_length=300)
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "key", "path"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.subject} {self.key} {self.path}"
