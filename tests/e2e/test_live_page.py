"""The workloads page updates live: a signed-in browser's websocket sees every phase change."""

import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import ADMIN_PASSWORD, wait_until
from tests.e2e.test_walking_skeleton import submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(server_url: str) -> httpx.Client:
    browser = httpx.Client(base_url=server_url, timeout=10, follow_redirects=True)
    browser.get("/login/")
    response = browser.post(
        "/login/",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": f"{server_url}/login/"},
    )
    assert response.status_code == 200 and "Workloads" in response.text
    return browser


def test_signed_in_page_receives_each_phase_over_the_websocket(http, cluster, agent, live_server_process):
    _, _, project = cluster
    agent.start()
    browser = sign_in(live_server_process.url)
    cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())

    with connect(
        f"{live_server_process.ws_url}/ws/workloads/",
        additional_headers={"Cookie": cookies, "Origin": live_server_process.url},
        open_timeout=10,
    ) as socket:
        training = submit(http, project, "watched", "echo watched; sleep 0.5")
        phases = []
        while not phases or phases[-1] not in ("Completed", "Failed"):
            message = json.loads(socket.recv(timeout=30))
            if message["workload"]["id"] == training["workloadId"]:
                phases.append(message["workload"]["phase"])

    assert phases[0] == "Pending"
    assert "Running" in phases
    assert phases[-1] == "Completed"
    page = browser.get("/workloads/")
    assert "watched" in page.text and 'src="/static/frontend/workloads.js"' in page.text
    assert 'class="badge simulated"' in page.text  # the agent declared simulated GPUs
    assert browser.get("/static/frontend/workloads.js").status_code == 200
    detail = wait_until(
        lambda: (
            (text := browser.get(f"/workloads/{training['workloadId']}/").text) and "watched\n</pre>" in text and text
        ),
        what="the detail page to show the stored stdout",
    )
    assert 'data-phase="Completed"' in detail


def test_websocket_refuses_anonymous_browsers(live_server_process, transactional_db):
    with pytest.raises(InvalidStatus) as refused:
        with connect(
            f"{live_server_process.ws_url}/ws/workloads/",
            additional_headers={"Origin": live_server_process.url},
            open_timeout=10,
        ):
            pass
    assert refused.value.response.status_code == 403


def test_an_unknown_websocket_path_is_refused_not_an_error(live_server_process, transactional_db):
    with pytest.raises(InvalidStatus) as refused:
        with connect(f"{live_server_process.ws_url}/ws/nothing-here/", open_timeout=10):
            pass
    assert refused.value.response.status_code == 403


def test_an_agent_with_a_wrong_token_is_refused_at_the_handshake(live_server_process, cluster):
    cluster_obj = cluster[0]
    with pytest.raises(InvalidStatus) as refused:
        with connect(
            f"{live_server_process.ws_url}/agent/v1/clusters/{cluster_obj.pk}/connect",
            additional_headers={"Authorization": "Bearer wrong"},
            open_timeout=10,
        ):
            pass
    assert refused.value.response.status_code == 403
