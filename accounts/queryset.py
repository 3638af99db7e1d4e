"""Query sets shared by the accounts models."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes, so the audit log cannot be rewritten through the ORM."""

    def update(self, **kwargs: Any) -> int:
        raise ValidationError("Audit events are append-only.")

    def delete(self) -> Any:
        raise ValidationError("Audit events are append-only.")


class AccessRuleQuerySet(models.QuerySet):
    """Access rules, with the gate: a caller sees the rules in the scopes where his roles let him
    read access rules, and in everything below them."""

    def restrict(self, user: Any, action: str = "read") -> "AccessRuleQuerySet":
        from accounts.access import grants_of, subject_of
        from clusters.models import Department, Project

        grants = [g for g in grants_of(subject_of(user)) if g.role.grants("access_rules", action)]
        if any(g.scope_type == "tenant" for g in grants):
            return self.all()
        ids = {level: {g.scope_id for g in grants if g.scope_type == level} for level in ("cluster", "department")}
        projects = {g.scope_id for g in grants if g.scope_type == "project"}
        departments = ids["department"] | {
            str(pk) for pk in Department.objects.filter(cluster_id__in=ids["cluster"]).values_list("pk", flat=True)
        }
        projects |= {
            str(pk)
            for pk in Project.objects.filter(
                models.Q(cluster_id__in=ids["cluster"]) | models.Q(department_id__in=departments)
            ).values_list("pk", flat=True)
        }
        return self.filter(
            models.Q(scope_type="cluster", scope_id__in=ids["cluster"])
            | models.Q(scope_type="department", scope_id__in=departments)
            | models.Q(scope_type="project", scope_id__in=projects)
        )
