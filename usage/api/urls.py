from django.urls import path

from usage.api import views

urlpatterns = [
    path("workloads/<uuid:workload_id>/metrics", views.WorkloadMetricsView.as_view(), name="workload-metrics"),
    path("clusters/<uuid:cluster_id>/metrics", views.ClusterMetricsView.as_view(), name="cluster-metrics"),
    path("nodes/<int:node_id>/metrics", views.NodeMetricsView.as_view(), name="node-metrics"),
    path(
        "org-unit/departments/<int:unit_id>/metrics", views.DepartmentMetricsView.as_view(), name="department-metrics"
    ),
    path("org-unit/projects/<int:unit_id>/metrics", views.ProjectMetricsView.as_view(), name="project-metrics"),
    path("usage/gpu-hours", views.UsageExportView.as_view(), name="usage-gpu-hours"),
]
