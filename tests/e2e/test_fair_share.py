"""The scheduler's fair share end to end: quotas set through the API reach a real agent, its
scheduler divides the GPUs by water-filling, and the fair share it computed comes back to the API
beside the quotas; a quota changed later changes the fair share shown."""

from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.e2e.test_agent_scheduling import gated, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def quota(deserved: float, weight: float = 1) -> list[dict]:
    return [{"nodePool": {"name": "default"}, "gpu": {"deserved": deserved, "limit": -1, "overQuotaWeight": weight}}]


def fair_share(http, project_id: str) -> float | None:
    body = http.get(f"/api/v1/org-unit/projects/{project_id}").json()
    (default,) = [s for s in body["status"]["nodePoolQuotaStatuses"] if s["nodePoolName"] == "default"]
    return default["fairShare"].get("gpus")


def test_a_projects_fair_share_shows_up_in_the_api_once_its_quota_is_set(http, cluster, agent, tmp_path: Path):
    _, _, default_project = cluster
    cluster_id, department = str(default_project.cluster_id), default_project.department_id
    assert http.put(f"/api/v1/org-unit/departments/{department}", json={"resources": quota(4)}).status_code == 200
    projects = {}
    # Each deserves 1 of the cluster's 4 GPUs; the 2 left over go 3 to 1 by over-quota weight.
    for name, weight in (("vision", 3), ("speech", 1)):
        body = {"name": name, "clusterId": cluster_id, "parentId": str(department), "resources": quota(1, weight)}
        response = http.post("/api/v1/org-unit/projects", json=body)
        assert response.status_code == 201, response.text
        projects[name] = str(response.json()["id"])
    assert fair_share(http, projects["vision"]) is None, "nothing reported before an agent schedules"

    agent.start()
    one_gpu = {"compute": {"gpuDevicesRequest": 1}}
    for name, project_id in projects.items():  # each wants all 4 GPUs
        for i in range(4):
            submit(http, project_id, f"{name}-{i}", gated(tmp_path / "done", name), **one_gpu)

    wait_until(
        lambda: fair_share(http, projects["vision"]) == 2.5 and fair_share(http, projects["speech"]) == 1.5,
        what="the fair shares 2.5 and 1.5 in the API",
    )

    # Vision now deserves 3: the department's 4 GPUs are all promised, nothing is left to share.
    response = http.put(f"/api/v1/org-unit/projects/{projects['vision']}", json={"resources": quota(3, 3)})
    assert response.status_code == 200, response.text
    wait_until(
        lambda: fair_share(http, projects["vision"]) == 3 and fair_share(http, projects["speech"]) == 1,
        what="the fair shares to follow the new quota",
    )
    (tmp_path / "done").touch()
