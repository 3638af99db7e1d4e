"""Live workload updates for browsers."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from workloads.models import Workload
from workloads.notify import BROWSER_GROUP


class WorkloadUpdatesConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"type": "workload", "workload": {...}}`` whenever a workload changes that the
    signed-in user may read. Every change is checked against his rules as they are at that moment
    (through the gate), so a rule removed while the page is open stops the updates at once."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        await self.channel_layer.group_add(BROWSER_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(BROWSER_GROUP, self.channel_name)

    @database_sync_to_async
    def _may_read(self, workload_id: str) -> bool:
        user = self.scope["user"]
        try:
            user.refresh_from_db(fields=["is_active", "is_superuser"])  # a deactivated user sees nothing
        except type(user).DoesNotExist:
            return False
        return Workload.objects.restrict(user, "read").filter(pk=workload_id).exists()

    async def workload_changed(self, event: dict[str, Any]) -> None:
        workload = event["workload"]
        if await self._may_read(workload["id"]):
            await self.send_json({"type": "workload", "workload": workload})
