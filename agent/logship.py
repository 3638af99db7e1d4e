"""Log shipping: each workload's output streams, cut into chunks by byte offset.

A connection starts every stream where the control plane's welcome says it has data up to (0
when it does not say), so nothing is lost or sent twice across reconnections. Chunks are at most
64 KiB and never split a UTF-8 character, except at the very end of a finished stream.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agent.protocol import LogChunkMessage
from agent.runtime.base import STREAMS, Runtime, Stream

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 64 * 1024


def complete_utf8_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # A continuation byte: the character started earlier.
        if byte < 0x80:
            return len(data)
        needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
        return len(data) if back >= needed else len(data) - back
    return len(data)


class LogShipper:
    """Where each stream stands on one connection, and the next chunk to send."""

    def __init__(self, runtime: Runtime, offsets: Mapping[str, Mapping[str, int]]) -> None:
        self._runtime = runtime
        self._resume = offsets
        self._offsets: dict[tuple[str, Stream], int] = {}

    def offset(self, workload_id: str, stream: Stream) -> int:
        """Bytes of this stream the control plane has (or will have from chunks sent)."""
        key = (workload_id, stream)
        if key not in self._offsets:
            self._offsets[key] = int(self._resume.get(workload_id, {}).get(stream, 0))
        return self._offsets[key]

    def next_chunk(self, workload_id: str, stream: Stream, final: bool) -> LogChunkMessage | None:
        """The next chunk of a stream, or ``None`` when there is nothing (complete) to send.
        ``final`` says the workload has ended, so a trailing partial character is sent too."""
        offset = self.offset(workload_id, stream)
        data = self._runtime.read_log(workload_id, stream, offset, MAX_CHUNK_BYTES)
        if len(data) == MAX_CHUNK_BYTES or not final:
            data = data[: complete_utf8_prefix(data)]
        if not data:
            return None
        self._offsets[(workload_id, stream)] = offset + len(data)
        return LogChunkMessage(
            workload_id=workload_id,
            stream=stream,
            offset=offset,
            size=len(data),
            data=data.decode("utf-8", errors="replace"),
        )

    def caught_up(self, workload_id: str) -> bool:
        """Whether every byte of the workload's streams has been handed out as chunks."""
        return all(
            self.offset(workload_id, stream) >= self._runtime.log_size(workload_id, stream) for stream in STREAMS
        )

    def forget(self, workload_id: str) -> None:
        for stream in STREAMS:
            self._offsets.pop((workload_id, stream), None)
