"""Workloads through ``tessera``: submitted with the flags of Run:ai's CLI, run by a real agent,
followed to their end; refusals exit with codes that scripts can rely on."""

import json
import os
import pty
import subprocess

import pytest
import yaml

from tests.accounts.conftest import PASSWORD, grant
from tests.cli.conftest import TESSERA
from tests.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_wait_returns_the_workloads_own_exit_status(signed_in, cluster, agent):
    agent.start()

    failed = signed_in("training", "submit", "fails", "-p", "default", "-i", "python:3.11", "--wait",
                       "--command", "--", "echo about to fail; exit 3")  # fmt: skip
    succeeded = signed_in("training", "submit", "works", "-p", "default", "--wait", "--", "echo fine")

    assert failed.returncode == 3, failed.stderr
    assert "Training 'fails' Failed, exit code 3" in failed.stdout
    assert succeeded.returncode == 0, succeeded.stderr
    assert "Training 'works' Completed, exit code 0" in succeeded.stdout
    assert "\x1b[" not in failed.stderr + failed.stdout  # no spinner, no colours, when nobody watches


def test_a_spinner_shows_the_phase_while_waiting_on_a_terminal(signed_in, cluster, agent):
    agent.start()
    terminal, child_side = pty.openpty()
    process = subprocess.Popen(
        [str(TESSERA), "training", "submit", "slow", "-p", "default", "--wait", "--command", "--", "sleep 3"],
        stdin=child_side, stdout=child_side, stderr=child_side, env=signed_in.env(),
    )  # fmt: skip
    os.close(child_side)
    shown = b""
    while chunk := _read(terminal):
        shown += chunk
    os.close(terminal)

    assert process.wait(timeout=30) == 0
    text = shown.decode(errors="replace")
    assert "Training slow: Running" in text and "Training 'slow' Completed, exit code 0" in text


def _read(terminal: int) -> bytes:
    try:
        return os.read(terminal, 4096)
    except OSError:  # EIO: the command ended and closed its side
        return b""


def test_logs_follow_a_training_to_its_end(signed_in, cluster, agent):
    agent.start()
    script = "for i in 1 2 3; do echo line $i; sleep 0.5; done; echo oops >&2; echo the end"
    submitted = signed_in("training", "submit", "counts", "-p", "default", "--command", "--", script)
    assert submitted.returncode == 0, submitted.stderr

    followed = signed_in("training", "logs", "counts", "-p", "default", "--follow")

    assert followed.returncode == 0, followed.stderr
    lines = followed.stdout.splitlines()
    # Both streams, each in order; the two are shipped side by side, so "oops" may come either side.
    assert lines[:3] == ["line 1", "line 2", "line 3"] and sorted(lines[3:]) == ["oops", "the end"]
    stderr_only = signed_in("training", "logs", "counts", "-p", "default", "--stream", "stderr")
    assert stderr_only.stdout == "oops\n"
    described = json.loads(signed_in("training", "describe", "counts", "-p", "default", "-o", "json").stdout)
    assert described["phase"] == "Completed" and described["exitCode"] == 0
    assert [e["reason"] for e in described["events"]][-1] == "Completed"


def test_workspaces_and_inferences_are_submitted_and_run_to_their_end(signed_in, cluster, agent):
    agent.start()

    for kind in ("workspace", "inference"):
        done = signed_in(kind, "submit", f"my-{kind}", "-p", "default", "--wait", "--", f"echo a {kind}")
        assert done.returncode == 0, done.stderr
        listed = yaml.safe_load(signed_in(kind, "list", "-p", "default", "-o", "yaml").stdout)
        assert [(w["name"], w["type"], w["phase"]) for w in listed] == [(f"my-{kind}", kind.capitalize(), "Completed")]
        assert signed_in(kind, "logs", f"my-{kind}", "-p", "default").stdout == f"a {kind}\n"


