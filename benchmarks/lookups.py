"""Latency of the read-only lookups of the API on a built index: GET /api/sources/{id} and GET /api/figures.

    python benchmarks/lookups.py --data-dir DIR [--collection NAME] [--n 500]

Opens an index that is already built (e.g. an eval or scale run's data dir), serves the real app
in process (FastAPI TestClient, no network), and times ``--n`` source lookups of random committed
chunks and ``--n`` figure-table queries (random place / metric filters drawn from the table
itself, and unfiltered pages).  The first lookup of a generation groups the chunks by article
once; it is reported apart.  Prints p50/p95/max per endpoint.  Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))] if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--collection", default="bulletins")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from fastapi.testclient import TestClient

    from app import create_app
    from assistant.chain import BulletinAssistant
    from index.store import BulletinIndex
    from settings import Settings

    settings = Settings(_env_file=None, data_dir=args.data_dir, collection=args.collection, rate_limit_per_minute=0)
    index = BulletinIndex(settings)
    index.check()
    if not index.catalog.figures_current():  # an index built before the figure table: extract it now
        t0 = time.perf_counter()
        n = index.catalog.refresh_figures()
        print(f"figure table extracted now: {n} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    ids = sorted(index.chunks)
    rows, total = index.figures(limit=5000)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; index {args.collection}: {len(ids)} chunks, "
          f"{len({index.chunk(i).source for i in ids})} sources, {total} figure rows", flush=True)
    rng = random.Random(args.seed)
    with TestClient(create_app(settings, BulletinAssistant(settings, index=index))) as client:
        t0 = time.perf_counter()
        assert client.get(f"/api/sources/{rng.choice(ids)}").status_code == 200
        first = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            r = client.get(f"/api/sources/{rng.choice(ids)}", params={"window": 2})
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
        print(f"/api/sources: first (groups articles) {first:.1f} ms; then n={len(times)} p50 {pct(times, 50):.2f} ms, "
              f"p95 {pct(times, 95):.2f} ms, max {max(times):.2f} ms", flush=True)
        places = sorted({r.entity for r in rows if r.entity}) or [""]
        metrics = sorted({r.metric[:4] for r in rows if r.metric}) or [""]
        times = []
        for i in range(args.n):
            params = [{}, {"place": rng.choice(places)}, {"metric": rng.choice(metrics)},
                      {"place": rng.choice(places), "metric": rng.choice(metrics)}][i % 4]
            t0 = time.perf_counter()
            r = client.get("/api/figures", params={**params, "limit": 200})
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
        print(f"/api/figures: n={len(times)} p50 {pct(times, 50):.2f} ms, p95 {pct(times, 95):.2f} ms, "
              f"max {max(times):.2f} ms", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
