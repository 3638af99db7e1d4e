"""The OpenAPI 3 schema at /api/schema/ and the interactive docs at /api/docs/."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_describes_the_api(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/org-unit/projects", "/api/v1/node-pools", "/api/v1/workloads/trainings",
                 "/api/v1/workloads/count", "/api/v1/clusters"):  # fmt: skip
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/org-unit/departments"]


def test_the_docs_page_points_at_the_schema(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


def test_every_operation_documents_the_error_shape(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message"]
    training = schema["paths"]["/api/v1/workloads/trainings"]["post"]["responses"]
    assert training["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"401", "403", "404"} <= set(schema["paths"]["/api/v1/clusters"]["get"]["responses"])


def test_a_path_no_route_matches_is_a_json_404_under_api_and_a_page_elsewhere(client):
    response = client.get("/api/v1/org-unit/departments/not,a,number")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "No such path: /api/v1/org-unit/departments/not,a,number"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_every_operation_describes_its_bodies(tmp_path):
    """drf-spectacular infers nothing from the APIViews: each view says what it takes and answers
    (its app's api/schemas.py), so the schema generates without a warning and validates."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
