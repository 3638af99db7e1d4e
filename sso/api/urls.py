from django.urls import path

from sso.api import views

urlpatterns = [
    path("idps", views.IdpListView.as_view(), name="idp-list"),
    path("idps/<slug:alias>", views.IdpDetailView.as_view(), name="idp-detail"),
    path("idps/<slug:alias>/mappers", views.IdpMappersView.as_view(), name="idp-mappers"),
]
