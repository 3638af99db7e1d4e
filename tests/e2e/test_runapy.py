"""The public Run:ai client (runapy) against the real server: applications, tokens, access rules.

runapy speaks plain http on loopback without trouble (``runai_base_url="http://127.0.0.1:PORT"``).
One setting differs from its default: ``auto_refresh_token=False``. runapy's refresher reads the
token's payload with ``base64.b64decode``, but JWTs are base64url (RFC 7515), so a payload that
happens to contain ``-`` or ``_`` would be misread by the client, not refused by us.
"""

import httpx
import pytest
from runai import models
from runai.api_client import ApiClient
from runai.configuration import Configuration
from runai.exceptions import ApiException
from runai.runai_client import RunaiClient

from tests.conftest import ADMIN_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def runapy(server_url: str, client_id: str, secret: str) -> RunaiClient:
    configuration = Configuration(
        client_id=client_id, client_secret=secret, runai_base_url=server_url, auto_refresh_token=False,
        retry_enabled=False,
    )  # fmt: skip
    return RunaiClient(ApiClient(configuration))


def test_runapy_creates_an_application_and_access_rules_with_its_token(live_server_process, admin_user, cluster):
    _, _, project = cluster
    url = live_server_process.url
    # Bootstrapping: the first administrator makes an application and makes it System administrator.
    with httpx.Client(base_url=url, auth=("admin", ADMIN_PASSWORD), timeout=10) as admin:
        bootstrap = admin.post("/api/v1/apps", json={"name": "bootstrap"}).json()
        rule = {"subjectType": "app", "subjectId": "bootstrap", "roleId": 1, "scopeType": "tenant", "scopeId": "1"}
        assert admin.post("/api/v1/authorization/access-rules", json=rule).status_code == 201
        researcher = admin.post("/api/v1/users", json={"email": "rita@example.com"}).json()

    auth = runapy(url, bootstrap["clientId"], bootstrap["secret"]).authentication_and_authorization
    created = auth.applications.create_application(models.ApplicationCreationRequest(name="ci-pipeline")).data
    assert created["clientId"] == "ci-pipeline" and len(created["secret"]) >= 43
    department = str(project.department_id)
    auth.access_rules.create_access_rule(
        models.AccessRuleCreationFields(
            subject_id="ci-pipeline", subject_type="app", role_id=2, scope_id=department, scope_type="department"
        )
    )

    # The new application signs in with its own secret and manages access in its department.
    ci = runapy(url, created["clientId"], created["secret"]).authentication_and_authorization
    granted = ci.access_rules.create_access_rule(
        models.AccessRuleCreationFields(
            subject_id=researcher["username"], subject_type="user", role_id=6, scope_id=str(project.pk),
            scope_type="project",
        )
    ).data  # fmt: skip
    assert granted["roleName"] == "L1 researcher" and granted["scopeType"] == "project"
    listed = ci.access_rules.get_access_rules(subject_ids=[researcher["username"]]).data
    assert [(r["subjectId"], r["roleId"]) for r in listed["accessRules"]] == [("rita@example.com", 6)]
    seen = {(r["subjectId"], r["scopeType"]) for r in ci.access_rules.get_access_rules().data["accessRules"]}
    assert ("bootstrap", "tenant") not in seen  # an account-wide rule is above its department
    roles = ci.roles.get_roles_v1().data
    assert any(r["name"] == "L2 researcher" for r in roles)

    # No escalation through the client either: the department's admin cannot make a System admin.
    with pytest.raises(ApiException) as refused:
        ci.access_rules.create_access_rule(
            models.AccessRuleCreationFields(
                subject_id="ci-pipeline", subject_type="app", role_id=1, scope_id=department, scope_type="department"
            )
        )
    assert refused.value.status == 403
