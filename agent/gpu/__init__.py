"""The GPU layer: device discovery (NVML) and simulated devices."""

from agent.gpu.discovery import discover_inventory, discover_nvml, simulated_devices

__all__ = ["discover_inventory", "discover_nvml", "simulated_devices"]
