"""Departments and projects (``/api/v1/org-unit/...``): thin views over ``clusters.org``.

Reads go through the gate (``restrict``); every change asks ``require`` for the target's scope
and is written to the audit log.
"""

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from clusters import org
from clusters.api.representations import ORG_PREFETCH, department_representation, project_representation
from clusters.api.serializers import (
    OrgUnitCreationSerializer,
    OrgUnitUpdateSerializer,
    ProjectCreationSerializer,
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


def _valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DepartmentListView(APIView):
    def get(self, request: Request) -> Response:
        found = listing.page(_departments(request), request.query_params, DEPARTMENT_FIELDS)
        return Response({"departments": [department_representation(d) for d in found.items], "next": found.next})

    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(OrgUnitCreationSerializer, request)
        cluster = data["clusterId"]
        require(request.user, "create", "department", cluster, f"cluster {cluster.name!r}")
        quotas = quota_inputs(cluster, data["resources"])
        department = org.create_department(cluster, data["name"], data["description"], quotas)
        audit.record(audit.Origin.of(request), "create", "department", department.pk, department.name)
        return Response(department_representation(_departments(request).get(pk=department.pk)), status=201)


class DepartmentCountView(APIView):
    def get(self, request: Request) -> Response:
        departments = Department.objects.restrict(request.user, "read")
        return Response({"count": listing.narrowed(departments, request.query_params, DEPARTMENT_FIELDS).count()})


class DepartmentDetailView(APIView):
    def get(self, request: Request, department_id: int) -> Response:
        return Response(department_representation(get_object_or_404(_departments(request), pk=department_id)))

    def put(self, request: Request, department_id: int) -> Response:
        department = get_object_or_404(_departments(request), pk=department_id)
        require(request.user, "update", "department", department, f"department {department.name!r}")
        data = _valid(OrgUnitUpdateSerializer, request)
        org.update_department(department, data["description"], quota_inputs(department.cluster, data["resources"]))
        audit.record(audit.Origin.of(request), "update", "department", department.pk, department.name)
        return Response(department_representation(_departments(request).get(pk=department.pk)))

    def delete(self, request: Request, department_id: int) -> Response:
        department = get_object_or_404(_departments(request), pk=department_id)
        require(request.user, "delete", "department", department, f"department {department.name!r}")
        pk = department.pk
        org.delete_department(department)
        audit.record(audit.Origin.of(request), "delete", "department", pk, department.name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectListView(APIView):
    def get(self, request: Request) -> Response:
        found = listing.page(_projects(request), request.query_params, PROJECT_FIELDS)
        return Response({"projects": [project_representation(p) for p in found.items], "next": found.next})

    @idempotent
    def post(self, request: Request) -> Response:
        data = _valid(ProjectCreationSerializer, request)
        department = data["department"]
        require(request.user, "create", "project", department, f"department {department.name!r}")
        quotas = quota_inputs(data["clusterId"], data["resources"])
        project = org.create_project(department, data["name"], data["description"], quotas)
        audit.record(audit.Origin.of(request), "create", "project", project.pk, project.name)
        return Response(project_representation(_projects(request).get(pk=project.pk)), status=201)


class ProjectCountView(APIView):
    def get(self, request: Request) -> Response:
        projects = Project.objects.restrict(request.user, "read")
        return Response({"count": listing.narrowed(projects, request.query_params, PROJECT_FIELDS).count()})


class ProjectDetailView(APIView):
    def get(self, request: Request, project_id: int) -> Response:
        return Response(project_representation(get_object_or_404(_projects(request), pk=project_id)))

    def put(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(_projects(request), pk=project_id)
        require(request.user, "update", "project", project, f"project {project.name!r}")
        data = _valid(OrgUnitUpdateSerializer, request)
        org.update_project(project, data["description"], quota_inputs(project.cluster, data["resources"]))
        audit.record(audit.Origin.of(request), "update", "project", project.pk, project.name)
        return Response(project_representation(_projects(request).get(pk=project.pk)))

    def delete(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(_projects(request), pk=project_id)
        require(request.user, "delete", "project", project, f"project {project.name!r}")
        pk = project.pk
        org.delete_project(project)
        audit.record(audit.Origin.of(request), "delete", "project", pk, project.name)
        return Response(status=status.HTTP_204_NO_CONTENT)
