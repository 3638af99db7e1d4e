"""A small HTTP load tool, run in its own process: N requests over C keep-alive connections.

    python -m benchmarks.load URL --token T (--get PATH | --post PATH --body JSON) [--requests N] [--concurrency C]

Prints JSON with the latency percentiles (ms), the throughput and the status codes seen. A POST
body's ``"name"`` gets a per-request suffix, so creations never collide.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter

import httpx


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token", required=True)
    parser.add_argument("--get")
    parser.add_argument("--post")
    parser.add_argument("--body", default="{}")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    counter = iter(range(args.requests))
    body = json.loads(args.body)

    def worker() -> None:
        with httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {args.token}"}, timeout=30) as client:
            client.get("/healthz")  # open the connection before timing
            for i in counter:
                began = time.perf_counter()
                if args.get:
                    response = client.get(args.get)
                else:
                    response = client.post(args.post, json={**body, "name": f"{body.get('name', 'w')}-{i}"})
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status_code] += 1

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    print(
        json.dumps(
            {
                "requests": len(ordered),
                "concurrency": args.concurrency,
                "p50_ms": round(percentile(ordered, 0.50), 1),
                "p99_ms": round(percentile(ordered, 0.99), 1),
                "mean_ms": round(statistics.fmean(ordered), 1),
                "requests_per_second": round(len(ordered) / wall, 1),
                "statuses": {str(code): n for code, n in sorted(statuses.items())},
            }
        )
    )


if __name__ == "__main__":
    main()
