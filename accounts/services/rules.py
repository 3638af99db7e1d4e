"""Access rules: granted and removed, never edited; no escalation; a System administrator stays."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts import audit
from accounts.access import ScopePath, may, require, scope_path
from accounts.errors import AccessDenied, Conflict, Invalid
from accounts.models import TENANT_SCOPE_ID, AccessRule, Application, ScopeType, SubjectType
from accounts.roles import ACCESS_RULES, ACCOUNT_RESOURCES, ROLES_BY_ID, SYSTEM_ADMINISTRATOR, RoleDefinition
from clusters.models import Cluster, Department, Project

SCOPE_ALIASES = {"account": ScopeType.TENANT}


def effective_pairs(role: RoleDefinition, scope_type: str) -> set[tuple[str, str]]:
    """What the role grants in a scope of this type: account-wide resources only count account-wide."""
    pairs = set(role.pairs())
    if scope_type != ScopeType.TENANT:
        pairs = {(res, act) for res, act in pairs if res not in ACCOUNT_RESOURCES}
    return pairs


def check_no_escalation(caller: Any, role: RoleDefinition, scope_type: str, path: ScopePath, verb: str) -> None:
    """Refuse unless the caller holds, in this scope, every permission the role grants there."""
    missing = sorted(pair for pair in effective_pairs(role, scope_type) if not may(caller, pair[1], pair[0], path))
    if missing:
        shown = ", ".join(f"{act} {res}" for res, act in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise AccessDenied(
            f"You may not {verb} the role {role.name!r} in this scope: it grants permissions you do not hold "
            f"there ({shown}{more})."
        )


def resolve_scope(scope_type: str, scope_id: str) -> tuple[str, str, ScopePath, Any]:
    """Validate a scope; returns (type, id, path, cluster id or None)."""
    scope_type = SCOPE_ALIASES.get(scope_type, scope_type)
    if scope_type not in ScopeType.values:
        raise Invalid(f"scopeType must be one of {', '.join(ScopeType.values)}.")
    if scope_type == ScopeType.TENANT:
        return scope_type, TENANT_SCOPE_ID, ScopePath(), None
    model = {"cluster": Cluster, "department": Department, "project": Project}[scope_type]
    scope_id = str(scope_id)
    valid = scope_id.isdigit() if model is not Cluster else is_uuid(scope_id)
    target = model.objects.filter(pk=scope_id).first() if valid else None
    if target is None:
        raise Invalid(f"There is no {scope_type} with id {scope_id!r}.")
    path = scope_path(target)
    return scope_type, str(target.pk), path, path.cluster


def is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _check_subject(subject_type: str, subject_id: str) -> None:
    if subject_type not in SubjectType.values:
        raise Invalid(f"subjectType must be one of {', '.join(SubjectType.values)}.")
    if not subject_id:
        raise Invalid("subjectId must not be empty.")
    if subject_type == SubjectType.USER and not get_user_model().objects.filter(username=subject_id).exists():
        raise Invalid(f"There is no user {subject_id!r}.")
    if subject_type == SubjectType.APP and not Application.objects.filter(name=subject_id).exists():
        raise Invalid(f"There is no application {subject_id!r}.")


def create_rule(
    origin: audit.Origin, subject_type: str, subject_id: str, role_id: int, scope_type: str, scope_id: str
) -> AccessRule:
    """Grant ``role_id`` to the subject in the scope, if the caller may grant all it carries."""
    role = ROLES_BY_ID.get(role_id)
    if role is None:
        raise Invalid(f"There is no role with id {role_id}.")
    _check_subject(subject_type, subject_id)
    scope_type, scope_id, path, cluster_id = resolve_scope(scope_type, scope_id)
    require(origin.caller, "create", ACCESS_RULES, path, f"this {scope_type}")
    check_no_escalation(origin.caller, role, scope_type, path, "grant")
    try:
        with transaction.atomic():
            rule = AccessRule.objects.create(
                subject_type=subject_type,
                subject_id=subject_id,
                role_id=role.id,
                scope_type=scope_type,
                scope_id=scope_id,
                cluster_id=cluster_id,
                created_by=audit.actor_of(origin.caller)[1],
            )
            audit.record(origin, "create", "access_rule", rule.pk, str(rule), role=role.name)
    except IntegrityError:
        same = {"role_id": role.id, "scope_type": scope_type, "scope_id": scope_id}
        if not AccessRule.objects.filter(subject_type=subject_type, subject_id=subject_id, **same).exists():
            raise  # not a duplicate: a real fault, not the caller's
        raise Conflict(f"{subject_type} {subject_id!r} already has the role {role.name!r} in this scope.")
    return rule


def guard_last_system_administrator(rules: list[AccessRule]) -> None:
    """Refuse to remove the account's last System administrator rule(s). Locks those rules, so two
    concurrent removals cannot each leave the other as the last one. Call inside a transaction."""
    key = {"role_id": SYSTEM_ADMINISTRATOR.id, "scope_type": ScopeType.TENANT}
    holders = list(AccessRule.objects.select_for_update().filter(**key).values_list("pk", flat=True))
    leaving = {r.pk for r in rules if r.role_id == SYSTEM_ADMINISTRATOR.id and r.scope_type == ScopeType.TENANT}
    if leaving and not set(holders) - leaving:
        raise Conflict("This is the last System administrator of the account; grant the role to someone else first.")


def delete_rule(origin: audit.Origin, rule: AccessRule) -> None:
    """Remove a rule: the caller must be able to grant it (so nobody removes a stronger admin)."""
    path = scope_path(rule)
    require(origin.caller, "delete", ACCESS_RULES, path, f"this {rule.scope_type}")
    check_no_escalation(origin.caller, ROLES_BY_ID[rule.role_id], rule.scope_type, path, "remove")
    with transaction.atomic():
        guard_last_system_administrator([rule])
        audit.record(origin, "delete", "access_rule", rule.pk, str(rule))
        rule.delete()


def delete_rules_of(subject_type: str, subject_id: str) -> None:
    """Remove every rule naming a subject that is being deleted (inside its transaction)."""
    rules = list(AccessRule.objects.filter(subject_type=subject_type, subject_id=subject_id))
    guard_last_system_administrator(rules)
    AccessRule.objects.filter(pk__in=[r.pk for r in rules]).delete()


def delete_rules_on(scopes: dict[str, list[Any]]) -> int:
    """Remove every rule whose scope is being deleted (``{"project": [ids], ...}``), inside its
    transaction: a rule on a scope that no longer exists would hold for nothing, and a later
    scope with a reused id must not inherit it. Returns how many went."""
    query = Q(pk__in=[])
    for scope_type, ids in scopes.items():
        query |= Q(scope_type=scope_type, scope_id__in=[str(i) for i in ids])
    deleted, _ = AccessRule.objects.filter(query).delete()
    return deleted
