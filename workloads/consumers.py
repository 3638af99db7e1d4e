"""Live workload updates for browsers."""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from workloads.notify import BROWSER_GROUP


class WorkloadUpdatesConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"type": "workload", "workload": {...}}`` whenever a workload changes.

    Signed-in users only; access rules will narrow what each user receives.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        await self.channel_layer.group_add(BROWSER_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(BROWSER_GROUP, self.channel_name)

    async def workload_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "workload", "workload": event["workload"]})
