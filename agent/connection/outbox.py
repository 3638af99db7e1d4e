"""The outbox: status changes on their way to the control plane, kept on disk until it
acknowledges them, so none is lost while it is away (or while the agent restarts).

Every status change goes through it: appended (one JSON line, in order), sent, and removed once
the control plane acknowledges the message that carried it. While the control plane is down the
changes pile up and are delivered in order when it returns. Its size is bounded: when full, the
oldest change that a later change of the same workload supersedes is dropped (and counted); a
workload's latest status goes only when no superseded change is left to drop. Log output needs
no outbox: it is on disk in the workload's log files, and each connection resumes it from the
control plane's offsets.

On disk it is a log of JSON lines: a change (``id``, ``status``), or a note that changes were
acknowledged (``acked_through``) or one was dropped (``dropped``); notes are appended rather than
the file rewritten on every acknowledgement, and the file is compacted once notes outweigh changes.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from agent.protocol import WorkloadStatus

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    status: WorkloadStatus


class Outbox:
    """Ordered, bounded, on-disk (``path``; in memory only when ``None``) status changes."""

    def __init__(self, path: Path | None, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("an outbox holds at least one entry")
        self.path = path
        self.max_entries = max_entries
        self.dropped = 0
        self._lines = 0  # lines in the file, changes and notes
        self._next_id = 1
        self._entries: list[OutboxEntry] = self._load()
        if self._entries:
            log.info("%d status changes wait in the outbox for the control plane", len(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[OutboxEntry]:
        return list(self._entries)

    def workloads(self) -> set[str]:
        """Workloads with a change not yet acknowledged."""
        return {entry.status.workload_id for entry in self._entries}

    def latest(self) -> dict[str, WorkloadStatus]:
        """The last change waiting for each workload."""
        return {entry.status.workload_id: entry.status for entry in self._entries}

    def append(self, status: WorkloadStatus) -> OutboxEntry:
        entry = OutboxEntry(self._next_id, status)
        self._next_id += 1
        self._entries.append(entry)
        self._write(self._line(entry))
        if len(self._entries) > self.max_entries:
            self._write(json.dumps({"dropped": self._drop_one()}) + "\n")
        return entry

    def remove_through(self, entry_id: int) -> None:
        """Forget every entry up to ``entry_id``: the control plane has them."""
        kept = [entry for entry in self._entries if entry.id > entry_id]
        if len(kept) == len(self._entries):
            return
        self._entries = kept
        if not kept:
            self._rewrite()  # empty: an empty file
        else:
            self._write(json.dumps({"acked_through": entry_id}) + "\n")

    def _write(self, line: str) -> None:
        if self.path is None:
            return
        if self._lines > 2 * len(self._entries) + 64:
            self._rewrite()  # compact: the notes outweigh the changes
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
        self._lines += 1

    def _drop_one(self) -> int:
        last_of = {entry.status.workload_id: entry.id for entry in self._entries}
        index = next((i for i, e in enumerate(self._entries) if last_of[e.status.workload_id] != e.id), 0)
        dropped = self._entries.pop(index)
        self.dropped += 1
        log.warning(
            "the outbox is full (%d changes): dropped an old %s status of workload %s",
            self.max_entries,
            dropped.status.phase.value,
            dropped.status.workload_id,
        )
        return dropped.id

    @staticmethod
    def _line(entry: OutboxEntry) -> str:
        return json.dumps({"id": entry.id, "status": entry.status.model_dump(mode="json")}) + "\n"

    def _rewrite(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.writelines(self._line(entry) for entry in self._entries)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self._lines = len(self._entries)

    def _load(self) -> list[OutboxEntry]:
        if self.path is None:
            return []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entries: dict[int, OutboxEntry] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        for number, line in enumerate(lines, 1):
            try:
                data = json.loads(line)
                if "acked_through" in data:
                    entries = {i: e for i, e in entries.items() if i > int(data["acked_through"])}
                    self._next_id = max(self._next_id, int(data["acked_through"]) + 1)
                elif "dropped" in data:
                    entries.pop(int(data["dropped"]), None)
                else:
                    entry = OutboxEntry(int(data["id"]), WorkloadStatus.model_validate(data["status"]))
                    entries[entry.id] = entry
                    self._next_id = max(self._next_id, entry.id + 1)
            except (ValueError, KeyError, TypeError):
                # A line cut short by a crash mid-append: the ones before it are whole.
                log.warning("skipping unreadable line %d of %s", number, self.path)
        kept = list(entries.values())[-self.max_entries :]
        self._lines = len(lines)
        return kept
