"""Log chunks: byte offsets, the 64 KiB limit, UTF-8 boundaries, resuming."""

from __future__ import annotations

from pathlib import Path

from agent.logship import MAX_CHUNK_BYTES, LogShipper, complete_utf8_prefix
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec, run_to_end


def runtime_with_stdout(state_dir: Path, data: bytes) -> LocalRuntime:
    run_to_end(state_dir, make_spec("w1", command="true"))
    runtime = LocalRuntime(state_dir)
    (runtime.workload_dir("w1") / "stdout.log").write_bytes(data)
    return runtime


def test_a_complete_utf8_prefix_never_ends_inside_a_character() -> None:
    euro = "€".encode()  # three bytes
    assert complete_utf8_prefix(b"abc") == 3
    assert complete_utf8_prefix(b"ab" + euro) == 5
    assert complete_utf8_prefix(b"ab" + euro[:2]) == 2
    assert complete_utf8_prefix(b"ab" + euro[:1]) == 2
    assert complete_utf8_prefix("😀".encode()[:3]) == 0
    assert complete_utf8_prefix(b"") == 0


def test_chunks_are_at_most_64_kib_with_consecutive_byte_offsets(state_dir: Path) -> None:
    data = b"x" * (2 * MAX_CHUNK_BYTES + 100)
    shipper = LogShipper(runtime_with_stdout(state_dir, data), {})

    chunks = []
    while (chunk := shipper.next_chunk("w1", "stdout", final=True)) is not None:
        chunks.append(chunk)

    assert [(c.offset, c.size) for c in chunks] == [
        (0, MAX_CHUNK_BYTES),
        (MAX_CHUNK_BYTES, MAX_CHUNK_BYTES),
        (2 * MAX_CHUNK_BYTES, 100),
    ]
    assert "".join(c.data for c in chunks).encode() == data
    assert shipper.caught_up("w1")


def test_a_character_across_the_64_kib_boundary_is_not_split(state_dir: Path) -> None:
    data = b"x" * (MAX_CHUNK_BYTES - 1) + "é".encode() + b"end"
    shipper = LogShipper(runtime_with_stdout(state_dir, data), {})

    first = shipper.next_chunk("w1", "stdout", final=True)
    second = shipper.next_chunk("w1", "stdout", final=True)

    assert first is not None and second is not None
    assert (first.size, second.offset, second.data) == (MAX_CHUNK_BYTES - 1, MAX_CHUNK_BYTES - 1, "éend")


def test_a_running_workloads_partial_character_waits_for_the_rest(state_dir: Path) -> None:
    shipper = LogShipper(runtime_with_stdout(state_dir, b"ok " + "€".encode()[:2]), {})

    chunk = shipper.next_chunk("w1", "stdout", final=False)

    assert chunk is not None and (chunk.data, chunk.size) == ("ok ", 3)
    assert shipper.next_chunk("w1", "stdout", final=False) is None


def test_invalid_bytes_are_replaced_but_counted(state_dir: Path) -> None:
    shipper = LogShipper(runtime_with_stdout(state_dir, b"a\xffb"), {})

    chunk = shipper.next_chunk("w1", "stdout", final=True)

    assert chunk is not None and (chunk.data, chunk.size) == ("a\ufffdb", 3)


def test_shipping_resumes_from_the_given_offsets(state_dir: Path) -> None:
    shipper = LogShipper(runtime_with_stdout(state_dir, b"0123456789"), {"w1": {"stdout": 7}})

    chunk = shipper.next_chunk("w1", "stdout", final=True)

    assert chunk is not None and (chunk.offset, chunk.size, chunk.data) == (7, 3, "789")
    assert shipper.next_chunk("w1", "stderr", final=True) is None
