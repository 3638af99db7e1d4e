"""The tessera command-line tool: a client of the control plane's Run:ai-shaped REST API."""

__version__ = "0.1.0"
