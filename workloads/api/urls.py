from django.urls import path

from workloads.api import views

urlpatterns = [
    path("workloads", views.WorkloadListView.as_view(), name="workload-list"),
    path("workloads/trainings", views.TrainingListView.as_view(), name="training-list"),
    path("workloads/trainings/<uuid:workload_id>", views.TrainingDetailView.as_view(), name="training-detail"),
    path("workloads/<uuid:workload_id>", views.WorkloadDetailView.as_view(), name="workload-detail"),
    path("workloads/<uuid:workload_id>/events", views.WorkloadEventsView.as_view(), name="workload-events"),
    path("workloads/<uuid:workload_id>/logs", views.WorkloadLogsView.as_view(), name="workload-logs"),
]
