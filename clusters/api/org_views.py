"""Departments and projects (``/api/v1/org-unit/...``): thin views over ``clusters.org``.

Reads go through the gate (``restrict``); every change asks ``require`` for the target's scope
and is written to the audit log.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from clusters import org
from clusters.api import schemas
from clusters.api.representations import ORG_PREFETCH, department_representation, project_representation
from clusters.api.serializers import (
    OrgUnitCreationSerializer,
    OrgUnitUpdateSerializer,
    ProjectCreationSerializer,
    ProjectUpdateSerializer,
    quota_inputs,
)
from clusters.models import Department, Project
from controlplane import listing
from controlplane.idempotency import idempotent
from controlplane.listing import Field


def _departments(request: Request, action: str = "read") -> Any:
    return Department.objects.restrict(request.user, action).prefetch_related(*ORG_PREFETCH, "projects")


def _projects(request: Request, action: str = "read") -> Any:
    return Project.objects.restrict(request.user, action).select_related("department").prefetch_related(*ORG_PREFETCH)


DEPARTMENT_FIELDS = {
    "id": Field("id", "int"),
    "name": Field("name"),
    "clusterId": Field("cluster_id", "uuid"),
    "createdAt": Field("created_at", "date"),
    "updatedAt": Field("updated_at", "date"),
}
PROJECT_FIELDS = {
    **DEPARTMENT_FIELDS,
    "parentId": Field("department_id", "int"),
    "parentName": Field("department__name"),
}


def _create_department(request: Request, data: dict[str, Any]) -> Department:
    cluster = data["clusterId"]
    require(request.user, "create", "department", cluster, f"cluster {cluster.name!r}")
    return org.create_department(cluster, data["name"], data["description"], quota_inputs(cluster, data["resources"]))


def _update_department(department: Department, data: dict[str, Any]) -> None:
    org.update_department(department, data["description"], quota_inputs(department.cluster, data["resources"]))


def _create_project(request: Request, data: dict[str, Any]) -> Project:
    department, cluster = data["department"], data["clusterId"]
    require(request.user, "create", "project", department, f"department {department.name!r}")
    quotas = quota_inputs(cluster, data["resources"])
    return org.create_project(department, data["name"], data["description"], quotas, data["defaultNodePools"] or [])


def _update_project(project: Project, data: dict[str, Any]) -> None:
    quotas = quota_inputs(project.cluster, data["resources"])
    org.update_project(project, data["description"], quotas, data["defaultNodePools"] or [])


@dataclass(frozen=True)
class OrgUnitKind:
    """What tells departments and projects apart for the views (and pages) they share: how a
    request for each is validated and carried out."""

    resource: str
    list_key: str
    objects: Callable[[Request], Any]
    fields: dict[str, Field]
    representation: Callable[[Any], dict[str, Any]]
    creation_serializer: type
    create: Callable[[Request, dict[str, Any]], Any]
    """Ask the gate, then create from validated data."""
    update_serializer: type
    update: Callable[[Any, dict[str, Any]], None]
    """Change the unit from validated data (the caller has asked the gate)."""
    delete: Callable[[Any], None]

    def created(self, request: Request, body: Any) -> Any:
        """Validate a creation request, carry it out and audit it; the new unit."""
        serializer = self.creation_serializer(data=body, context={"request": request})
        serializer.is_valid(raise_exception=True)
        unit = self.create(request, serializer.validated_data)
        audit.record(audit.Origin.of(request), "create", self.resource, unit.pk, unit.name)
        return unit

    def updated(self, request: Request, unit: Any, body: Any) -> None:
        """Ask the gate, validate an update request, carry it out and audit it."""
        require(request.user, "update", self.resource, unit, f"{self.resource} {unit.name!r}")
        serializer = self.update_serializer(data=body, context={"request": request})
        serializer.is_valid(raise_exception=True)
        self.update(unit, serializer.validated_data)
        audit.record(audit.Origin.of(request), "update", self.resource, unit.pk, unit.name)


DEPARTMENTS = OrgUnitKind(
    "department", "departments", _departments, DEPARTMENT_FIELDS, department_representation,
    OrgUnitCreationSerializer, _create_department, OrgUnitUpdateSerializer, _update_department,
    org.delete_department,
)  # fmt: skip
PROJECTS = OrgUnitKind(
    "project", "projects", _projects, PROJECT_FIELDS, project_representation,
    ProjectCreationSerializer, _create_project, ProjectUpdateSerializer, _update_project,
    org.delete_project,
)  # fmt: skip


class OrgUnitListView(APIView):
    """List (GET) departments or projects; each kind creates (POST) in its own way."""

    kind: OrgUnitKind

    def get(self, request: Request) -> Response:
        found = listing.page(self.kind.objects(request), request.query_params, self.kind.fields)
        return Response({self.kind.list_key: [self.kind.representation(u) for u in found.items], "next": found.next})

    def created(self, request: Request) -> Response:
        unit = self.kind.created(request, request.data)
        return Response(self.kind.representation(self.kind.objects(request).get(pk=unit.pk)), status=201)


class OrgUnitCountView(APIView):
    kind: OrgUnitKind

    def get(self, request: Request) -> Response:
        units = self.kind.objects(request)
        return Response({"count": listing.narrowed(units, request.query_params, self.kind.fields).count()})


class OrgUnitDetailView(APIView):
    kind: OrgUnitKind

    def get(self, request: Request, unit_id: int) -> Response:
        return Response(self.kind.representation(get_object_or_404(self.kind.objects(request), pk=unit_id)))

    def put(self, request: Request, unit_id: int) -> Response:
        unit = get_object_or_404(self.kind.objects(request), pk=unit_id)
        self.kind.updated(request, unit, request.data)
        return Response(self.kind.representation(self.kind.objects(request).get(pk=unit.pk)))

    def delete(self, request: Request, unit_id: int) -> Response:
        unit = get_object_or_404(self.kind.objects(request), pk=unit_id)
        require(request.user, "delete", self.kind.resource, unit, f"{self.kind.resource} {unit.name!r}")
        pk = unit.pk
        self.kind.delete(unit)
        audit.record(audit.Origin.of(request), "delete", self.kind.resource, pk, unit.name)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(parameters=schemas.LIST_PARAMETERS, responses={200: schemas.DEPARTMENT_LIST}))
class DepartmentListView(OrgUnitListView):
    kind = DEPARTMENTS

    @extend_schema(
        parameters=[schemas.IDEMPOTENCY_KEY],
        request=OrgUnitCreationSerializer,
        responses={201: schemas.DepartmentResponse},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        return self.created(request)


@extend_schema_view(get=extend_schema(parameters=schemas.COUNT_PARAMETERS, responses={200: schemas.COUNT}))
class DepartmentCountView(OrgUnitCountView):
    kind = DEPARTMENTS


@extend_schema_view(
    get=extend_schema(responses={200: schemas.DepartmentResponse}),
    put=extend_schema(request=OrgUnitUpdateSerializer, responses={200: schemas.DepartmentResponse}),
    delete=extend_schema(responses={204: schemas.NO_CONTENT}),
)
class DepartmentDetailView(OrgUnitDetailView):
    kind = DEPARTMENTS


@extend_schema_view(get=extend_schema(parameters=schemas.COUNT_PARAMETERS, responses={200: schemas.COUNT}))
class ProjectCountView(OrgUnitCountView):
    kind = PROJECTS


@extend_schema_view(
    get=extend_schema(responses={200: schemas.ProjectResponse}),
    put=extend_schema(request=ProjectUpdateSerializer, responses={200: schemas.ProjectResponse}),
    delete=extend_schema(responses={204: schemas.NO_CONTENT}),
)
class ProjectDetailView(OrgUnitDetailView):
    kind = PROJECTS


@extend_schema_view(get=extend_schema(parameters=schemas.LIST_PARAMETERS, responses={200: schemas.PROJECT_LIST}))
class ProjectListView(OrgUnitListView):
    kind = PROJECTS

    @extend_schema(
        parameters=[schemas.IDEMPOTENCY_KEY],
        request=ProjectCreationSerializer,
        responses={201: schemas.ProjectResponse},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        return self.created(request)
