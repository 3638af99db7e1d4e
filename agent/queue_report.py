"""Sends the scheduler's per-queue figures to the control plane when they change.

The reconciler works them out as it schedules (see ``Reconciler.queue_status``); the control plane
shows them beside the quotas. Every new connection gets them once (the control plane may have
restarted, or missed the last change), then only changes: figures that stay the same are not
sent every tick.
"""

from __future__ import annotations

from agent.protocol import QueuePoolStatus, QueueStatusMessage
from agent.session import Session


class QueueStatusReport:
    """What was sent on which connection, so that only changes are sent on it."""

    def __init__(self) -> None:
        self._session: Session | None = None
        self._sent: tuple[QueuePoolStatus, ...] = ()

    async def send_changes(self, session: Session, figures: tuple[QueuePoolStatus, ...]) -> None:
        """Send ``figures`` on ``session`` unless it has them already (a new one has none)."""
        if session is not self._session:
            self._session, self._sent = session, ()
        if figures == self._sent:
            return
        await session.send(QueueStatusMessage(queues=list(figures)))
        self._sent = figures  # Only once sent: a failed send is tried again on the next tick.
