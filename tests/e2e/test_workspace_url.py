"""A workspace exposes its tool on a port: the agent's runtime gives it a free port (``PORT``),
the workload reports the URL while it runs, the API shows it in ``urls`` and the workload page
links to it, and the URL answers."""

import httpx
import pytest
from django.test import Client

from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_phase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_workspace_serving_on_its_port_shows_a_url_that_answers(http, cluster, agent, admin_user, monkeypatch):
    _, _, project = cluster
    # The agent names this host in its tools' URLs; here that is loopback.
    monkeypatch.setenv("TESSERA_TOOL_HOST", "127.0.0.1")
    agent.start()
    spec = {
        "image": "python:3.11",
        "command": "echo serving on $TESSERA_TOOL_PORT_8888; exec python -m http.server $PORT --bind 127.0.0.1",
        "exposedUrls": [{"container": 8888, "toolType": "jupyter-notebook", "toolName": "files"}],
    }
    response = http.post(
        "/api/v1/workloads/workspaces", json={"name": "nb", "projectId": str(project.pk), "spec": spec}
    )
    assert response.status_code == 202, response.text
    workload_id = response.json()["workloadId"]

    running = wait_for_phase(http, workload_id, {"Running", "Failed", "Completed"})
    assert running["phase"] == "Running", (running, agent.log())
    body = wait_until(
        lambda: (b := http.get(f"/api/v1/workloads/{workload_id}").json())["urls"] and b, what="the workspace's URL"
    )
    (url,) = body["urls"]
    assert url.startswith("http://127.0.0.1:")

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, what=f"the workspace's tool to answer at {url}")
    log = wait_until(
        lambda: (text := http.get(f"/api/v1/workloads/{workload_id}/logs?stream=stdout").text) and text,
        what="the workspace's output",
    )
    assert f"serving on {url.rsplit(':', 1)[1].rstrip('/')}" in log, "the tool's own port is its PORT too"

    page = Client()
    page.force_login(admin_user)
    assert f'href="{url}"' in page.get(f"/workloads/{workload_id}/").content.decode()

    # Suspended, it shows no URL.
    assert http.post(f"/api/v1/workloads/workspaces/{workload_id}/suspend").status_code == 202
    stopped = wait_for_phase(http, workload_id, {"Stopped"})
    assert stopped["urls"] == []
