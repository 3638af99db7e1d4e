from django.urls import path

from workloads.api import views
from workloads.api.serializers import (
    InferenceCreationSerializer,
    TrainingCreationSerializer,
    WorkspaceCreationSerializer,
)
from workloads.models import WorkloadType

TYPES = (
    ("trainings", WorkloadType.TRAINING, TrainingCreationSerializer),
    ("workspaces", WorkloadType.WORKSPACE, WorkspaceCreationSerializer),
    ("inferences", WorkloadType.INFERENCE, InferenceCreationSerializer),
)

urlpatterns = [
    path("workloads", views.WorkloadListView.as_view(), name="workload-list"),
    path("workloads/count", views.WorkloadCountView.as_view(), name="workload-count"),
]
for resource, workload_type, serializer_class in TYPES:
    listing, detail = views.typed_views(resource, workload_type, serializer_class)
    singular = resource[:-1]
    urlpatterns += [
        path(f"workloads/{resource}", listing, name=f"{singular}-list"),
        path(f"workloads/{resource}/<uuid:workload_id>", detail, name=f"{singular}-detail"),
    ]
urlpatterns += [
    path("workloads/<uuid:workload_id>", views.WorkloadDetailView.as_view(), name="workload-detail"),
    path("workloads/<uuid:workload_id>/events", views.WorkloadEventsView.as_view(), name="workload-events"),
    path("workloads/<uuid:workload_id>/logs", views.WorkloadLogsView.as_view(), name="workload-logs"),
]
