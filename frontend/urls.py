from django.urls import path

from frontend import access_pages, cluster_pages, idp_pages, org_pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
    path("workloads/", views.workload_list, name="workload-page-list"),
    path("workloads/new/", views.workload_new, name="workload-page-new"),
    path("workloads/<uuid:workload_id>/", views.workload_detail, name="workload-page-detail"),
    path("workloads/<uuid:workload_id>/delete/", views.workload_delete, name="workload-page-delete"),
    path("workloads/<uuid:workload_id>/<str:change>/", views.workload_change, name="workload-page-change"),
    path("clusters/", cluster_pages.cluster_list, name="cluster-page-list"),
    path("clusters/<uuid:cluster_id>/", cluster_pages.cluster_detail, name="cluster-page-detail"),
    path("departments/", org_pages.department_list, name="department-page-list"),
    path("departments/new/", org_pages.department_new, name="department-page-new"),
    path("departments/<int:unit_id>/", org_pages.department_edit, name="department-page-edit"),
    path("departments/<int:unit_id>/delete/", org_pages.department_delete, name="department-page-delete"),
    path("departments/<int:unit_id>/usage/", org_pages.department_usage, name="department-page-usage"),
    path("projects/", org_pages.project_list, name="project-page-list"),
    path("projects/new/", org_pages.project_new, name="project-page-new"),
    path("projects/<int:unit_id>/", org_pages.project_edit, name="project-page-edit"),
    path("projects/<int:unit_id>/delete/", org_pages.project_delete, name="project-page-delete"),
    path("projects/<int:unit_id>/usage/", org_pages.project_usage, name="project-page-usage"),
    path("users/", access_pages.user_list, name="user-page-list"),
    path("users/<int:user_id>/delete/", access_pages.user_delete, name="user-page-delete"),
    path("applications/", access_pages.application_list, name="application-page-list"),
    path("applications/<uuid:app_id>/delete/", access_pages.application_delete, name="application-page-delete"),
    path("access-rules/", access_pages.access_rule_list, name="access-rule-page-list"),
    path("access-rules/<int:rule_id>/delete/", access_pages.access_rule_delete, name="access-rule-page-delete"),
    path("audit/", access_pages.audit_log, name="audit-page"),
    path("identity-providers/", idp_pages.identity_providers, name="idp-page-list"),
    path("identity-providers/<slug:alias>/delete/", idp_pages.identity_provider_delete, name="idp-page-delete"),
]
