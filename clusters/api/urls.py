from django.urls import path

from clusters.api import views

urlpatterns = [
    path("clusters", views.ClusterListView.as_view(), name="cluster-list"),
    path("clusters/<uuid:cluster_id>", views.ClusterDetailView.as_view(), name="cluster-detail"),
    path("org-unit/departments", views.DepartmentListView.as_view(), name="department-list"),
    path("org-unit/projects", views.ProjectListView.as_view(), name="project-list"),
]
