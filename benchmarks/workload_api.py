"""Workload API latency with 100,000 stored workloads in PostgreSQL.

    python -m benchmarks.workload_api [--workloads 100000] [--requests 400] [--concurrency 4]

Builds a database of its own (``tessera_bench`` on the local PostgreSQL unless
``BENCH_DATABASE_URL`` names another), fills it with workloads over several clusters, projects,
phases and types, serves it with uvicorn, and drives it over loopback with
``benchmarks.load`` in a separate process. Prints JSON: p50/p99 of a filtered, sorted, paginated
workload list and of a training creation, and the number of SQL queries one list request makes
for page sizes 10, 100 and 500 (it must not grow with the page).

A benchmark, not a test: it asserts nothing about time. Compare figures within one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tessera_bench"
PHASES = ["Pending", "Running", "Completed", "Failed", "Stopped"]
TYPES = ["Training", "Workspace", "Inference"]
LIST_QUERY = "filterBy=phase==Running&sortBy=createdAt&sortOrder=desc&offset=40&limit=20"


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = f"{parts.scheme}://{parts.netloc}/postgres"
    import psycopg

    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(workloads: int, password: str) -> dict[str, str]:
    """Migrate, then store ``workloads`` workloads; return ids a client needs."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from clusters.models import Cluster, Department, Project
    from workloads.models import Workload

    call_command("migrate", verbosity=0)
    call_command("ensure_admin", verbosity=0)
    clusters = [Cluster.objects.create(name=f"bench-{i}") for i in range(4)]
    projects = []
    for cluster in clusters:
        for d in range(3):
            department = Department.objects.create(name=f"d{d}-{cluster.name}", cluster=cluster)
            projects += [
                Project.objects.create(name=f"p{p}-{department.name}", department=department, cluster=cluster)
                for p in range(5)
            ]
    rng = random.Random(7)
    start = timezone.now() - timedelta(days=30)
    batch: list[Workload] = []
    for i in range(workloads):
        project = projects[i % len(projects)]
        batch.append(
            Workload(
                name=f"w{i}",
                workload_type=rng.choice(TYPES),
                project=project,
                cluster_id=project.cluster_id,
                phase=rng.choice(PHASES),
                gpu_devices=rng.choice([0, 1, 2, 8]),
                command="python train.py",
                image="python:3.11",
            )
        )
        if len(batch) == 5000:
            Workload.objects.bulk_create(batch)
            batch = []
    Workload.objects.bulk_create(batch)
    # Spread creation times over a month, as a real history has them.
    Workload.objects.update(created_at=start)
    with django.db.connection.cursor() as cursor:
        cursor.execute("UPDATE workloads_workload SET created_at = created_at + (random() * interval '30 days')")
        cursor.execute("ANALYZE")
    return {"project": str(projects[0].pk), "cluster": str(projects[0].cluster_id)}


def queries_per_page() -> dict[int, int]:
    """SQL queries of one list request, by page size, through Django's test client."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=os.environ["TESSERA_ADMIN_USERNAME"]))
    counts = {}
    for limit in (10, 100, 500):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/api/v1/workloads?filterBy=phase==Running&sortBy=createdAt&limit={limit}")
        assert response.status_code == 200, response.content
        counts[limit] = len(captured.captured_queries)
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "controlplane.asgi:application",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not come up")


def load(url: str, token: str, kind: str, requests: int, concurrency: int, body: dict | None) -> dict:
    command = [sys.executable, "-m", "benchmarks.load", url, "--token", token, "--requests", str(requests),
               "--concurrency", str(concurrency)]  # fmt: skip
    if body is None:
        command += ["--get", f"/api/v1/workloads?{LIST_QUERY}"]
    else:
        command += ["--post", "/api/v1/workloads/trainings", "--body", json.dumps(body)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return {"request": kind, **json.loads(result.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    password = secrets.token_urlsafe(12)
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="controlplane.settings",
        SECRET_KEY=secrets.token_urlsafe(32),
        TESSERA_ADMIN_USERNAME="bench",
        TESSERA_ADMIN_PASSWORD=password,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    )
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO))
    logging.getLogger("httpx").setLevel(logging.WARNING)

    began = time.perf_counter()
    recreate_database(database_url)
    ids = seed(args.workloads, password)
    seeded = time.perf_counter() - began
    queries = queries_per_page()

    server, url = serve(dict(os.environ))
    try:
        import httpx

        token = (
            httpx.post(
                f"{url}/api/v1/token",
                json={"grantType": "password", "username": "bench", "password": password},
                timeout=10,
            )
            .raise_for_status()
            .json()["accessToken"]
        )
        body = {"name": "bench", "useGivenNameAsPrefix": True, "projectId": ids["project"],
                "spec": {"command": "true", "compute": {"gpuDevicesRequest": 1}}}  # fmt: skip
        results = [
            load(url, token, "list (filtered, sorted, paginated)", args.requests, args.concurrency, None),
            load(url, token, "create training", args.requests, args.concurrency, body),
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        json.dumps(
            {
                "stored_workloads": args.workloads,
                "seed_seconds": round(seeded, 1),
                "list_query": LIST_QUERY,
                "queries_per_list_request_by_page_size": queries,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
