"""The system roles, written once: each role is a fixed set of (resource, action) permissions.

This table is the only source. A data migration seeds it into ``accounts.Role`` (so access rules
can refer to roles by id, as Run:ai's API does), the API and the roles page render it, and
``accounts.access.may`` reads it. Resource names follow Run:ai's ``ResourceType`` where Run:ai has
one; actions are Run:ai's ``create``, ``read``, ``update`` and ``delete``.
"""

from dataclasses import dataclass

CREATE, READ, UPDATE, DELETE = "create", "read", "update", "delete"
ACTIONS = (CREATE, READ, UPDATE, DELETE)
CRUD = frozenset(ACTIONS)
R = frozenset({READ})

# The resources Tessera has. Workloads of each type are their own resource, as in Run:ai.
TENANT = "tenant"
CLUSTER = "cluster"
NODEPOOLS = "nodepools"
NODES = "nodes"
DEPARTMENT = "department"
PROJECT = "project"
WORKLOADS = "workloads"
TRAININGS = "trainings"
WORKSPACES = "workspaces"
INFERENCES = "inferences"
USERS = "users"
APPS = "apps"
ROLES = "roles"
ACCESS_RULES = "access_rules"
AUDIT = "audit-logs"
DASHBOARDS = "dashboards-overview"
# Run:ai's name for the account's security settings, which include its identity providers.
SECURITY_SETTINGS = "security-settings"

RESOURCES = (
    TENANT, CLUSTER, NODEPOOLS, NODES, DEPARTMENT, PROJECT, WORKLOADS, TRAININGS, WORKSPACES, INFERENCES,
    USERS, APPS, ROLES, ACCESS_RULES, AUDIT, DASHBOARDS, SECURITY_SETTINGS,
)  # fmt: skip

# Resources that exist once per account: a permission on them only counts in a rule whose scope
# is the whole account.
ACCOUNT_RESOURCES = frozenset({TENANT, USERS, APPS, AUDIT, SECURITY_SETTINGS})


@dataclass(frozen=True)
class RoleDefinition:
    """A system role: its stable id (what access rules store), name, description and grants."""

    id: int
    name: str
    description: str
    permissions: dict[str, frozenset[str]]

    def grants(self, resource: str, action: str) -> bool:
        return action in self.permissions.get(resource, frozenset())

    def pairs(self) -> frozenset[tuple[str, str]]:
        """Every (resource, action) the role grants."""
        return frozenset((res, act) for res, acts in self.permissions.items() for act in acts)


_SEE_ORG = {CLUSTER: R, NODEPOOLS: R, NODES: R, DEPARTMENT: R, PROJECT: R, ROLES: R}
_RUN_WORK = {WORKLOADS: CRUD, TRAININGS: CRUD, WORKSPACES: CRUD, INFERENCES: CRUD}
_SEE_WORK = {WORKLOADS: R, TRAININGS: R, WORKSPACES: R, INFERENCES: R}

SYSTEM_ADMINISTRATOR = RoleDefinition(
    1,
    "System administrator",
    "Everything, everywhere in its scope: the organisation, users, applications, access rules, audit log.",
    {resource: CRUD for resource in RESOURCES} | {ROLES: R, AUDIT: R},
)

ROLE_DEFINITIONS: tuple[RoleDefinition, ...] = (
    SYSTEM_ADMINISTRATOR,
    RoleDefinition(
        2,
        "Department administrator",
        "Runs departments: their projects, workloads and who may work in them.",
        _SEE_ORG
        | _RUN_WORK
        | {DEPARTMENT: frozenset({READ, UPDATE}), PROJECT: CRUD, ACCESS_RULES: CRUD, USERS: R, APPS: R, DASHBOARDS: R},
    ),  # fmt: skip
    RoleDefinition(
        3,
        "Department viewer",
        "Sees departments, their projects and workloads.",
        _SEE_ORG | _SEE_WORK | {DASHBOARDS: R},
    ),
    RoleDefinition(
        4,
        "Editor",
        "Shapes the organisation: departments and projects and their quotas; sees workloads.",
        _SEE_ORG
        | {
            DEPARTMENT: CRUD,
            PROJECT: CRUD,
            NODEPOOLS: CRUD,
            **_SEE_WORK,
            ACCESS_RULES: R,
            DASHBOARDS: R,
        },
    ),  # fmt: skip
    RoleDefinition(
        5,
        "Research manager",
        "Manages the research work of projects: submits and stops any workload in them.",
        _SEE_ORG | _RUN_WORK | {DASHBOARDS: R},
    ),
    RoleDefinition(
        6,
        "L1 researcher",
        "Submits and manages workloads in projects, with the dashboards.",
        _SEE_ORG | _RUN_WORK | {DASHBOARDS: R},
    ),
    RoleDefinition(
        7,
        "L2 researcher",
        "Submits and manages workloads in projects; no dashboards.",
        {PROJECT: R, CLUSTER: R, DEPARTMENT: R, ROLES: R} | _RUN_WORK,
    ),
    RoleDefinition(
        8,
        "ML engineer",
        "Serves models: runs inference workloads and sees the others.",
        _SEE_ORG | {WORKLOADS: R, INFERENCES: CRUD, DASHBOARDS: R},
    ),
    RoleDefinition(
        9,
        "Viewer",
        "Sees everything in its scope and changes nothing.",
        _SEE_ORG | _SEE_WORK | {ACCESS_RULES: R, DASHBOARDS: R},
    ),
    # Run:ai's asset administrators. Tessera has no assets (environments, compute resources,
    # credentials, data sources, templates) yet, so for now these roles see the organisation only.
    RoleDefinition(10, "Environment administrator", "Manages environments (assets).", dict(_SEE_ORG)),
    RoleDefinition(11, "Compute resource administrator", "Manages compute resources (assets).", dict(_SEE_ORG)),
    RoleDefinition(12, "Credentials administrator", "Manages credentials (assets).", dict(_SEE_ORG)),
    RoleDefinition(13, "Data source administrator", "Manages data sources (assets).", dict(_SEE_ORG)),
    RoleDefinition(14, "Template administrator", "Manages workload templates (assets).", dict(_SEE_ORG)),
)

ROLES_BY_ID: dict[int, RoleDefinition] = {role.id: role for role in ROLE_DEFINITIONS}


def seed_roles(role_model: type) -> None:
    """Write this table into the ``Role`` table (the migration's model or the real one)."""
    for definition in ROLE_DEFINITIONS:
        role_model.objects.update_or_create(
            id=definition.id, defaults={"name": definition.name, "description": definition.description}
        )
    role_model.objects.exclude(id__in=[d.id for d in ROLE_DEFINITIONS]).delete()
