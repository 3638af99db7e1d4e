"""Which buttons and menu entries a subject sees. Every answer comes from the one gate
(``accounts.access.may`` and ``restrict``), the same that the API and the pages' own POST
handlers ask, so a hidden button is one the server would refuse anyway."""

from typing import Any

from django.urls import reverse

from accounts.access import may
from accounts.roles import APPS, AUDIT, SECURITY_SETTINGS, USERS
from clusters.models import Cluster, Project

WORKLOAD_RESOURCES = ("trainings", "workspaces", "inferences")


def may_anywhere(user: Any, action: str, resource: str) -> bool:
    """Whether the subject may do ``action`` on ``resource`` in at least one project."""
    return Project.objects.restrict(user, action, resource).exists()


def submittable_projects(user: Any) -> dict[str, Any]:
    """For each workload type, the projects in which the subject may submit one."""
    return {resource: Project.objects.restrict(user, "create", resource) for resource in WORKLOAD_RESOURCES}


def navigation_for(user: Any) -> list[tuple[str, str, bool]]:
    """(url, label, shown) for each entry of the main menu."""
    reads_clusters = Cluster.objects.restrict(user, "read").exists()
    return [
        (reverse("overview"), "Overview", reads_clusters),
        (reverse("workload-page-list"), "Workloads", True),
        (reverse("cluster-page-list"), "Clusters", reads_clusters),
        (reverse("department-page-list"), "Departments", reads_clusters),
        (reverse("project-page-list"), "Projects", reads_clusters),
        (reverse("user-page-list"), "Users", may(user, "read", USERS)),
        (reverse("application-page-list"), "Applications", may(user, "read", APPS)),
        (reverse("access-rule-page-list"), "Access rules", True),
        (reverse("roles"), "Roles", True),
        (reverse("audit-page"), "Audit log", may(user, "read", AUDIT)),
        (reverse("idp-page-list"), "Identity providers", may(user, "read", SECURITY_SETTINGS)),
    ]
