"""Accounts objects as Run:ai's API (and so ``runapy``) shows them."""

from typing import Any

from accounts.models import AccessRule, Application, AuditEvent
from accounts.roles import RoleDefinition
from controlplane.formats import iso_time

# Run:ai groups resource types for display; Tessera's resources fall in these.
RESOURCE_GROUPS = {
    "tenant": "organization", "cluster": "organization", "nodepools": "organization", "nodes": "organization",
    "department": "organization", "project": "organization", "workloads": "workloads", "trainings": "workloads",
    "workspaces": "workloads", "inferences": "workloads",
    "users": "management", "apps": "management", "roles": "management", "access_rules": "management",
    "audit-logs": "management", "security-settings": "management", "dashboards-overview": "analytics",
}  # fmt: skip
EPOCH = "2026-01-01T00:00:00Z"  # system roles exist from the start; they are never updated


def role_representation(role: RoleDefinition) -> dict[str, Any]:
    """Run:ai's ``RoleV1``."""
    return {
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "permissions": [
            {
                "resourceType": resource,
                "displayName": resource.replace("_", " ").replace("-", " ").capitalize(),
                "groupId": RESOURCE_GROUPS[resource],
                "actions": [a for a in ("create", "read", "update", "delete") if a in actions],
            }
            for resource, actions in sorted(role.permissions.items())
        ],
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "deletedAt": None,
        "createdBy": "system",
        "custom": False,
        "enabled": True,
        "effectiveEnabled": True,
        "kubernetesPermissions": None,
    }


def scope_names(rules: list[AccessRule]) -> dict[tuple[str, str], str]:
    """The names of the rules' scopes, three queries at most, for ``scopeName``."""
    from clusters.models import Cluster, Department, Project

    names: dict[tuple[str, str], str] = {("tenant", "1"): "account"}
    for scope_type, model in (("cluster", Cluster), ("department", Department), ("project", Project)):
        ids = {r.scope_id for r in rules if r.scope_type == scope_type}
        if ids:
            names.update(
                {(scope_type, str(pk)): name for pk, name in model.objects.filter(pk__in=ids).values_list("pk", "name")}
            )
    return names


def access_rule_representation(rule: AccessRule, scope_name: str = "") -> dict[str, Any]:
    """Run:ai's ``AccessRule``."""
    return {
        "id": rule.pk,
        "subjectId": rule.subject_id,
        "subjectType": rule.subject_type,
        "roleId": rule.role_id,
        "roleName": rule.role.name,
        "scopeId": rule.scope_id,
        "scopeType": rule.scope_type,
        "scopeName": scope_name,
        "clusterId": str(rule.cluster_id) if rule.cluster_id else None,
        "tenantId": 1,
        "createdBy": rule.created_by,
        "createdAt": iso_time(rule.created_at),
        "updatedAt": iso_time(rule.created_at),
        "deletedAt": None,
    }


def application_representation(app: Application) -> dict[str, Any]:
    """Run:ai's ``Application`` (never with its secret)."""
    return {
        "id": str(app.pk),
        "name": app.name,
        "clientId": app.client_id,
        "enabled": app.enabled,
        "tenantId": "1",
        "createdBy": app.created_by,
        "createdAt": iso_time(app.created_at),
        "updatedAt": iso_time(app.updated_at),
        "lastLogin": iso_time(app.last_login),
    }


def user_representation(user: Any) -> dict[str, Any]:
    """Run:ai's ``User``."""
    return {
        "id": str(user.pk),
        "username": user.get_username(),
        "createdBy": "",
        "createdAt": iso_time(user.date_joined),
        "updatedAt": iso_time(user.date_joined),
        "lastLogin": iso_time(user.last_login),
        # Users a provider created have no password of ours; they sign in only through it.
        "isLocal": user.has_usable_password(),
        "groups": [g.name for g in user.groups.all()],
    }


def audit_representation(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "timestamp": iso_time(event.at),
        "subjectType": event.actor_type,
        "subject": event.actor,
        "action": event.action,
        "entityType": event.object_type,
        "entityId": event.object_id,
        "entityName": event.object_name,
        "sourceIp": event.address,
        "httpStatusCode": None,
        "result": event.outcome,
        "details": event.detail,
    }
