"""The administrator console's account pages: applications and users with their secret shown
once, access rules with the scope picker, clusters with the agent's join token shown once, the
audit log with filters; a viewer gets no button and the server refuses his forged posts."""

import re

import pytest

from accounts.models import AccessRule, Application, AuditEvent
from accounts.services.apps import authenticate_application
from clusters import services
from clusters.models import Cluster
from tests.frontend.pages import field_error, has_button

pytestmark = pytest.mark.django_db


def shown_secret(response, element_id: str) -> str:
    found = re.search(rf'<pre class="secret" id="{element_id}">(.*?)</pre>', response.content.decode(), re.S)
    return found.group(1).strip() if found else ""


def test_an_application_s_secret_is_shown_once_and_works(admin):
    created = admin.post("/applications/", {"name": "ci-bot"})

    secret = shown_secret(created, "app-secret")
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    assert authenticate_application("ci-bot", secret) == Application.objects.get(name="ci-bot")
    again = admin.get("/applications/")
    assert "ci-bot" in again.content.decode() and secret not in again.content.decode()
    assert shown_secret(again, "app-secret") == ""


def test_an_application_name_error_is_shown_next_to_the_name(admin):
    refused = admin.post("/applications/", {"name": "CI Bot"})

    assert refused.status_code == 400 and "lower-case" in field_error(refused, "name")
    assert not Application.objects.exists()


def test_a_new_user_gets_a_temporary_password_shown_once(admin, django_user_model):
    created = admin.post("/users/", {"email": "ada@example.com"})

    password = shown_secret(created, "temp-password")
    assert django_user_model.objects.get(username="ada@example.com").check_password(password)
    assert password not in admin.get("/users/").content.decode()
    assert "e-mail address" in field_error(admin.post("/users/", {"email": "not-an-address"}), "email")


def test_the_scope_picker_walks_account_cluster_department_project(admin, site):
    page = admin.get("/access-rules/").content.decode()
    options = re.findall(r'<option value="((?:tenant|cluster|department|project):[^"]+)"', page)

    assert options == ["tenant:1", f"cluster:{site.cluster.pk}", f"department:{site.department.pk}",
                       f"project:{site.project.pk}"]  # fmt: skip


def test_an_administrator_grants_a_role_on_a_project_and_removes_it(admin, site, django_user_model):
    django_user_model.objects.create_user("rita")

    granted = admin.post("/access-rules/", {"subjectType": "user", "subjectId": "rita", "roleId": "6",
                                            "_scope": f"project:{site.project.pk}"})  # fmt: skip

    assert granted.status_code == 302
    rule = AccessRule.objects.get(subject_id="rita")
    assert (rule.role_id, rule.scope_type, rule.scope_id) == (6, "project", str(site.project.pk))
    assert admin.post(f"/access-rules/{rule.pk}/delete/").status_code == 302
    assert not AccessRule.objects.filter(subject_id="rita").exists()


def test_granting_to_nobody_is_shown_next_to_the_subject(admin, site):
    refused = admin.post("/access-rules/", {"subjectType": "user", "subjectId": "ghost", "roleId": "6",
                                            "_scope": "tenant:1"})  # fmt: skip

    assert refused.status_code == 400 and "There is no user 'ghost'" in field_error(refused, "subjectId")


def test_adding_a_cluster_shows_the_agents_install_command_with_its_token_once(admin, site):
    added = admin.post("/clusters/", {"name": "gpu-farm"})

    command = shown_secret(added, "install-command")
    cluster = Cluster.objects.get(name="gpu-farm")
    token = re.search(r"echo (\S+) &gt; agent.token", command).group(1)
    assert f"--cluster-id {cluster.pk}" in command
    assert services.authenticate_agent(cluster.pk, token) == cluster
    assert token not in admin.get("/clusters/").content.decode()
    assert "lower-case" in field_error(admin.post("/clusters/", {"name": "Bad"}), "name")


def test_the_audit_log_filters_by_the_apis_parameters(admin, site):
    admin.post("/applications/", {"name": "ci-bot"})
    admin.post("/applications/", {"name": "Bad"})

    created = admin.get("/audit/", {"entityType": "application", "action": "create"}).content.decode()
    assert "ci-bot" in created
    assert "not-a-result" in admin.get("/audit/", {"result": "not-a-result"}).content.decode()
    refused = admin.get("/audit/", {"result": "not-a-result"})
    assert refused.status_code == 400 and "valid choice" in field_error(refused, "result")


def test_a_viewer_gets_no_console_buttons_and_forged_posts_are_refused(viewer, site):
    assert viewer.get("/applications/").status_code == 403  # the Viewer role does not read applications
    assert viewer.get("/users/").status_code == 403
    assert viewer.get("/audit/").status_code == 403
    rules = viewer.get("/access-rules/")
    assert rules.status_code == 200 and not has_button(rules, "Grant") and not has_button(rules, "Remove")
    clusters = viewer.get("/clusters/")
    assert clusters.status_code == 200 and not has_button(clusters, "Add cluster")

    assert viewer.post("/applications/", {"name": "sneaky"}).status_code == 403
    assert viewer.post("/clusters/", {"name": "sneaky"}).status_code == 403
    forged_rule = viewer.post("/access-rules/", {"subjectType": "user", "subjectId": "vera", "roleId": "1",
                                                 "_scope": "tenant:1"})  # fmt: skip
    assert forged_rule.status_code == 403

    assert not Application.objects.exists() and not Cluster.objects.filter(name="sneaky").exists()
    assert not AccessRule.objects.filter(subject_id="vera", role_id=1).exists()
    assert AuditEvent.objects.filter(actor="vera", outcome="failure").count() == 3


def test_the_navigation_offers_only_pages_the_subject_may_read(viewer, admin, site):
    nav = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
    viewer_menu = nav.search(viewer.get("/overview/").content.decode()).group(1)
    admin_menu = nav.search(admin.get("/overview/").content.decode()).group(1)

    assert "Departments" in viewer_menu and "Applications" not in viewer_menu and "Audit log" not in viewer_menu
    assert "Applications" in admin_menu and "Audit log" in admin_menu and "Users" in admin_menu


def test_granting_a_role_from_the_users_page_names_the_user(admin, django_user_model):
    django_user_model.objects.create_user("rita")
    users = admin.get("/users/").content.decode()
    link = re.search(r'href="(/access-rules/\?subjectType=user&amp;subjectId=rita#grant)"', users)
    assert link is not None

    form = admin.get("/access-rules/", {"subjectType": "user", "subjectId": "rita"}).content.decode()

    assert re.search(r'<input id="f-subjectId" name="subjectId" type="text" value="rita"', form)


def test_a_scope_that_does_not_exist_is_shown_next_to_the_scope_picker(admin, site, django_user_model):
    django_user_model.objects.create_user("rita")

    refused = admin.post("/access-rules/", {"subjectType": "user", "subjectId": "rita", "roleId": "6",
                                            "_scope": "project:99999"})  # fmt: skip

    assert refused.status_code == 400 and "There is no project with id '99999'" in field_error(refused, "_scope")
    assert not AccessRule.objects.filter(subject_id="rita").exists()
