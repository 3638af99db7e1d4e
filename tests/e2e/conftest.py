"""End-to-end fixtures: a registered cluster, a real agent process, an HTTP client."""

from collections.abc import Iterator

import httpx
import pytest

from clusters import services
from tests.conftest import ADMIN_PASSWORD, AgentProcess, LiveServer, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(transactional_db):
    new = services.register_cluster("e2e")
    project = services.ensure_default_organisation(new.cluster)
    return new.cluster, new.token, project


@pytest.fixture
def http(live_server_process: LiveServer, admin_user) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server_process.url, auth=("admin", ADMIN_PASSWORD), timeout=10) as client:
        yield client


@pytest.fixture
def agent(live_server_process: LiveServer, cluster, tmp_path) -> Iterator[AgentProcess]:
    cluster_obj, token, _ = cluster
    token_file = tmp_path / "agent.token"
    token_file.write_text(token)
    process = AgentProcess(
        args=[
            "--server",
            live_server_process.ws_url,
            "--cluster-id",
            str(cluster_obj.pk),
            "--token-file",
            str(token_file),
            "--state-dir",
            str(tmp_path / "agent-state"),
            "--node-name",
            "e2e-node",
            "--simulated-gpus",
            "4",
        ],  # fmt: skip
        state_dir=tmp_path / "agent-state",
        log_path=tmp_path / "agent.log",
    )
    yield process
    process.stop()


def wait_for_phase(http: httpx.Client, workload_id: str, phases: set[str], timeout: float = 30) -> dict:
    def reached() -> dict | None:
        body = http.get(f"/api/v1/workloads/{workload_id}").json()
        return body if body["phase"] in phases else None

    return wait_until(reached, timeout=timeout, what=f"workload {workload_id} to reach {phases}")  # type: ignore[return-value]
