from django.urls import path

from workloads.api import views
from workloads.api.serializers import (
    DistributedCreationSerializer,
    InferenceCreationSerializer,
    TrainingCreationSerializer,
    WorkspaceCreationSerializer,
)
from workloads.models import WorkloadType

# Each type's path, which is also its resource in the access rules, its type and its request.
TYPES = (
    ("trainings", WorkloadType.TRAINING, TrainingCreationSerializer),
    ("workspaces", WorkloadType.WORKSPACE, WorkspaceCreationSerializer),
    ("inferences", WorkloadType.INFERENCE, InferenceCreationSerializer),
)
# Distributed trainings have their own path but are trainings in the access rules, as in Run:ai.
DISTRIBUTED = ("distributed", "trainings", WorkloadType.DISTRIBUTED, DistributedCreationSerializer)

urlpatterns = [
    path("workloads", views.WorkloadListView.as_view(), name="workload-list"),
    path("workloads/count", views.WorkloadCountView.as_view(), name="workload-count"),
]
ALL_TYPES = [(collection, collection, workload_type, request) for collection, workload_type, request in TYPES]
for collection, resource, workload_type, serializer_class in [*ALL_TYPES, DISTRIBUTED]:
    typed = views.typed_views(collection, resource, workload_type, serializer_class)
    singular = collection.removesuffix("s")
    urlpatterns += [
        path(f"workloads/{collection}", typed.pop("list"), name=f"{singular}-list"),
        path(f"workloads/{collection}/<uuid:workload_id>", typed.pop("detail"), name=f"{singular}-detail"),
    ]
    urlpatterns += [
        path(f"workloads/{collection}/<uuid:workload_id>/{change}", view, name=f"{singular}-{change}")
        for change, view in typed.items()
    ]
urlpatterns += [
    path("workloads/<uuid:workload_id>", views.WorkloadDetailView.as_view(), name="workload-detail"),
    path("workloads/<uuid:workload_id>/events", views.WorkloadEventsView.as_view(), name="workload-events"),
    path("workloads/<uuid:workload_id>/logs", views.WorkloadLogsView.as_view(), name="workload-logs"),
]