def test_submit_flags_become_the_run_ai_spec(signed_in, cluster):
    done = signed_in("training", "submit", "frac", "-p", "default", "-i", "pytorch/pytorch", "--gpu-portion", "0.5",
                     "--cpu", "0.5", "--memory", "1G", "-e", "EPOCHS=3", "-e", "LR=0.1", "--priority", "build",
                     "--non-preemptible", "-o", "json", "--", "python", "train.py", "--lr", "0.1")  # fmt: skip

    assert done.returncode == 0, done.stderr
    spec = json.loads(done.stdout)["spec"]
    assert spec["image"] == "pytorch/pytorch" and spec["args"] == "python train.py --lr 0.1"
    assert spec["compute"] == {"gpuRequestType": "portion", "gpuPortionRequest": 0.5, "cpuCoreRequest": 0.5,
                               "cpuMemoryRequest": "1G"}  # fmt: skip
    assert spec["environmentVariables"] == [{"name": "EPOCHS", "value": "3"}, {"name": "LR", "value": "0.1"}]
    described = json.loads(signed_in("training", "describe", "frac", "-p", "default", "-o", "json").stdout)
    assert described["priorityClassName"] == "build" and described["preemptible"] is False
    assert described["workloadRequestedResources"]["gpuPortion"]["request"] == 0.5
    by_memory = signed_in("training", "submit", "by-memory", "-p", "default", "-g", "2", "--gpu-memory", "20Gi",
                          "-o", "json", "--", "true")  # fmt: skip
    assert json.loads(by_memory.stdout)["spec"]["compute"] == {
        "gpuDevicesRequest": 2, "gpuRequestType": "memory", "gpuMemoryRequest": "20Gi"}  # fmt: skip
    both = signed_in("training", "submit", "both", "-p", "default", "--gpu-portion", "0.5", "--gpu-memory", "1Gi")
    assert both.returncode == 2 and "Give --gpu-portion or --gpu-memory, not both." in both.stderr


def test_delete_removes_the_workload(signed_in, cluster):
    signed_in("training", "submit", "doomed", "-p", "default", "--", "sleep 60")

    deleted = signed_in("training", "delete", "doomed", "-p", "default")

    assert deleted.returncode == 0, deleted.stderr
    gone = signed_in("training", "describe", "doomed", "-p", "default")
    assert gone.returncode == 5 and "Training 'doomed' not found in project 'default'." in gone.stderr


def test_a_missing_project_exits_5(signed_in, cluster):
    done = signed_in("training", "submit", "x", "-p", "nope", "--", "true")

    assert done.returncode == 5
    assert "Project 'nope' not found (or not visible to you)." in done.stderr


def test_a_refused_action_exits_4_with_the_servers_reason(tessera, cluster, django_user_model):
    _, _, project = cluster
    django_user_model.objects.create_user("serving", password=PASSWORD)
    grant("serving", 8, "project", project.pk)  # ML engineer: runs inferences, only sees the rest
    tessera.login("serving", PASSWORD)

    refused = tessera("training", "submit", "nope", "-p", "default", "--", "true")
    allowed = tessera("inference", "submit", "model", "-p", "default", "--", "true")

    assert refused.returncode == 4
    assert "Training 'nope' refused:" in refused.stderr and "(HTTP 403)" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr


def test_invalid_input_exits_2_naming_the_field(signed_in, cluster):
    done = signed_in("training", "submit", "Not_A_Name", "-p", "default", "--", "true")

    assert done.returncode == 2
    assert "name:" in done.stderr


def test_the_default_project_is_set_once_and_used_after(signed_in, cluster):
    assert signed_in("training", "submit", "x", "--", "true").returncode == 2  # no project yet

    chosen = signed_in("project", "set", "default")
    submitted = signed_in("training", "submit", "x", "--", "true")

    assert chosen.returncode == 0 and signed_in.config()["project"] == "default"
    assert submitted.returncode == 0, submitted.stderr
    assert "submitted to project 'default'" in submitted.stdout
    listed = signed_in("training", "list")
    assert listed.stdout.splitlines()[1].split()[:2] == ["x", "default"]


