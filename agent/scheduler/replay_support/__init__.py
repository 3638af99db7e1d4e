"""Pieces of the trace replay (``python -m agent.scheduler.replay``): reading the Alibaba trace,
building the arrival sequence and recording the metrics of REPLAY.md."""
