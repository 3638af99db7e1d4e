"""The trace replay protocol of REPLAY.md on tiny traces written by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.scheduler.placement import FragmentModel, PodRequest, distribution
from agent.scheduler.replay import main, parse_seeds
from agent.scheduler.replay_support.arrivals import arrival_sequence
from agent.scheduler.replay_support.metrics import Recorder, rounded_percent
from agent.scheduler.replay_support.trace import TracePod, load_nodes, load_pods, pod_from_row, resolve_trace

POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"
)


class ScriptedRandom:
    """Stands in for random.Random: shuffle reverses, randrange returns the scripted values."""

    def __init__(self, draws: list[int]) -> None:
        self.draws = list(draws)

    def shuffle(self, items: list) -> None:
        items.reverse()

    def randrange(self, n: int) -> int:
        value = self.draws.pop(0)
        assert 0 <= value < n
        return value


def pod(name: str, gpus: int = 1, milli: int = 1000, cpu: int = 0) -> TracePod:
    return TracePod(name, PodRequest(gpus=gpus, milli=milli if gpus else 1000, cpu_milli=cpu), "")


def names(sequence: list[TracePod]) -> list[str]:
    return [p.name for p in sequence]


def test_short_traces_are_topped_up_by_draws_until_a_share_would_pass_130_percent():
    pods = [pod("a"), pod("b", milli=500), pod("c", gpus=0)]  # sorted by name; T = 1500
    rng = ScriptedRandom([2, 0, 1])  # c (CPU-only: appended, never stops), a (T = 2500), b: 3000 > 2600
    assert names(arrival_sequence(pods, 2000, rng)) == ["c", "b", "a", "c", "a"]
    assert rng.draws == []


def test_the_stop_rule_compares_the_share_m_not_n_times_m_and_the_excess_is_trimmed():
    pods = [pod("d", gpus=2), pod("e", milli=500), pod("f")]  # T = 3500, target 5200
    # d: 3500 + 1000 <= 5200, appended (T = 5500); e: 5500 + 500 > 5200, stop; then remove
    # position 3 (the appended d): T = 3500 <= 5200.
    rng = ScriptedRandom([0, 1, 3])
    assert names(arrival_sequence(pods, 4000, rng)) == ["f", "e", "d"]


def test_long_traces_lose_pods_at_random_positions_until_within_130_percent():
    pods = [pod(str(i)) for i in range(5)]  # T = 5000, target 2600
    rng = ScriptedRandom([0, 0, 1])
    assert names(arrival_sequence(pods, 2000, rng)) == ["2", "0"]


def test_arrived_percent_rounds_half_up():
    assert [rounded_percent(x, 200) for x in (0, 1, 2, 3)] == [0, 1, 1, 2]


def test_the_recorder_means_allocation_over_the_events_at_each_arrived_percent():
    recorder = Recorder(1000)
    recorder.record(995, 900, 40.0)
    recorder.record(1000, 950, 60.0)
    recorder.record(1010, 950, 70.0)
    assert recorder.allocation_at(100) == pytest.approx(92.5)
    assert recorder.fragmentation_at(100) == pytest.approx(50.0)
    assert recorder.allocation_at(101) == pytest.approx(95.0)
    assert recorder.allocation_at(130) is None


def test_rows_are_read_as_replay_md_says():
    row = {"name": "p", "cpu_milli": "4000", "memory_mib": "1024", "num_gpu": "1", "gpu_milli": "1200"}
    assert pod_from_row(row | {"gpu_spec": "T4|V100"}).request == PodRequest(
        gpus=1, milli=1000, cpu_milli=4000, memory_mib=1024, gpu_models=frozenset({"T4", "V100"})
    )
    assert pod_from_row(row | {"num_gpu": "4", "gpu_milli": "500", "gpu_spec": ""}).gpu_milli == 4000
    assert pod_from_row(row | {"num_gpu": "0", "gpu_milli": "0", "gpu_spec": ""}).gpu_milli == 0


def write_trace(folder: Path, pods: list[tuple[str, int, int, int, int]], gpus: tuple[int, ...] = (2, 2)) -> Path:
    """A pod list and a GPU node list; pods are (name, cpu, memory, n, m)."""
    nodes = ["sn,cpu_milli,memory_mib,gpu,model"]
    nodes += [f"node-{i},32000,65536,{count},T4" for i, count in enumerate(gpus)]
    (folder / "openb_node_list_gpu_node.csv").write_text("\n".join(nodes) + "\n")
    rows = [POD_HEADER] + [f"{n},{c},{m},{g},{s},,LS,Running,0,0,0" for n, c, m, g, s in pods]
    path = folder / "openb_pod_list_tiny.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_fragmentation_of_an_empty_small_cluster_by_hand(tmp_path):
    pods = [("p1", 2000, 0, 1, 500), ("p2", 2000, 0, 1, 500), ("p3", 2000, 0, 1, 500), ("p4", 6000, 0, 2, 1000)]
    path = write_trace(tmp_path, pods, gpus=(2, 1))
    name, pod_path, node_path = resolve_trace(str(path), tmp_path / "elsewhere")
    assert (name, node_path) == ("tiny", tmp_path / "openb_node_list_gpu_node.csv")
    model = FragmentModel(distribution(p.request for p in load_pods(pod_path)))
    # Halves (3 of 4) fit both nodes whole. The 2-GPU pod (1 of 4) cannot use the one-GPU
    # node: its 1000 milli is fragment for it. 100 * 1000 / (4 * 3000).
    assert model.ratio(load_nodes(node_path)) == pytest.approx(100 * 1000 / (4 * 3000))


def test_the_command_prints_one_json_line_last(tmp_path, capsys):
    # Four GPUs; 0.4 shares arrive in 10% steps up to 130%. Two fit per GPU, so allocation
    # stops at 8 x 400 = 80%, and at 90% arrived every GPU has 200 free that no 0.4 share can use.
    path = write_trace(tmp_path, [(f"p{i}", 1000, 1024, 1, 400) for i in range(5)])
    assert main(["--trace", str(path), "--seeds", "1-2", "--policy", "tessera,bestfit"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["trace"] == "tiny" and result["seeds"] == [1, 2]
    for name in ("tessera", "bestfit"):
        figures = result["policies"][name]
        assert (figures["alloc_100"], figures["alloc_130"], figures["frag_90"]) == (80.0, 80.0, 100.0)
        assert figures["seconds"] >= 0


def test_the_command_refuses_an_unknown_policy(tmp_path, capsys):
    path = write_trace(tmp_path, [("p", 0, 0, 1, 1000)])
    assert main(["--trace", str(path), "--seeds", "1", "--policy", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_seeds_are_ranges_or_lists():
    assert parse_seeds("42-44") == [42, 43, 44]
    assert parse_seeds("1,5-6") == [1, 5, 6]
