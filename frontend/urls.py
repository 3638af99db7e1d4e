from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("workloads/", views.workload_list, name="workload-page-list"),
    path("workloads/<uuid:workload_id>/", views.workload_detail, name="workload-page-detail"),
]
