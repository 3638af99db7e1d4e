"""``GET /api/v1/audit`` (and Run:ai's ``/api/v1/audit/log``): the audit log, with filters."""

from datetime import datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import require
from accounts.api import schemas
from accounts.api.representations import audit_representation
from accounts.models import AuditEvent
from accounts.roles import AUDIT
from controlplane.serializers import StrictCharField, StrictSerializer


class AuditFilter(StrictSerializer):
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    subject = StrictCharField(required=False)
    subjectType = StrictCharField(required=False)
    action = StrictCharField(required=False)
    entityType = StrictCharField(required=False)
    entityId = StrictCharField(required=False)
    result = serializers.ChoiceField(choices=["success", "failure"], required=False)
    sourceIp = serializers.IPAddressField(required=False)
    offset = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)


FIELDS = {
    "subject": "actor",
    "subjectType": "actor_type",
    "action": "action",
    "entityType": "object_type",
    "entityId": "object_id",
    "result": "outcome",
    "sourceIp": "address",
}


class AuditLogView(APIView):
    @extend_schema(parameters=[AuditFilter], responses={200: schemas.AUDIT_LOG})
    def get(self, request: Request) -> Response:
        require(request.user, "read", AUDIT)
        query = AuditFilter(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        events = AuditEvent.objects.all()
        for name, field in FIELDS.items():
            if name in data:
                events = events.filter(**{field: data[name]})
        start: datetime | None = data.get("start")
        end: datetime | None = data.get("end")
        if start:
            events = events.filter(at__gte=start)
        if end:
            events = events.filter(at__lte=end)
        total = events.count()
        page = events[data["offset"] : data["offset"] + data["limit"]]
        return Response({"total": total, "auditLogs": [audit_representation(e) for e in page]})
