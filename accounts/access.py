"""The one answer to "may S do A on R here", and the scope filter behind every ``restrict``.

A rule (subject, role, scope) holds for its scope and everything below it:
account (tenant) > cluster > department > project. Django superusers count as System
administrators of the whole account, so the first administrator always works.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from accounts.principals import AppPrincipal
from accounts.roles import ROLES_BY_ID, SYSTEM_ADMINISTRATOR, RoleDefinition

TENANT, CLUSTER, DEPARTMENT, PROJECT = "tenant", "cluster", "department", "project"


@dataclass(frozen=True)
class Subject:
    """A caller as access rules see it: its type and id, and for users their groups."""

    type: str  # "user", "app" or "" for nobody
    id: str
    groups: tuple[str, ...] = ()
    superuser: bool = False

    @property
    def label(self) -> str:
        return f"{self.type}:{self.id}" if self.type else "anonymous"


NOBODY = Subject("", "")


def subject_of(caller: Any) -> Subject:
    """The subject behind a request's user (a Django user, an application, or anonymous)."""
    if isinstance(caller, Subject):
        return caller
    if isinstance(caller, AppPrincipal):
        app = caller.application
        return Subject("app", app.client_id) if app.enabled else NOBODY
    if caller is None or not getattr(caller, "is_authenticated", False) or not caller.is_active:
        return NOBODY
    groups = tuple(caller.groups.values_list("name", flat=True))
    return Subject("user", caller.get_username(), groups, bool(caller.is_superuser))


@dataclass(frozen=True)
class Grant:
    """One of a subject's rules, resolved: the role's definition and where it holds."""

    role: RoleDefinition
    scope_type: str
    scope_id: str


def grants_of(subject: Subject) -> list[Grant]:
    """Every rule that names the subject (directly or through a group)."""
    from accounts.models import AccessRule

    if not subject.type:
        return []
    names = Q(subject_type=subject.type, subject_id=subject.id)
    if subject.groups:
        names |= Q(subject_type="group", subject_id__in=subject.groups)
    rows = AccessRule.objects.filter(names).values_list("role_id", "scope_type", "scope_id")
    grants = [Grant(ROLES_BY_ID[role_id], scope_type, scope_id) for role_id, scope_type, scope_id in rows]
    if subject.superuser:
        grants.append(Grant(SYSTEM_ADMINISTRATOR, TENANT, "1"))
    return grants


@dataclass(frozen=True)
class ScopePath:
    """Where an object sits in the tree; empty fields are levels above it."""

    cluster: str | None = None
    department: str | None = None
    project: str | None = None

    def covered_by(self, scope_type: str, scope_id: str) -> bool:
        """Whether a rule on (scope_type, scope_id) holds here."""
        if scope_type == TENANT:
            return True
        return {CLUSTER: self.cluster, DEPARTMENT: self.department, PROJECT: self.project}.get(scope_type) == str(
            scope_id
        )


ACCOUNT = ScopePath()


def scope_path(target: Any) -> ScopePath:
    """The scope path of an object (cluster, department, project, workload, access rule) or of a
    scope given as ``(scope_type, scope_id)``; ``None`` is the whole account."""
    from accounts.models import AccessRule
    from clusters.models import Cluster, Department, Project

    if target is None or isinstance(target, ScopePath):
        return target or ACCOUNT
    if isinstance(target, AccessRule):
        target = (target.scope_type, target.scope_id)
    if isinstance(target, tuple):
        scope_type, scope_id = target
        if scope_type == TENANT:
            return ACCOUNT
        model = {CLUSTER: Cluster, DEPARTMENT: Department, PROJECT: Project}[scope_type]
        target = model.objects.get(pk=scope_id)
    if isinstance(target, Cluster):
        return ScopePath(str(target.pk))
    if isinstance(target, Department):
        return ScopePath(str(target.cluster_id), str(target.pk))
    if isinstance(target, Project):
        return ScopePath(str(target.cluster_id), str(target.department_id), str(target.pk))
    project = getattr(target, "project", None)  # a workload, or anything else that lives in a project
    if isinstance(project, Project):
        return scope_path(project)
    raise TypeError(f"no scope for {target!r}")


def may(caller: Any, action: str, resource: str, target: Any = None) -> bool:
    """Whether the caller holds a rule whose role grants ``action`` on ``resource`` in a scope at
    or above ``target`` (an object, a ``(scope_type, scope_id)`` pair, or None for the account)."""
    subject = subject_of(caller)
    grants = [g for g in grants_of(subject) if g.role.grants(resource, action)]
    if not grants:
        return False
    path = scope_path(target)
    return any(path.covered_by(g.scope_type, g.scope_id) for g in grants)


def scope_filter(caller: Any, action: str, resource: str, lookups: dict[str, str]) -> Q:
    """A filter for the objects (of a model whose field paths to each scope level are ``lookups``)
    on which the caller may do ``action`` on ``resource``. Everything for an account-wide rule."""
    grants = [g for g in grants_of(subject_of(caller)) if g.role.grants(resource, action)]
    if any(g.scope_type == TENANT for g in grants):
        return Q()
    query = Q(pk__in=[])
    for level, lookup in lookups.items():
        ids = sorted({g.scope_id for g in grants if g.scope_type == level})
        if ids:
            query |= Q(**{f"{lookup}__in": ids})
    return query


def require(caller: Any, action: str, resource: str, target: Any = None, what: str = "") -> None:
    """Raise ``AccessDenied`` with a clear message unless ``may(...)``."""
    from accounts.errors import AccessDenied

    if not may(caller, action, resource, target):
        where = f" in {what}" if what else ""
        raise AccessDenied(f"You may not {action} {resource.replace('_', ' ')}{where}.")