def test_clusters_node_pools_and_nodes_are_listed(signed_in, cluster, agent):
    cluster_obj = cluster[0]
    agent.start()

    def node_listed() -> list | None:
        nodes = json.loads(signed_in("node", "list", "-o", "json").stdout)
        return nodes or None

    nodes = wait_until(node_listed, what="the agent's node to be listed")
    gpu_info = nodes[0]["gpuInfo"]
    assert nodes[0]["name"] == "e2e-node" and (gpu_info["gpuCount"], gpu_info["simulated"]) == (4, True)
    assert [gpu["index"] for gpu in gpu_info["gpus"]] == [0, 1, 2, 3]
    clusters = json.loads(signed_in("cluster", "list", "-o", "json").stdout)
    assert [c["uuid"] for c in clusters] == [str(cluster_obj.pk)]
    pools = yaml.safe_load(signed_in("nodepool", "list", "-o", "yaml").stdout)
    assert [p["name"] for p in pools] == ["default"]
    table = signed_in("node", "list")
    assert "e2e-node" in table.stdout and "NODE POOL" in table.stdout


def test_tables_fit_the_terminal(signed_in, cluster):
    signed_in("training", "submit", "a-training-with-a-rather-long-name", "-p", "default", "--", "true")

    narrow = signed_in("training", "list", "-p", "default", COLUMNS="60")

    assert narrow.returncode == 0
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert lines[0].split()[:3] == ["NAME", "PROJECT", "PHASE"]  # the last columns went, not the first
    assert lines[1].split()[:2] == ["a-training-with-a-rather-long-name", "default"]


def test_a_distributed_training_runs_all_its_workers(signed_in, cluster, agent):
    agent.start()

    done = signed_in("distributed", "submit", "ddp", "-p", "default", "--workers", "2", "-g", "1", "--wait",
                     "-o", "json", "--command", "--", "echo rank $RANK of $WORLD_SIZE")  # fmt: skip

    assert done.returncode == 0, done.stderr
    final = json.loads(done.stdout)
    assert (final["type"], final["phase"], final["requestedPods"]["max"]) == ("Distributed", "Completed", 2)
    listed = json.loads(signed_in("distributed", "list", "-p", "default", "-o", "json").stdout)
    assert [w["name"] for w in listed] == ["ddp"]
    output = signed_in("distributed", "logs", "ddp", "-p", "default").stdout
    assert sorted(output.splitlines()) == ["[worker 0] rank 0 of 2", "[worker 1] rank 1 of 2"]
    one = signed_in("distributed", "submit", "solo", "-p", "default", "--workers", "1", "--", "true")
    assert one.returncode == 2
    assert "numWorkers: A distributed training runs at least 2 workers" in one.stderr


def test_suspend_and_resume_a_running_training(signed_in, cluster, agent):
    agent.start()
    signed_in("training", "submit", "steady", "-p", "default", "--command", "--", "echo run started; sleep 300")

    def phase() -> str:
        return json.loads(signed_in("training", "describe", "steady", "-p", "default", "-o", "json").stdout)["phase"]

    wait_until(lambda: phase() == "Running", what="the training to run")
    suspended = signed_in("training", "suspend", "steady", "-p", "default")
    assert suspended.returncode == 0, suspended.stderr
    wait_until(lambda: phase() == "Stopped", what="the training to be stopped")
    again = signed_in("training", "suspend", "steady", "-p", "default")
    assert again.returncode == 6 and "already suspended" in again.stderr

    resumed = signed_in("training", "resume", "steady", "-p", "default")

    assert resumed.returncode == 0, resumed.stderr
    wait_until(lambda: phase() == "Running", what="the training to run again")
    assert signed_in("training", "delete", "steady", "-p", "default").returncode == 0


def test_the_shell_completes_workload_and_project_names(signed_in, cluster):
    signed_in("training", "submit", "steady-one", "-p", "default", "--", "true")
    signed_in("workspace", "submit", "steady-desk", "-p", "default", "--", "true")

    def complete(line: str) -> list[str]:
        words = line.split()
        done = signed_in(_TESSERA_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
        return done.stdout.split()

    assert complete("tessera training describe ste") == ["plain,steady-one"]
    assert complete("tessera workspace logs st") == ["plain,steady-desk"]
    assert complete("tessera training list -p def") == ["plain,default"]
