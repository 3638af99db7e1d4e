"""The OpenAPI 3 schema at /api/schema/ and the interactive docs at /api/docs/."""

import pytest

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
