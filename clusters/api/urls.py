from django.urls import path

from clusters.api import cordon_views, org_views, pool_views, views

urlpatterns = [
    path("clusters", views.ClusterListView.as_view(), name="cluster-list"),
    path("clusters/<uuid:cluster_id>", views.ClusterDetailView.as_view(), name="cluster-detail"),
    path("org-unit/departments", org_views.DepartmentListView.as_view(), name="department-list"),
    path(
        "org-unit/departments/count",
        org_views.DepartmentCountView.as_view(),
        name="department-count",
    ),
    path(
        "org-unit/departments/<int:unit_id>",
        org_views.DepartmentDetailView.as_view(),
        name="department-detail",
    ),
    path("org-unit/projects", org_views.ProjectListView.as_view(), name="project-list"),
    path("org-unit/projects/count", org_views.ProjectCountView.as_view(), name="project-count"),
    path(
        "org-unit/projects/<int:unit_id>",
        org_views.ProjectDetailView.as_view(),
        name="project-detail",
    ),
    path("node-pools", pool_views.NodePoolListView.as_view(), name="node-pool-list"),
    path("node-pools/count", pool_views.NodePoolCountView.as_view(), name="node-pool-count"),
    path("node-pools/<int:pool_id>", pool_views.NodePoolDetailView.as_view(), name="node-pool-detail"),
    path("nodes", pool_views.NodeListView.as_view(), name="node-list"),
    path("nodes/count", pool_views.NodeCountView.as_view(), name="node-count"),
    path("nodes/<int:node_id>", pool_views.NodeDetailView.as_view(), name="node-detail"),
    path("nodes/<int:node_id>/cordon", cordon_views.CordonView.as_view(), name="node-cordon"),
    path("nodes/<int:node_id>/uncordon", cordon_views.UncordonView.as_view(), name="node-uncordon"),
    path("nodes/<int:node_id>/gpus/<int:index>/cordon", cordon_views.CordonView.as_view(), name="gpu-cordon"),
    path("nodes/<int:node_id>/gpus/<int:index>/uncordon", cordon_views.UncordonView.as_view(), name="gpu-uncordon"),
]
