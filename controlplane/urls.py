"""HTTP routes: the Run:ai-compatible API under /api/v1, pages, health."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from controlplane.health import healthz
from usage.api.views import PrometheusView

handler404 = "controlplane.api.not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.api.urls")),
    path("api/v1/", include("clusters.api.urls")),
    path("api/v1/", include("workloads.api.urls")),
    path("api/v1/", include("usage.api.urls")),
    path("api/v1/", include("sso.api.urls")),
    path("metrics", PrometheusView.as_view(), name="prometheus-metrics"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("sso.urls")),
    path("", include("frontend.urls")),
]
