from django.urls import path

from sso import views

urlpatterns = [
    path("sso/oidc/<slug:alias>/login/", views.oidc_login, name="sso-oidc-login"),
    path("sso/oidc/<slug:alias>/callback/", views.oidc_callback, name="sso-oidc-callback"),
    path("sso/saml/<slug:alias>/metadata/", views.saml_metadata, name="sso-saml-metadata"),
    path("sso/saml/<slug:alias>/login/", views.saml_login, name="sso-saml-login"),
    path("sso/saml/<slug:alias>/acs/", views.saml_acs, name="sso-saml-acs"),
    path("sso/saml/<slug:alias>/sls/", views.saml_sls, name="sso-saml-sls"),
    path("sso/logout/", views.sso_logout, name="sso-logout"),
]
