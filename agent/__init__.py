"""The Tessera agent: runs inside a cluster, schedules and runs its workloads.

Plain Python: it never imports Django or the control plane. The control plane imports only
``agent.protocol`` from here.
"""

__version__ = "0.1.0"
