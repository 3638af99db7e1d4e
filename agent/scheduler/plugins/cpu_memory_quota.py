"""CPU and memory quotas, where a queue gives them: a limit caps everything the queue runs, a
deserved amount caps its non-preemptible work (as GPU quotas do)."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session

RESOURCES = (
    # (resource, unit in reasons, deserved field, limit field)
    ("cpu", "CPU millicores", "cpu_deserved_milli", "cpu_limit_milli"),
    ("memory", "MiB of memory", "memory_deserved_mib", "memory_limit_mib"),
)


def register(session: Session) -> None:
    """Refuse work that would pass a queue's CPU or memory limit or, for non-preemptible work,
    its deserved CPU or memory."""

    # Per (queue path, pool): whether any queue on it gives a CPU or memory quota at all. Most
    # clusters give none, and then no check can refuse.
    quoted: dict[tuple[tuple[str, ...], str], bool] = {}

    def any_quota(path: tuple[str, ...], pool: str) -> bool:
        found = quoted.get((path, pool))
        if found is None:
            found = quoted[path, pool] = any(
                getattr(session.tree.quota(queue, pool), limit_field) >= 0
                or getattr(session.tree.quota(queue, pool), deserved_field) is not None
                for queue in path
                for _, _, deserved_field, limit_field in RESOURCES
            )
        return found

    def within_cpu_and_memory(job: Job, extra: int) -> str | None:
        if not (job.request.cpu_milli or job.request.memory_mib) or not any_quota(job.path, job.pool):
            return None
        wanted = {
            "cpu": job.request.cpu_milli * job.workload.pods,
            "memory": job.request.memory_mib * job.workload.pods,
        }
        # A placed job is already counted: then the question is whether the state is within quota.
        extra = {resource: 0 if job.pods is not None else amount for resource, amount in wanted.items()}
        for resource, unit, deserved_field, limit_field in RESOURCES:
            if not wanted[resource]:
                continue
            for queue in job.path:
                quota = session.tree.quota(queue, job.pool)
                kind = session.tree.kind(queue)
                limit = getattr(quota, limit_field)
                used = session.held[queue, job.pool, resource]
                if limit >= 0 and used + extra[resource] > limit:
                    return (
                        f"{kind} {queue} is at its {resource} limit: "
                        f"{used} of {limit} {unit} in use, requests {wanted[resource]}"
                    )
                deserved = getattr(quota, deserved_field)
                held = session.held[queue, job.pool, f"np-{resource}"]
                if deserved is not None and not job.preemptible and held + extra[resource] > deserved:
                    return (
                        f"{kind} {queue} {resource} quota exhausted for non-preemptible work: "
                        f"{held} of {deserved} {unit} in use, requests {wanted[resource]}"
                    )
        return None

    session.admissions.append(within_cpu_and_memory)
