"""Identity and access: roles, access rules, applications, issued tokens, sessions, audit events."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.queryset import AccessRuleQuerySet, AppendOnlyQuerySet


class Role(models.Model):
    """A system role as ``accounts.roles`` defines it; seeded by a migration, never edited here."""

    id = models.PositiveIntegerField(primary_key=True)
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class SubjectType(models.TextChoices):
    USER = "user"
    GROUP = "group"
    APP = "app"


class ScopeType(models.TextChoices):
    # Run:ai's API calls the whole account "tenant"; its console calls it "account".
    TENANT = "tenant", "account"
    CLUSTER = "cluster"
    DEPARTMENT = "department"
    PROJECT = "project"


# Scope levels from the top; a rule holds for its scope and everything below it.
SCOPE_LEVELS = (ScopeType.TENANT, ScopeType.CLUSTER, ScopeType.DEPARTMENT, ScopeType.PROJECT)
TENANT_SCOPE_ID = "1"


class AccessRule(models.Model):
    """Subject S has role R in scope X. Created and deleted, never edited."""

    subject_type = models.CharField(max_length=10, choices=SubjectType.choices)
    subject_id = models.CharField(max_length=254)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="access_rules")
    scope_type = models.CharField(max_length=12, choices=ScopeType.choices)
    scope_id = models.CharField(max_length=64)
    cluster_id = models.UUIDField(null=True, blank=True, help_text="The cluster the scope is in, if any.")
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccessRuleQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "role", "scope_type", "scope_id"], name="access_rule_unique"
            )
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} is {self.role_id} in {self.scope_type}:{self.scope_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Access rules are never edited: delete the rule and create a new one.")
        super().save(*args, **kwargs)


class Application(models.Model):
    """A client for automation. Its secret is shown once and stored only as a hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=63, unique=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        """What the application signs in with; access rules name the application by it too."""
        return self.name


class IssuedToken(models.Model):
    """A bearer token we signed; a request's token must have a live record here, so deleting the
    record's application or user, or revoking it, refuses the token at once."""

    jti = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, related_name="tokens")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]


class UserSession(models.Model):
    """A browser session of a user, so that "log out everywhere" can end them all."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Outcome(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"


class AuditEvent(models.Model):
    """One change of state (or attempt at one): who, what, which object, when, from where.
    Append-only: saving an existing event, or deleting one, is refused."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=10)  # user, app or system
    actor = models.CharField(max_length=254)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=254, blank=True)
    object_name = models.CharField(max_length=254, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")
